"""Periodic housekeeping: retry failed steps with backoff, return expired leases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.domain.errors import Conflict
from gateway.domain.states import RETRY_FOR_STEP, State
from gateway.persistence import outbox_store, requests_store
from gateway.persistence.db import transaction
from gateway.persistence.tables import requests
from gateway.services.lifecycle import advance

MAX_ATTEMPTS = 5
NEXT_TASK = {
    "translate": "rogatory.translate",
    "render": "rogatory.render",
    "package": "rogatory.package",
}


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 15 * 2 ** max(0, attempts - 1)))


def sweep(engine: Engine, *, now: datetime | None = None) -> int:
    """Retry failed steps whose backoff has passed; returns how many were retried."""
    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
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
