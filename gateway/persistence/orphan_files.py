"""Leftovers of the object store: staging files of killed writers, and encrypted object
files whose rows never committed (a process killed between writing and commit).

Both are ciphertext whose data key never reached the database: unreadable noise, safe
to remove once older than a grace period that outlasts any write in progress.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.persistence.db import transaction
from gateway.persistence.tables import stored_objects

log = logging.getLogger(__name__)

_BATCH = 500


@dataclass(frozen=True)
class OrphanReport:
    staging_files: int
    object_files: int

    @property
    def total(self) -> int:
        return self.staging_files + self.object_files


def sweep_orphans(engine: Engine, root: Path, *, grace_seconds: float) -> OrphanReport:
    cutoff = time.time() - grace_seconds
    objects = root / "objects"
    staging = sum(_remove(path) for path in _older(objects / "staging", "*.tmp", cutoff))
    candidates = {path.stem: path for path in _older(objects, "??/*.enc", cutoff)}
    ids = list(candidates)
    known: set[str] = set()
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        with transaction(engine) as conn:
            known.update(
                conn.execute(
                    sa.select(stored_objects.c.id).where(stored_objects.c.id.in_(chunk))
                ).scalars()
            )
    orphans = sum(_remove(path) for object_id, path in candidates.items() if object_id not in known)
    report = OrphanReport(staging, orphans)
    if report.total:
        log.warning(
            "orphaned files removed",
            extra={"staging_files": staging, "object_files": orphans},
        )
    return report


def _older(directory: Path, pattern: str, cutoff: float) -> list[Path]:
    if not directory.is_dir():
        return []
    found = []
    for path in directory.glob(pattern):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                found.append(path)
        except FileNotFoundError:  # removed meanwhile
            continue
    return found


def _remove(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1
