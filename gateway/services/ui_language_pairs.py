"""Is a language pair served, and by which engine? Asked by the compose page before sealing.

Delegates to gateway/services/translation_engines.py, the one place that knows the
installed engines (argos packages, `apertium -l`) without importing any MT library.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import Settings
from gateway.services.translation_engines import engine_for_pair


@dataclass(frozen=True)
class PairStatus:
    served: bool
    engine: str  # "argos" | "apertium" | "" (none, or same language)
    not_needed: bool = False


def pair_status(settings: Settings, source: str, target: str) -> PairStatus:
    """Whether the configured engine (auto, argos or apertium) translates `source` into
    `target` on this machine, as the translate step will decide it."""
    if source == target:
        return PairStatus(True, "", not_needed=True)
    engine = engine_for_pair(settings, source, target)
    return PairStatus(engine is not None, engine or "")
