"""Transactional outbox: tasks are written with the state change, sent after commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.persistence.tables import outbox


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    task: str
    payload: dict[str, Any]


def enqueue(conn: Connection, task: str, payload: dict[str, Any]) -> None:
    conn.execute(outbox.insert().values(task=task, payload=payload))


def enqueue_claimed(
    conn: Connection, task: str, payload: dict[str, Any], *, now: datetime
) -> OutboxMessage:
    """A row its writer sends itself right after commit (no claim transaction); if the
    writer dies first, the claim times out and any flusher sends it (CLAIM_TIMEOUT)."""
    result = conn.execute(outbox.insert().values(task=task, payload=payload, claimed_at=now))
    key = result.inserted_primary_key
    assert key is not None  # noqa: S101  (autoincrement always yields a key)
    return OutboxMessage(int(key[0]), task, payload)


def enqueue_many(conn: Connection, task: str, payloads: list[dict[str, Any]]) -> None:
    if payloads:
        conn.execute(outbox.insert(), [{"task": task, "payload": p} for p in payloads])


def enqueue_claimed_many(
    conn: Connection, task: str, claims: list[tuple[dict[str, Any], datetime]]
) -> list[OutboxMessage]:
    """Like `enqueue_claimed` for several (payload, now): one statement, ids in order."""
    if not claims:
        return []
    ids = conn.execute(
        outbox.insert().returning(outbox.c.id, sort_by_parameter_order=True),
        [{"task": task, "payload": payload, "claimed_at": now} for payload, now in claims],
    ).scalars()
    return [
        OutboxMessage(int(key), task, payload)
        for key, (payload, _now) in zip(ids, claims, strict=True)
    ]


def pending(conn: Connection, *, limit: int = 100) -> list[OutboxMessage]:
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.task, outbox.c.payload)
        .where(outbox.c.sent_at.is_(None))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    return [OutboxMessage(row.id, row.task, row.payload) for row in rows]


# A claim older than this belongs to a flusher that died between claiming and sending.
CLAIM_TIMEOUT = timedelta(seconds=60)


def claim(
    conn: Connection, *, limit: int = 100, now: datetime | None = None
) -> list[OutboxMessage]:
    """Take unsent rows nobody else holds (SKIP LOCKED on PostgreSQL, the write lock on
    SQLite) and stamp them, so concurrent flushers never send the same row."""
    now = now or datetime.now(UTC)
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.task, outbox.c.payload)
        .where(
            outbox.c.sent_at.is_(None),
            sa.or_(outbox.c.claimed_at.is_(None), outbox.c.claimed_at < now - CLAIM_TIMEOUT),
        )
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    messages = [OutboxMessage(row.id, row.task, row.payload) for row in rows]
    if messages:
        conn.execute(
            outbox.update().where(outbox.c.id.in_([m.id for m in messages])).values(claimed_at=now)
        )
    return messages


def release(conn: Connection, message_ids: list[int]) -> None:
    """Give back claimed rows that were not sent, for the next flush to take."""
    conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(message_ids), outbox.c.sent_at.is_(None))
        .values(claimed_at=None)
    )


def mark_sent(conn: Connection, message_ids: list[int]) -> None:
    conn.execute(
        outbox.update().where(outbox.c.id.in_(message_ids)).values(sent_at=datetime.now(UTC))
    )
