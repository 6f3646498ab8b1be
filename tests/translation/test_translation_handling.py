"""The issuer's label `no-machine-translation`: no text reaches an engine; readers are told."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from gateway.domain.forms import validate_form
from gateway.services.document_view.translation import index_translation
from gateway.translation.ports import TranslatedText, TranslationFailed
from gateway.translation.request_translation import translate_request

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class _RecordingEngine:
    """An engine that records every text it is handed (it must be handed none)."""

    name = "recording"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def pairs(self) -> set[tuple[str, str]]:
        return {("en", "es")}

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str
    ) -> list[TranslatedText]:
        self.seen.extend(texts)
        raise TranslationFailed("recording engine translates nothing", code="engine-error")


def test_no_machine_translation_label_keeps_every_text_away_from_the_engine() -> None:
    raw = json.loads((FIXTURES / "mla_request.json").read_text())
    raw["handling"] = ["no-machine-translation"]
    engine = _RecordingEngine()
    result = translate_request(
        validate_form(raw),
        [],
        engine,
        target="es",
        glossary=None,
        request_id="req-nomt",
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert engine.seen == []
    assert result.status == "not-requested"
    assert result.target_language == "es"
    assert result.fields
    assert {f.status for f in result.fields} == {"not-requested"}
    assert all(f.target is None for f in result.fields)
    index = index_translation(
        result.to_json(), request_id="req-nomt", source_language="en", target_language="es"
    )
    pair = index.count(index.pair(result.fields[0].path, result.fields[0].source))
    assert (pair.translation, pair.state, pair.marked) == (None, "not-requested", False)
    assert index.failed == 0


def test_without_the_label_the_engine_is_used() -> None:
    raw = json.loads((FIXTURES / "mla_request.json").read_text())
    engine = _RecordingEngine()
    result = translate_request(
        validate_form(raw),
        [],
        engine,
        target="es",
        glossary=None,
        request_id="req-mt",
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert engine.seen  # the control: the same form without the label does reach it
    assert result.status == "failed"
