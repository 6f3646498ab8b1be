"""The sweeper retries failed steps after a backoff and restarts steps whose task was lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from foundation_support import accept, sealed_submission

from gateway.config import Settings
from gateway.domain.states import Event, State
from gateway.persistence import outbox_store, requests_store
from gateway.persistence.db import transaction
from gateway.persistence.tables import outbox
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.lifecycle import advance
from gateway.services.sweeper import sweep


@pytest.fixture
def runtime(make_settings: Callable[..., Settings]) -> Runtime:
    return build_runtime(make_settings())


def _pending_tasks(rt: Runtime, request_id: str) -> list[str]:
    with transaction(rt.engine) as conn:
        return [m.task for m in outbox_store.pending(conn) if m.payload["request_id"] == request_id]


def _mark_all_sent(rt: Runtime) -> None:
    with transaction(rt.engine) as conn:
        conn.execute(outbox.update().values(sent_at=sa.func.current_timestamp()))


def test_lost_task_is_sent_again_once_the_step_is_stale(runtime: Runtime) -> None:
    request_id = accept(runtime, sealed_submission(runtime.settings), flush=False)
    _mark_all_sent(runtime)  # the broker lost the translate task
    now = datetime.now(UTC)
    assert sweep(runtime.engine, runtime.blobs, now=now) == 0
    later = now + timedelta(minutes=16)
    assert sweep(runtime.engine, runtime.blobs, now=later) == 1
    assert _pending_tasks(runtime, request_id) == ["rogatory.translate"]
    assert sweep(runtime.engine, runtime.blobs, now=later) == 0  # already queued


def test_request_waiting_for_large_attachments_is_not_restarted(runtime: Runtime) -> None:
    data = sealed_submission(
        runtime.settings, large_attachments=[("ledger.pdf", "application/pdf", b"x" * 100)]
    )
    request_id = accept(runtime, data, flush=False)
    assert _pending_tasks(runtime, request_id) == []
    later = datetime.now(UTC) + timedelta(hours=2)
    assert sweep(runtime.engine, runtime.blobs, now=later) == 0
    with transaction(runtime.engine) as conn:
        assert requests_store.get(conn, request_id).state is State.VERIFIED


def test_failed_translation_is_retried_after_backoff(runtime: Runtime) -> None:
    request_id = accept(runtime, sealed_submission(runtime.settings), flush=False)
    _mark_all_sent(runtime)
    with transaction(runtime.engine) as conn:
        request = requests_store.get(conn, request_id)
        advance(conn, request, Event.START_TRANSLATION, actor="test")
        request = requests_store.get(conn, request_id)
        advance(
            conn, request, Event.FAIL_TRANSLATION, actor="test", failed_step="translate", attempts=1
        )
    now = datetime.now(UTC)
    assert sweep(runtime.engine, runtime.blobs, now=now) == 0  # backoff not over
    assert sweep(runtime.engine, runtime.blobs, now=now + timedelta(seconds=20)) == 1
    with transaction(runtime.engine) as conn:
        assert requests_store.get(conn, request_id).state is State.VERIFIED
    assert _pending_tasks(runtime, request_id) == ["rogatory.translate"]
