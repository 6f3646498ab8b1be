"""Transactional outbox: tasks are written with the state change, sent after commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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


def pending(conn: Connection, *, limit: int = 100) -> list[OutboxMessage]:
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.task, outbox.c.payload)
        .where(outbox.c.sent_at.is_(None))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    return [OutboxMessage(row.id, row.task, row.payload) for row in rows]


def mark_sent(conn: Connection, message_ids: list[int]) -> None:
    conn.execute(
        outbox.update().where(outbox.c.id.in_(message_ids)).values(sent_at=datetime.now(UTC))
    )
