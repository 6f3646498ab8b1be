"""The foundation's submission builders, importable from this directory too."""

from __future__ import annotations

import sys
from pathlib import Path

# pytest puts each test directory on sys.path as it collects it; this area may run alone.
_FOUNDATION = str(Path(__file__).resolve().parents[1] / "foundation")
if _FOUNDATION not in sys.path:
    sys.path.append(_FOUNDATION)

from foundation_support import mla_form, sealed_submission  # noqa: E402

__all__ = ["mla_form", "sealed_submission"]
