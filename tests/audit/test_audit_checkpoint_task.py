"""The periodic checkpoint job runs in a real worker (Celery beat) and signs when the log grew."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from process_support import WorkerProcess, wait_for

from gateway.audit import ledger
from gateway.audit.checkpoint import open_checkpoint
from gateway.config import Settings
from gateway.persistence.db import make_engine, transaction
from gateway.runtime.keyring import load_keyring
from gateway.services.lifecycle import record


@pytest.fixture(params=["sqlite", "postgresql"])
def worker_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Settings:
    """SQLite with the embedded broker, or PostgreSQL with the shared Redis."""
    if request.param == "sqlite":
        return make_settings()
    return make_settings(
        database_url=request.getfixturevalue("fresh_postgres_url"),
        broker_url=request.getfixturevalue("redis_broker_url"),
    )


def test_beat_signs_a_checkpoint_of_the_grown_log_in_a_real_worker(
    worker_settings: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    settings = worker_settings
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as conn:
            for step in range(5):
                record(conn, None, "admin_action", actor="admin:test", detail={"step": step})
        worker = start_worker(settings)

        def newest_checkpoint() -> str | None:
            with transaction(engine) as conn:
                return ledger.latest_checkpoint(conn)

        note = wait_for(newest_checkpoint, timeout=90, what="a checkpoint from the beat job")
        log_key = load_keyring(settings.keys_dir).log_key
        checkpoint = open_checkpoint(str(note), log_key.public_key())
        assert (checkpoint.origin, checkpoint.size) == (f"{settings.gateway_id}/log", 5)
        with transaction(engine) as conn:
            record(conn, None, "admin_action", actor="admin:test", detail={"step": 5})

        def grown() -> bool:
            with transaction(engine) as conn:
                latest = ledger.latest_checkpoint(conn)
            return latest is not None and open_checkpoint(latest, log_key.public_key()).size == 6

        wait_for(grown, timeout=90, what="a checkpoint covering the new entry")
        worker.stop()
        assert "rogatory.checkpoint" in worker.log_path.read_text()
    finally:
        engine.dispose()
