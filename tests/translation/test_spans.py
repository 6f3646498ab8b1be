"""Protected spans: detection, placeholder survival through real engines, restoration."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gateway.translation.request_translation import translate_segments
from gateway.translation.spans import PLACEHOLDER_RE, SpanProtector, restore

DATA = Path(__file__).parent / "data" / "protected_spans.jsonl"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def _entries() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


def test_span_set_holds_500_spans_and_every_one_is_detected_exactly() -> None:
    entries = _entries()
    expected = [span for entry in entries for span in entry["spans"]]
    assert len(expected) == 500
    found = 0
    for entry in entries:
        protector = SpanProtector(
            known_names=entry["known_names"], known_addresses=entry["known_addresses"]
        )
        originals = {span.original for span in protector.mask(entry["text"]).spans}
        found += sum(1 for span in entry["spans"] if span["text"] in originals)
    print(f"\nprotected-span detection: {found}/500 = {found / 5:.1f}%")
    assert found == 500


def _restoration_rate(engine: Any) -> tuple[int, int, int]:
    """(spans restored byte-exact in unflagged segments, spans in flagged segments, lost)."""
    entries = _entries()
    protector = SpanProtector(
        known_names=[n for e in entries for n in e["known_names"]],
        known_addresses=[a for e in entries for a in e["known_addresses"]],
    )
    segments = translate_segments(
        [(f"t[{i}]", e["text"]) for i, e in enumerate(entries)],
        engine,
        protector=protector,
        source="en",
        target="es",
        now=NOW,
    )
    restored = flagged = lost = 0
    for entry, segment in zip(entries, segments, strict=True):
        for span in entry["spans"]:
            present = segment.target is not None and span["text"] in segment.target
            if segment.status == "translated" and present:
                restored += 1
            elif segment.status != "translated":
                flagged += 1
            else:
                lost += 1
    return restored, flagged, lost


def test_apertium_restores_every_protected_span_or_flags_the_segment(apertium: Any) -> None:
    restored, flagged, lost = _restoration_rate(apertium)
    print(f"\napertium en->es: restored {restored}/500, flagged {flagged}, lost {lost}")
    assert lost == 0
    assert restored >= 490  # placeholders survive a real MT system


def test_tiny_model_output_never_loses_a_span_silently(argos_engine: Any) -> None:
    restored, flagged, lost = _restoration_rate(argos_engine)
    print(f"\ntiny argos en->es: restored {restored}/500, flagged {flagged}, lost {lost}")
    assert lost == 0
    assert restored + flagged == 500


def test_fallback_keeps_spans_byte_exact_when_the_model_drops_placeholders(
    argos_engine: Any,
) -> None:
    text = "Pieter Jansen paid EUR 12.500,00 on 12 January 2026 under art. 326 Sr."
    protector = SpanProtector(known_names=["Pieter Jansen"])
    [segment] = translate_segments(
        [("f", text)], argos_engine, protector=protector, source="en", target="es", now=NOW
    )
    assert segment.target is not None
    for span in ("Pieter Jansen", "EUR 12.500,00", "12 January 2026", "art. 326 Sr"):
        assert span in segment.target
    if segment.status == "needs-review":
        assert "placeholders-lost" in segment.flags


def test_placeholder_survives_the_tiny_models_sentencepiece_round_trip(
    argos_engine: Any,
) -> None:
    model = argos_engine.route("en", "es")[0]
    tokenizer = model.package.tokenizer
    for masked in ("The [[1]] paid [[12]] to [[3]].", "[[7]]", "See [[2]]; and [[10]]."):
        assert tokenizer.decode(tokenizer.encode(masked)).strip() == masked


def test_restore_accepts_engine_spacing_and_rejects_missing_or_duplicated() -> None:
    masked = SpanProtector().mask("Paid EUR 100 on 2026-01-15.")
    assert masked.masked == "Paid [[1]] on [[2]]."
    assert restore(masked, "Pagó [ [1] ] el [[2]] .") == "Pagó EUR 100 el 2026-01-15 ."
    assert restore(masked, "Pagó [1] el [2].") == "Pagó EUR 100 el 2026-01-15."
    assert restore(masked, "Pagó el [[2]].") is None
    assert restore(masked, "Pagó [[1]] [[1]] el [[2]].") is None


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200))
def test_masking_then_restoring_the_untranslated_text_is_the_identity(text: str) -> None:
    masked = SpanProtector(known_names=["Jansen"]).mask(text)
    assert restore(masked, masked.masked) == text
    assert len(PLACEHOLDER_RE.findall(masked.masked)) == len(masked.spans)


@given(
    st.lists(
        st.sampled_from(["[[1]]", "[3]", "EUR 5", "+31 10 123 4567", "word", " ", ".", "[["]),
        max_size=20,
    )
)
def test_literal_bracket_numbers_in_the_source_cannot_be_confused_with_placeholders(
    parts: list[str],
) -> None:
    text = "".join(parts)
    masked = SpanProtector().mask(text)
    assert restore(masked, masked.masked) == text
