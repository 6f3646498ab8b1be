"""Translation flags never reach the reader as codes: each prints as a hand-written sentence
in both languages of the PDF (issue 20, "Observaciones: unknown-words")."""

from __future__ import annotations

from pathlib import Path

from rendering_samples import TEXTS, make_form, make_translation, render_request_file
from rendering_support import folded, pdf_text

from gateway.domain.labels import CATALOGUE_LANGUAGES, load_catalogue
from gateway.domain.translation_notes import DETAILED_FLAGS, PLAIN_FLAGS, flag_note

DETAILED = ["missing: 12/2026", "untranslated words: warrant, pursuant", "unknown words: Xyzzq"]
ALL_FLAGS = [*PLAIN_FLAGS, *DETAILED]


def test_every_flag_prints_as_a_sentence_never_as_its_code(tmp_path: Path) -> None:
    request_id = "req-flags"
    translation = make_translation("mla", "nl", "es", request_id, documents=False)
    segments = translation["fields"]
    assert len(segments) >= 4
    for number, segment in enumerate(segments):  # deal the flags out over the segments
        segment["flags"] = ALL_FLAGS[number :: len(segments)]
        segment["status"] = "needs-review" if number % 2 else "translated"
        if segment["target"] is None:
            segment["status"] = "failed"
    path = render_request_file(
        tmp_path / "flags.pdf", make_form("mla", "nl"), translation, target="es"
    )
    text = pdf_text(path)
    for flag in ALL_FLAGS:
        if "-" in flag or ":" in flag:  # single words (glossary, pivot, tm) occur in prose
            assert flag not in text, flag
        for language in ("es", "nl"):
            assert folded(flag_note(flag, load_catalogue(language))) in text, (flag, language)
    assert "Palabras desconocidas para el motor de traducción: Xyzzq; verifique el original" in text
    assert len(TEXTS["mla"]) == len(segments)


def test_every_catalogue_has_a_hand_written_sentence_for_every_flag() -> None:
    keys = {*PLAIN_FLAGS, *DETAILED_FLAGS.values(), "other"}
    for language in CATALOGUE_LANGUAGES:
        catalogue = load_catalogue(language)
        for key in keys:
            assert catalogue.has_code("translation_flag", key), (language, key)
        for key in DETAILED_FLAGS.values():
            assert "{items}" in catalogue.code_meaning("translation_flag", key)
        sentence = flag_note("some-new-engine-flag", catalogue)
        assert sentence == catalogue.code_meaning("translation_flag", "other")
        assert "some-new-engine-flag" not in sentence
