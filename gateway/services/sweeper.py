"""Periodic housekeeping: retry failed steps with backoff, restart steps whose task was lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.domain.errors import Conflict
from gateway.domain.states import RETRY_FOR_STEP, State
from gateway.persistence import outbox_store, requests_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import read_transaction, transaction
from gateway.persistence.tables import outbox, requests
from gateway.services import terminal_failure
from gateway.services.attachments import missing_attachments, signed_manifest
from gateway.services.lifecycle import advance

MAX_ATTEMPTS = terminal_failure.MAX_ATTEMPTS
NEXT_TASK = {
    "translate": "rogatory.translate",
    "render": "rogatory.render",
    "package": "rogatory.package",
}
# The task that moves a request on from each transient state.
TASK_FOR_STATE = {
    State.VERIFIED: "rogatory.translate",
    State.TRANSLATING: "rogatory.translate",
    State.TRANSLATED: "rogatory.render",
    State.RENDERED: "rogatory.package",
}
DEFAULT_STALE_AFTER = timedelta(minutes=15)
# A running step beats every `heartbeat` seconds; this many missed beats mean its worker died.
MISSED_BEATS = 4
DEFAULT_HEARTBEAT = timedelta(seconds=15)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


def sweep(
    engine: Engine,
    blobs: BlobStore,
    *,
    now: datetime | None = None,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    heartbeat: timedelta = DEFAULT_HEARTBEAT,
) -> int:
    """Retry failed steps and restart stalled ones; returns how many were queued again.

    Stalled: a step whose heartbeat stopped (its worker died: redone after
    MISSED_BEATS beats, whatever the broker's visibility timeout), or a transient state
    with no sign of life for `stale_after` (its task was lost before any worker ran it).
    """
    now = now or datetime.now(UTC)
    dead_after = heartbeat * MISSED_BEATS
    return _retry_failed(engine, now) + _restart_stalled(
        engine, blobs, now, stale_after, dead_after
    )


def _retry_failed(engine: Engine, now: datetime) -> int:
    with read_transaction(engine) as conn:
        candidates = (
            conn.execute(
                sa.select(requests.c.id).where(
                    requests.c.state == State.FAILED.value, requests.c.attempts < MAX_ATTEMPTS
                )
            )
            .scalars()
            .all()
        )
    retried = 0
    for request_id in candidates:
        with transaction(engine) as conn:
            request = requests_store.get(conn, request_id)
            step = request.failed_step
            if request.state is not State.FAILED or step not in RETRY_FOR_STEP:
                continue
            if request.updated_at + backoff(request.attempts) > now:
                continue
            try:
                advance(
                    conn,
                    request,
                    RETRY_FOR_STEP[step],
                    actor="gateway:sweeper",
                    detail={"attempt": request.attempts + 1},
                )
            except Conflict:
                continue
            outbox_store.enqueue(conn, NEXT_TASK[step], {"request_id": request_id})
            retried += 1
    return retried


def _is_stalled(
    updated_at: datetime,
    heartbeat_at: datetime | None,
    now: datetime,
    stale_after: timedelta,
    dead_after: timedelta,
) -> bool:
    if heartbeat_at is not None:
        return heartbeat_at < now - dead_after
    return updated_at < now - stale_after


def _restart_stalled(
    engine: Engine, blobs: BlobStore, now: datetime, stale_after: timedelta, dead_after: timedelta
) -> int:
    """A task lost by the broker (or dropped after an unexpected error) is sent again.

    Steps are idempotent, so a duplicate of a task that is merely slow changes nothing.
    """
    states = [state.value for state in TASK_FOR_STATE]
    with read_transaction(engine) as conn:
        stalled = (
            conn.execute(
                sa.select(requests.c.id).where(
                    requests.c.state.in_(states),
                    sa.or_(
                        sa.and_(
                            requests.c.heartbeat_at.is_not(None),
                            requests.c.heartbeat_at < now - dead_after,
                        ),
                        sa.and_(
                            requests.c.heartbeat_at.is_(None),
                            requests.c.updated_at < now - stale_after,
                        ),
                    ),
                )
            )
            .scalars()
            .all()
        )
    restarted = 0
    for request_id in stalled:
        if _awaiting_attachments(engine, blobs, request_id):
            continue  # waiting for the sender's large attachments, not stalled
        with transaction(engine) as conn:
            request = requests_store.get(conn, request_id)
            task = TASK_FOR_STATE.get(request.state)
            if task is None or not _is_stalled(
                request.updated_at, request.heartbeat_at, now, stale_after, dead_after
            ):
                continue
            if _pending(conn, request_id):
                continue
            # touch the row so the next sweep waits a full period again (or the new beats)
            requests_store.compare_and_set(
                conn, request_id, request.state, request.state, heartbeat_at=None
            )
            outbox_store.enqueue(conn, task, {"request_id": request_id})
            restarted += 1
    return restarted


def _awaiting_attachments(engine: Engine, blobs: BlobStore, request_id: str) -> bool:
    """A verified request whose announced attachments have not all arrived yet.

    Reads (and decrypts) the signed manifest without a write lock; attachments only
    ever arrive, so an answer of "complete" cannot turn stale before the restart.
    """
    with read_transaction(engine) as conn:
        if requests_store.get(conn, request_id).state is not State.VERIFIED:
            return False
        return bool(
            missing_attachments(conn, blobs, request_id, signed_manifest(conn, blobs, request_id))
        )


def _pending(conn: sa.Connection, request_id: str) -> bool:
    row = conn.execute(
        sa.select(outbox.c.id)
        .where(outbox.c.sent_at.is_(None), outbox.c.payload["request_id"].as_string() == request_id)
        .limit(1)
    ).first()
    return row is not None
