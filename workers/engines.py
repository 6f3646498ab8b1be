"""Pick the translation engine the settings name; built once per worker process."""

from __future__ import annotations

from gateway.config import Settings
from gateway.translation.ports import Translator


def load_translator(settings: Settings) -> Translator:
    from workers.metrics import MeasuredTranslator

    return MeasuredTranslator(_engine(settings))


def _engine(settings: Settings) -> Translator:
    if settings.translation_engine == "apertium":
        from workers.translation.apertium_engine import ApertiumEngine

        return ApertiumEngine()
    from workers.translation.argos_engine import EngineSettings, get_engine

    return get_engine(
        EngineSettings(
            data_dir=settings.data_dir,
            inter_threads=1,
            intra_threads=settings.translation_threads,
            beam_size=settings.translation_beam_size,
        )
    )
