"""Apertium as a second engine: real Spanish words, provenance, bounded subprocess."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gateway.translation.ports import TranslationFailed, Translator
from workers.translation.apertium_engine import ApertiumEngine


def test_english_to_spanish_gives_real_words_and_keeps_line_structure(apertium: Any) -> None:
    assert isinstance(apertium, Translator)
    assert ("en", "es") in apertium.pairs()
    first, second = apertium.translate_batch(
        ["The suspect sold false invoices.\nThe bank account.", "Fraud and prison."], "en", "es"
    )
    assert first.text.split("\n")[0].startswith("El sospechoso")
    assert "facturas falsas" in first.text
    assert first.text.count("\n") == 1
    assert "prisión" in second.text
    assert first.engine == "apertium"
    assert first.model.startswith("apertium-eng-spa 0.8")
    assert first.model_version in first.model
    assert len(first.model_sha256) == 64
    assert [(leg.source, leg.target) for leg in first.legs] == [("en", "es")]


def test_unknown_words_are_unmarked_and_flagged(apertium: Any) -> None:
    [output] = apertium.translate_batch(["The Zorblaxian statements."], "en", "es")
    assert "*" not in output.text
    assert "Zorblaxian" in output.text
    assert output.flags == ("unknown-words",)


def test_a_hanging_engine_is_killed_and_reported(tmp_path: Path) -> None:
    script = tmp_path / "apertium"
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    engine = ApertiumEngine(executable=str(script), timeout_seconds=0.5)
    with pytest.raises(TranslationFailed) as error:
        engine.translate_batch(["Hello."], "en", "es")
    assert error.value.code == "engine-timeout"


def test_a_crashing_engine_is_a_failure_not_a_passthrough(tmp_path: Path) -> None:
    script = tmp_path / "apertium"
    script.write_text("#!/bin/sh\ncat\nexit 3\n")
    script.chmod(0o755)
    engine = ApertiumEngine(executable=str(script))
    with pytest.raises(TranslationFailed) as error:
        engine.translate_batch(["Hello."], "en", "es")
    assert error.value.code == "engine-error"
    assert os.access(script, os.X_OK)


def test_unsupported_pair_is_refused(apertium: Any) -> None:
    with pytest.raises(TranslationFailed) as error:
        apertium.translate_batch(["Hallo."], "nl", "es")
    assert error.value.code == "unsupported-pair"
