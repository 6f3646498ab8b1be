"""Is a language pair served, and by which engine? Asked by the compose page before sealing.

A small stand-in for the gateway-side engine service of issue 13
(gateway/services/translation_engines.py): it reads what is installed without importing
any MT engine (argos packages from their metadata, Apertium modes from Debian's directory).
When that service lands, `pair_status` should delegate to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.config import Settings
from gateway.translation.model_packages import list_packages

APERTIUM_MODES = Path("/usr/share/apertium/modes")
_ISO3_TO_1 = {
    "eng": "en", "spa": "es", "cat": "ca", "fra": "fr", "por": "pt", "ita": "it", "deu": "de",
    "nld": "nl", "ron": "ro", "glg": "gl", "oci": "oc", "eus": "eu", "dan": "da", "swe": "sv",
    "nob": "nb", "pol": "pl",
}  # fmt: skip
PIVOT = "en"


@dataclass(frozen=True)
class PairStatus:
    served: bool
    engine: str  # "argos" | "apertium" | "" (none, or same language)
    via: str = ""  # pivot language, when the pair goes through one
    not_needed: bool = False


def _installed_pairs(settings: Settings) -> set[tuple[str, str]]:
    if settings.translation_engine == "apertium":
        pairs = set()
        for mode in APERTIUM_MODES.glob("*.mode"):
            source, _, target = mode.stem.partition("-")
            if source in _ISO3_TO_1 and target in _ISO3_TO_1:
                pairs.add((_ISO3_TO_1[source], _ISO3_TO_1[target]))
        return pairs
    return {(p.from_code, p.to_code) for p in list_packages(settings.data_dir)}


def pair_status(settings: Settings, source: str, target: str) -> PairStatus:
    """Whether the configured engine translates `source` into `target` (directly or
    through English, as the pipeline does)."""
    if source == target:
        return PairStatus(True, "", not_needed=True)
    pairs = _installed_pairs(settings)
    engine = settings.translation_engine
    if (source, target) in pairs:
        return PairStatus(True, engine)
    if engine == "argos" and (source, PIVOT) in pairs and (PIVOT, target) in pairs:
        return PairStatus(True, engine, via=PIVOT)
    return PairStatus(False, "")
