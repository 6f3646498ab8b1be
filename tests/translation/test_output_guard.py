"""Issue 13: nothing lost without a flag, no passthrough, glossary wins with agreement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.translation.agreement import fix_agreement
from gateway.translation.glossary import Glossary, InvalidGlossary
from gateway.translation.output_guard import check, must_survive
from gateway.translation.request_translation import translate_segments
from gateway.translation.spans import SpanProtector

NOW = datetime(2026, 3, 1, tzinfo=UTC)
PAIR = {
    "issuing_authority": "a",
    "executing_authority": "b",
    "source_language": "en",
    "target_language": "es",
}
GLOSSARY_CSV = (
    "source,target,gender,number\n"
    "Article,artículo,m,sg\n"
    "requested person,persona reclamada,f,sg\n"
    "criminal organisation,organización delictiva,f,sg\n"
    "bank statements,extractos bancarios,m,pl\n"
    "house search,registro domiciliario,m,sg\n"
)


def _one(engine: Any, text: str, glossary: Glossary | None = None) -> Any:
    protector = SpanProtector(glossary=glossary.terms() if glossary else None)
    [segment] = translate_segments(
        [("f", text)],
        engine,
        protector=protector,
        source="en",
        target="es",
        now=NOW,
        grammar=glossary.grammar() if glossary else None,
    )
    return segment


def test_a_lost_item_makes_the_segment_needs_review_with_the_item_listed() -> None:
    masked = SpanProtector().mask("He lives at 12 Hill Road, 1049 Brussels since 2019.")
    report = check(masked, "Vive en 12 Hill Road, 1049 Bruselas desde 2019.")
    assert report.missing == ("12 Hill Road, 1049 Brussels",)
    assert report.needs_review
    assert not check(masked, "Vive en 12 Hill Road, 1049 Brussels desde 2019.").missing


def test_must_survive_items_include_what_the_detector_did_not_protect() -> None:
    masked = SpanProtector().mask("Payment of 4.000 was made by Siobhán Ní Bhriain to Zürich.")
    items = must_survive(masked)
    assert "4.000" in items
    assert {"Siobhán", "Zürich"} <= {w for i in items for w in i.split()}


def test_unknown_word_marks_never_reach_the_target_and_names_survive(apertium: Any) -> None:
    segment = _one(apertium, "Mr O'Neill met Ms Nic Giolla Phádraig in Dún Laoghaire.")
    assert not any(mark in segment.target for mark in "*#@")
    for name in ("Mr O'Neill", "Nic Giolla Phádraig", "Dún Laoghaire"):
        assert name in segment.target
    assert segment.status == "translated"
    assert segment.missing == ()


def test_a_translated_place_name_is_flagged(apertium: Any) -> None:
    # a sentence-initial place name is not protected; Apertium translates it
    segment = _one(apertium, "Brussels is where the money went.")
    assert "Brussels" not in segment.target
    assert segment.status == "needs-review"
    assert segment.missing == ("Brussels",)
    assert "missing: Brussels" in segment.flags


def test_untranslated_words_are_counted_and_flagged(apertium: Any) -> None:
    segment = _one(apertium, "The warrant was issued pursuant to the law.")
    assert segment.status == "needs-review"
    assert set(segment.untranslated) == {"warrant", "pursuant"}
    assert "untranslated words: warrant, pursuant" in segment.flags


def test_ordinary_capitalised_words_are_translated_not_frozen(apertium: Any) -> None:
    segment = _one(apertium, "He breached the Criminal Code and the suspect Jan de Vries fled.")
    assert "Código" in segment.target
    assert "Criminal Code" not in segment.target
    assert "Jan de Vries" in segment.target
    assert "sospechoso" in segment.target


def test_glossary_beats_a_statute_span_and_agreement_is_fixed(apertium: Any) -> None:
    glossary = Glossary.from_csv(GLOSSARY_CSV, **PAIR)
    statute = _one(apertium, "Under Article 301 the offence is punishable.", glossary)
    assert "artículo 301" in statute.target
    assert statute.missing == ()  # "Article 301" is expected as "artículo 301", not lost
    person = _one(apertium, "The requested person is a member of a criminal organisation", glossary)
    assert person.target.startswith("La persona reclamada")
    assert "una organización delictiva" in person.target
    assert "agreement-fixed" in person.flags
    plural = _one(apertium, "We seized the bank statements yesterday.", glossary)
    assert "los extractos bancarios" in plural.target


def test_agreement_fixes_determiners_and_adjectives_around_placeholders() -> None:
    grammar = {0: ("f", "sg"), 1: ("f", "pl")}
    fixed, changes = fix_agreement("El [[1]] reclamado y del [[2]] citado", grammar, "es")
    assert fixed == "La [[1]] reclamada y de las [[2]] citadas"
    assert changes == 4
    assert fix_agreement("la [[1]] citada", {0: ("f", "sg")}, "es") == ("la [[1]] citada", 0)
    passive = fix_agreement("Los [[1]] estuvo informado ayer", {0: ("f", "pl")}, "es")
    assert passive == ("Las [[1]] estuvieron informadas ayer", 3)


def test_glossary_grammar_from_csv_and_tbx() -> None:
    glossary = Glossary.from_csv(GLOSSARY_CSV, **PAIR)
    assert glossary.grammar()["persona reclamada"] == ("f", "sg")
    tbx = b"""<?xml version="1.0"?><martif type="TBX"><text><body>
      <termEntry><langSet xml:lang="en"><tig><term>search warrant</term></tig></langSet>
      <langSet xml:lang="es"><tig><term>orden de registro</term>
        <termNote type="grammaticalGender">feminine</termNote>
        <termNote type="grammaticalNumber">singular</termNote></tig></langSet></termEntry>
    </body></text></martif>"""
    parsed = Glossary.from_tbx(tbx, **PAIR)
    assert parsed.entries[0].target == "orden de registro"
    assert parsed.grammar() == {"orden de registro": ("f", "sg")}
    with pytest.raises(InvalidGlossary):
        Glossary.from_csv("source,target,gender\nx,y,q\n", **PAIR)


def test_the_magistrate_ui_lists_what_the_guard_found() -> None:
    from gateway.domain.labels import load_catalogue
    from gateway.web.ui.views_follow import translated_fields

    [field] = translated_fields(
        {
            "fields": [
                {
                    "path": "G.facts",
                    "source": "x",
                    "target": "y",
                    "status": "needs-review",
                    "flags": ["glossary", "missing: 1049 Brussels", "untranslated words: a, b"],
                }
            ]
        },
        load_catalogue("nl"),
    )
    assert field["notes"] == (  # hand-written sentences in the interface language, no codes
        "Ontbreekt in de vertaling: 1049 Brussels; controleer het origineel.",
        "Onvertaald gebleven woorden: a, b; controleer het origineel.",
    )


def test_german_nouns_are_not_taken_for_names() -> None:
    text = "Der Beschuldigte hat 5.000 EUR an Herrn Jürgen Weiß überwiesen."
    masked = SpanProtector(source_language="de", known_names=["Jürgen Weiß"]).mask(text)
    assert "Beschuldigte" in masked.masked  # translated, not frozen
    assert must_survive(masked, "de") == ["5.000", "5.000 EUR", "Jürgen Weiß"]
    english = SpanProtector().mask("The suspect paid Jürgen Weiß in Köln.")
    assert {"Jürgen Weiß", "Köln"} <= set(must_survive(english))
