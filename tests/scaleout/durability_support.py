"""What a test of durability watches: every fsync and every rename, in order."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def record_fsyncs_and_renames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(``"fsync"``, the descriptor's path) and (``"rename"``, the target) for every
    ``os.fsync`` and ``Path.replace`` from now on, in order; both still do their work."""
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, Path.replace

    def fsync(descriptor: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        real_fsync(descriptor)

    def replace(self: Path, target: Path) -> Path:
        events.append(("rename", str(target)))
        return real_replace(self, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Path, "replace", replace)
    return events
