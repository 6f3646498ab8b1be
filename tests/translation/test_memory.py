"""Issue 19: the translation memory's matching (masked, whitespace-normalised) and TMX."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gateway.translation.memory import (
    MemoryEntry,
    MemoryLookup,
    MemoryTranslator,
    mask_pair,
    normalise,
)
from gateway.translation.ports import TranslatedText
from gateway.translation.spans import SpanProtector, restore
from gateway.translation.tmx import InvalidTmx, TmxUnit, parse_tmx, write_tmx


class CountingEngine:
    name = "counting"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def pairs(self) -> set[tuple[str, str]]:
        return {("en", "es")}

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str
    ) -> list[TranslatedText]:
        self.calls.append(list(texts))
        return [TranslatedText(f"MT({t})", "counting", "m", "1", "0" * 64, ()) for t in texts]


def entry_for(protector: SpanProtector, source: str, target: str, entry_id: str) -> MemoryEntry:
    masked_source, masked_target = mask_pair(protector, source, target)
    return MemoryEntry(entry_id, source, target, masked_source, masked_target, "t", "now", None)


def test_exact_match_restores_the_new_requests_own_protected_items() -> None:
    protector = SpanProtector()
    reviewed = entry_for(
        protector,
        "The hearing is set for 12 January 2026 in case ROT-2026-00123.",
        "La audiencia se fija para el 12 January 2026 en la causa ROT-2026-00123.",
        "e1",
    )
    assert "12 January" not in reviewed.masked_target  # stored generalised
    memory = MemoryLookup([reviewed])
    later = protector.mask("The  hearing is set for 3 March 2027\nin case ROT-2027-00999.")
    hit = memory.exact(later.masked)
    assert hit is not None
    assert hit.id == "e1"
    assert restore(later, hit.masked_target) == (
        "La audiencia se fija para el 3 March 2027 en la causa ROT-2027-00999."
    )


def test_memory_translator_calls_the_engine_only_for_misses() -> None:
    protector = SpanProtector()
    known = entry_for(protector, "Hearing by video link.", "Audiencia por videoconferencia.", "e1")
    engine = CountingEngine()
    translator = MemoryTranslator(engine, MemoryLookup([known]))
    outputs = translator.translate_batch(["Hearing  by video link.", "Something new."], "en", "es")
    assert [o.text for o in outputs] == ["Audiencia por videoconferencia.", "MT(Something new.)"]
    assert (outputs[0].engine, outputs[0].model, outputs[0].flags) == ("tm", "tm:e1", ("tm",))
    assert engine.calls == [["Something new."]]
    translator.translate_batch(["Hearing by video link."], "en", "es")
    assert len(engine.calls) == 1  # all hits: the engine is not called at all
    assert (translator.hits, translator.misses) == (2, 1)


def test_fuzzy_matches_are_offered_above_the_threshold_only() -> None:
    protector = SpanProtector()
    memory = MemoryLookup(
        [
            entry_for(protector, "The assets of the suspect.", "Los bienes del sospechoso.", "e1"),
            entry_for(protector, "Completely unrelated text here.", "Otro texto.", "e2"),
        ]
    )
    found = memory.fuzzy("The assets of the suspects.")
    assert [m.entry.id for m in found] == ["e1"]
    assert found[0].score >= 85
    assert memory.exact("The assets of the suspects.") is None  # never applied automatically


def test_whitespace_is_the_only_normalisation() -> None:
    assert normalise("  a\n\tb  c ") == "a b c"
    memory = MemoryLookup([entry_for(SpanProtector(), "Fraud.", "Fraude.", "e1")])
    assert memory.exact("fraud.") is None


def test_tmx_round_trip_keeps_text_and_creator() -> None:
    units = [TmxUnit("The suspect <b> & co.", "El sospechoso <b> & co.", "alice", "e1")]
    data = write_tmx(units, "en", "es")
    assert parse_tmx(data, "en", "es") == units
    assert parse_tmx(data, "en", "fr") == []  # another language pair: nothing


def test_tmx_with_an_entity_bomb_or_wrong_root_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><tmx><body/></tmx>'
    with pytest.raises(InvalidTmx):
        parse_tmx(bomb, "en", "es")
    with pytest.raises(InvalidTmx, match="not a TMX"):
        parse_tmx(b"<xliff/>", "en", "es")
