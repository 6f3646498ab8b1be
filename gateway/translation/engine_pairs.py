"""Which language pairs the installed engines serve, found without loading any MT engine.

argos: the installed `.argosmodel` packages (their metadata, plus pivots through English).
Apertium: the modes `apertium -l` lists. Both are cheap to ask, so the web process can.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.translation.model_packages import list_packages

PIVOT = "en"
ENGINES = ("argos", "apertium")
APERTIUM_ISO3_TO_1 = {
    "eng": "en",
    "spa": "es",
    "cat": "ca",
    "fra": "fr",
    "por": "pt",
    "ita": "it",
    "deu": "de",
    "nld": "nl",
    "ron": "ro",
    "glg": "gl",
    "oci": "oc",
    "eus": "eu",
    "dan": "da",
    "swe": "sv",
    "nob": "nb",
    "pol": "pl",
}
APERTIUM_ISO1_TO_3 = {v: k for k, v in APERTIUM_ISO3_TO_1.items()}
Pair = tuple[str, str]


@dataclass(frozen=True)
class EnginePairs:
    engine: str
    pairs: frozenset[Pair]


def argos_pairs(data_dir: Path) -> frozenset[Pair]:
    """Installed argos packages, plus two-leg routes through English."""
    try:
        direct = {(p.from_code, p.to_code) for p in list_packages(data_dir)}
    except OSError:
        return frozenset()
    pivots = {(a, c) for (a, b) in direct for (b2, c) in direct if b == PIVOT == b2 and a != c}
    return frozenset(direct | pivots)


_APERTIUM_CACHE: dict[str, tuple[float, frozenset[Pair]]] = {}
_CACHE_SECONDS = 30.0


def apertium_pairs(executable: str = "apertium", timeout: float = 20.0) -> frozenset[Pair]:
    """Pairs of `apertium -l` whose two languages we know (e.g. `eng-spa`, not `spa-eng_US`)."""
    cached = _APERTIUM_CACHE.get(executable)
    if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
        return cached[1]
    pairs = _ask_apertium(executable, timeout)
    _APERTIUM_CACHE[executable] = (time.monotonic(), pairs)
    return pairs


def _ask_apertium(executable: str, timeout: float) -> frozenset[Pair]:
    resolved = shutil.which(executable)
    if resolved is None:
        return frozenset()
    try:
        completed = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [resolved, "-l"], capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    pairs = set()
    for line in completed.stdout.decode("utf-8", errors="replace").split():
        parts = line.strip().split("-")
        if len(parts) == 2 and all(p in APERTIUM_ISO3_TO_1 for p in parts):
            pairs.add((APERTIUM_ISO3_TO_1[parts[0]], APERTIUM_ISO3_TO_1[parts[1]]))
    return frozenset(pairs)


def installed_engines(data_dir: Path, apertium: str = "apertium") -> list[EnginePairs]:
    return [
        EnginePairs("argos", argos_pairs(data_dir)),
        EnginePairs("apertium", apertium_pairs(apertium)),
    ]


def engine_for(
    installed: list[EnginePairs], configured: str, source: str, target: str
) -> str | None:
    """The engine that translates source->target: `auto` prefers argos, then Apertium."""
    order = ENGINES if configured == "auto" else (configured,)
    by_name = {e.engine: e.pairs for e in installed}
    for name in order:
        if (source, target) in by_name.get(name, frozenset()):
            return name
    return None
