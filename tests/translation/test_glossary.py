"""Glossary import (CSV, TBX) per authority pair; hostile XML refused."""

from __future__ import annotations

import pytest

from gateway.translation.glossary import Glossary, InvalidGlossary, select_glossary

PAIR = {
    "issuing_authority": "nl-om-rotterdam",
    "executing_authority": "es-fiscalia-madrid",
    "source_language": "en",
    "target_language": "es",
}
TBX2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<martif type="TBX" xml:lang="en"><text><body>
<termEntry id="1">
  <langSet xml:lang="en"><tig><term>money laundering</term></tig></langSet>
  <langSet xml:lang="es"><tig><term>blanqueo de capitales</term></tig></langSet>
  <langSet xml:lang="nl"><tig><term>witwassen</term></tig></langSet>
</termEntry>
<termEntry id="2">
  <langSet xml:lang="en-GB"><tig><term>European Investigation Order</term></tig></langSet>
  <langSet xml:lang="es"><tig><term>orden europea de investigaci\xc3\xb3n</term></tig></langSet>
</termEntry>
<termEntry id="3"><langSet xml:lang="en"><tig><term>no target</term></tig></langSet></termEntry>
</body></text></martif>"""
TBX3 = b"""<?xml version="1.0"?>
<tbx xmlns="urn:iso:std:iso:30042:ed-2" type="TBX-Basic" xml:lang="en"><text><body>
<conceptEntry id="c1">
  <langSec xml:lang="en"><termSec><term>search and seizure</term></termSec></langSec>
  <langSec xml:lang="es"><termSec><term>entrada y registro</term></termSec></langSec>
</conceptEntry></body></text></tbx>"""


def test_csv_with_language_code_header() -> None:
    glossary = Glossary.from_csv("en,es\nfraud,estafa\n,ignored\n", **PAIR)
    assert glossary.terms() == {"fraud": "estafa"}


def test_csv_without_a_usable_header_is_refused() -> None:
    with pytest.raises(InvalidGlossary) as error:
        Glossary.from_csv("term,translation\nfraud,estafa\n", **PAIR)
    assert error.value.code == "invalid-glossary"


def test_tbx2_and_tbx3_terms_for_the_language_pair() -> None:
    assert Glossary.from_tbx(TBX2, **PAIR).terms() == {
        "money laundering": "blanqueo de capitales",
        "European Investigation Order": "orden europea de investigación",
    }
    assert Glossary.from_tbx(TBX3, **PAIR).terms() == {"search and seizure": "entrada y registro"}


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><m>&b;</m>',
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><m>&x;</m>',
        b"<martif><unclosed>",
    ],
)
def test_hostile_or_broken_tbx_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidGlossary):
        Glossary.from_tbx(data, **PAIR)


def test_glossary_is_selected_only_for_its_authority_pair_and_languages() -> None:
    glossary = Glossary.from_csv("source,target\nfraud,estafa\n", **PAIR)
    assert select_glossary([glossary], "nl-om-rotterdam", "es-fiscalia-madrid", "en", "es")
    assert select_glossary([glossary], "nl-om-rotterdam", "es-fiscalia-cadiz", "en", "es") is None
    assert select_glossary([glossary], "nl-om-rotterdam", "es-fiscalia-madrid", "en", "fr") is None
