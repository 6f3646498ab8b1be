"""Pick the translation engine the settings name; built once per worker process.

`auto` (the default) picks per pair: an installed argos model, else an installed Apertium
pair, else none (the pipeline then delivers the request marked `unavailable`).
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.config import Settings
from gateway.translation.engine_pairs import argos_pairs
from gateway.translation.ports import TranslatedText, TranslationFailed, Translator


def load_translator(settings: Settings) -> Translator:
    from workers.metrics import MeasuredTranslator

    return MeasuredTranslator(_engine(settings))


def _engine(settings: Settings) -> Translator:
    if settings.translation_engine == "apertium":
        return _apertium() or _NoEngine()
    if settings.translation_engine == "argos":
        return _argos(settings)
    return AutoTranslator(settings)


class AutoTranslator:
    """argos where a model is installed for the pair, else Apertium, else unsupported."""

    name = "auto"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._argos: Translator | None = None
        self._apertium = _apertium()

    def _argos_engine(self) -> Translator | None:
        # argostranslate loads only once a package is installed (checked on every call)
        if self._argos is None and argos_pairs(self.settings.data_dir):
            self._argos = _argos(self.settings)
        return self._argos

    def _engines(self) -> list[Translator]:
        return [e for e in (self._argos_engine(), self._apertium) if e is not None]

    def pairs(self) -> set[tuple[str, str]]:
        return {pair for engine in self._engines() for pair in engine.pairs()}

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str
    ) -> list[TranslatedText]:
        for engine in self._engines():
            if (source, target) in engine.pairs():
                return engine.translate_batch(texts, source, target)
        raise TranslationFailed(f"no engine for {source}->{target}", code="unsupported-pair")


class _NoEngine:
    name = "none"

    def pairs(self) -> set[tuple[str, str]]:
        return set()

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str
    ) -> list[TranslatedText]:
        raise TranslationFailed("no translation engine installed", code="unsupported-pair")


def _apertium() -> Translator | None:
    from workers.translation.apertium_engine import ApertiumEngine

    try:
        return ApertiumEngine()
    except TranslationFailed:
        return None


def _argos(settings: Settings) -> Translator:
    from workers.translation.argos_engine import EngineSettings, get_engine

    return get_engine(
        EngineSettings(
            data_dir=settings.data_dir,
            inter_threads=1,
            intra_threads=settings.translation_threads,
            beam_size=settings.translation_beam_size,
        )
    )


def warn_unserved_pairs(settings: Settings) -> int:
    """At start-up: one warning per registered authority pair no installed engine serves."""
    from gateway.persistence.db import make_engine
    from gateway.services.translation_engines import report_translation_pairs

    db = make_engine(settings.database_url)
    try:
        return report_translation_pairs(db, settings)
    finally:
        db.dispose()
