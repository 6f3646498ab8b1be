"""SQLite: reads take no write lock; blob encryption and fsync happen outside write locks
(a small object is encrypted to memory before the lock, and only its row is written under
it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa
from foundation_support import accept, sealed_submission

from gateway.domain.states import Event, State
from gateway.persistence import blobs
from gateway.persistence.db import make_engine, read_transaction
from gateway.persistence.object_backends import CiphertextWriter, FilesystemObjects
from gateway.persistence.tables import requests
from gateway.runtime.container import build_runtime
from gateway.services.steps import Artefact, complete_step


def _write_lock_is_free(database: Path) -> bool:
    probe = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # "database is locked": a write transaction is open
        return False
    finally:
        probe.close()


class _LockProbe(FilesystemObjects):
    """The filesystem store, noting whether a write lock was held while it wrote or synced."""

    def __init__(self, root: Path, database: Path) -> None:
        super().__init__(root)
        self.database = database
        self.under_lock: list[str] = []
        self.writes = 0

    def writer(self, object_id: str) -> CiphertextWriter:
        inner = super().writer(object_id)
        probe = self

        class Probing:
            def write(self, data: bytes) -> int:
                if not _write_lock_is_free(probe.database):
                    probe.under_lock.append(f"write {object_id}")
                return inner.write(data)

            def finish(self) -> None:
                if not _write_lock_is_free(probe.database):
                    probe.under_lock.append(f"fsync {object_id}")
                probe.writes += 1
                inner.finish()

            def discard(self) -> None:
                inner.discard()

        return Probing()


def test_a_read_transaction_proceeds_while_another_process_holds_the_write_lock(make_settings):
    settings = make_settings()
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    engine = make_engine(settings.database_url)  # a write lock would wait, then fail
    try:
        with read_transaction(engine) as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar()
        assert count == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        engine.dispose()


def test_intake_and_steps_encrypt_and_sync_objects_outside_any_write_transaction(
    make_settings, monkeypatch
):
    settings = make_settings()
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    runtime = build_runtime(settings)
    probe = _LockProbe(settings.data_dir, database)
    runtime.blobs.backend = probe
    encrypted_inline: list[int] = []
    write_inline = blobs._InlineCiphertext.write

    def probing_inline(self: blobs._InlineCiphertext, data: bytes) -> int:
        if not _write_lock_is_free(database):
            probe.under_lock.append("encrypt inline")
        encrypted_inline.append(len(data))
        return write_inline(self, data)

    monkeypatch.setattr(blobs._InlineCiphertext, "write", probing_inline)
    try:
        request_id = accept(runtime, sealed_submission(settings), flush=False)
        state = complete_step(
            runtime.engine,
            runtime.blobs,
            request_id,
            expected=State.VERIFIED,
            event=Event.START_TRANSLATION,
            actor="test",
            artefact=Artefact("note", "note", "note.json", "application/json", b"{}" * 40_000),
        )
    finally:
        runtime.close()
    assert state is State.TRANSLATING
    assert probe.writes >= 1  # the step's artefact (80 kB: a file)
    assert len(encrypted_inline) >= 2  # signed request and form (small: inline)
    assert probe.under_lock == [], probe.under_lock
