"""`rogatory objects migrate`: move encrypted objects between stores, verifying each one.

The ciphertext is copied as it is (no key needed to copy); each copy is then verified by
decrypting it from the target store and comparing its size and SHA-256 with the
object's row. A copy that does not verify is removed from the target and reported; the
source copy is removed only after its target copy verified, and only when asked.
Re-running is safe: objects already verified in the target are counted, not copied.
Small objects kept inline in the database (blobs.INLINE_LIMIT) belong to no store: every
node reads them whatever the store, so they are counted and left where they are.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.crypto import at_rest
from gateway.crypto.errors import InvalidEnvelope
from gateway.domain.errors import DomainError, NotFound
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import transaction
from gateway.persistence.object_backends import ObjectBackend, copy_ciphertext, make_backend
from gateway.persistence.object_tables import inline_objects
from gateway.persistence.tables import data_keys, stored_objects
from gateway.services.lifecycle import record

log = logging.getLogger(__name__)


class MigrationFailed(DomainError):
    code = "objects-not-migrated"
    status = 500


@dataclass
class MigrationReport:
    source: str
    target: str
    copied: int = 0
    already_there: int = 0
    inline: int = 0  # kept in the database whatever the store: not moved
    removed_from_source: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


class _Hasher:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def migrate_stores(
    engine: Engine,
    data_dir: Path,
    kek: at_rest.Kek,
    source_name: str,
    target_name: str,
    *,
    remove_source: bool,
    progress: Callable[[str], None] = lambda _line: None,
) -> MigrationReport:
    """`rogatory objects migrate`: the named stores of this deployment, then migrate_objects."""
    source = make_backend(source_name, data_dir, engine)
    target = make_backend(target_name, data_dir, engine)
    blobs = BlobStore(data_dir, kek, source)
    return migrate_objects(
        engine, blobs, source, target, remove_source=remove_source, progress=progress
    )


def migrate_objects(
    engine: Engine,
    blobs: BlobStore,
    source: ObjectBackend,
    target: ObjectBackend,
    *,
    remove_source: bool,
    progress: Callable[[str], None] = lambda _line: None,
) -> MigrationReport:
    """Copy every live object from `source` to `target`, verify, optionally remove."""
    if source.name == target.name:
        raise MigrationFailed(f"source and target are both the {source.name} store")
    report = MigrationReport(source.name, target.name)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                stored_objects.c.id,
                stored_objects.c.size,
                stored_objects.c.sha256,
                data_keys.c.wrapped_key,
                inline_objects.c.object_id.is_not(None),
            )
            .join(data_keys, data_keys.c.object_id == stored_objects.c.id)
            .outerjoin(inline_objects, inline_objects.c.object_id == stored_objects.c.id)
            .order_by(stored_objects.c.id)
        ).all()
    for object_id, size, sha256, wrapped, inline in rows:
        if inline:
            report.inline += 1
            continue
        data_key = blobs.kek.unwrap(bytes(wrapped))
        problem = _move_one(object_id, size, sha256, data_key, source, target, report)
        if problem is not None:
            report.failed.append((object_id, problem))
            log.error("object not migrated", extra={"object_id": object_id, "code": problem})
            progress(f"FAILED {object_id}: {problem}")
            continue
        if remove_source and source.exists(object_id):
            source.delete(object_id)
            report.removed_from_source += 1
    with transaction(engine) as conn:
        record(
            conn,
            None,
            "admin_action",
            actor="admin:cli",
            detail={
                "action": "objects_migrated",
                "from": source.name,
                "to": target.name,
                "copied": report.copied,
                "already_there": report.already_there,
                "inline": report.inline,
                "failed": len(report.failed),
            },
        )
    return report


def _move_one(
    object_id: str,
    size: int,
    sha256: str,
    data_key: bytes,
    source: ObjectBackend,
    target: ObjectBackend,
    report: MigrationReport,
) -> str | None:
    """None when `target` holds a verified copy afterwards, else a problem code."""
    if target.exists(object_id) and _verifies(target, object_id, size, sha256, data_key):
        report.already_there += 1
        return None
    target.delete(object_id)  # a partial or corrupt earlier copy
    try:
        reader = source.open(object_id)
    except NotFound:
        return "missing-in-source"
    writer = target.writer(object_id)
    try:
        with reader:
            copy_ciphertext(reader, writer)
        writer.finish()
    except BaseException:
        writer.discard()
        raise
    if not _verifies(target, object_id, size, sha256, data_key):
        target.delete(object_id)
        return "copy-does-not-verify"
    report.copied += 1
    return None


def _verifies(
    backend: ObjectBackend, object_id: str, size: int, sha256: str, data_key: bytes
) -> bool:
    hasher = _Hasher()
    try:
        with backend.open(object_id) as source:
            at_rest.decrypt_stream(source, hasher, data_key, aad=object_id.encode())  # type: ignore[arg-type]
    except (InvalidEnvelope, NotFound):
        return False
    return hasher.size == size and hasher.digest.hexdigest() == sha256
