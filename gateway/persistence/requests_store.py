"""Rows of the `requests` table; state changes only by compare-and-set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.domain.errors import NotFound
from gateway.domain.states import State
from gateway.persistence.db import as_utc
from gateway.persistence.tables import requests


@dataclass(frozen=True)
class RequestRow:
    id: str
    message_id: str
    message_sha256: str
    request_type: str
    issuing_authority_id: str
    executing_authority_id: str
    source_language: str
    target_language: str
    state: State
    failed_step: str | None
    attempts: int
    progress_done: int
    progress_total: int
    deadline: date | None
    received_audit_index: int | None
    in_reply_to: str | None
    received_at: datetime
    updated_at: datetime
    heartbeat_at: datetime | None = None
    step_runs: int = 0

    def is_party(self, authority_id: str) -> bool:
        return authority_id in (self.issuing_authority_id, self.executing_authority_id)


_COLUMNS = [c for c in requests.c if c.name != "signer_fingerprint"]


def insert_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """New requests' rows (column values), received and updated now: one executemany."""
    now = datetime.now(UTC)
    conn.execute(requests.insert(), [{"received_at": now, "updated_at": now, **r} for r in rows])


def get(conn: Connection, request_id: str) -> RequestRow:
    row = conn.execute(sa.select(*_COLUMNS).where(requests.c.id == request_id)).mappings().first()
    if row is None:
        raise NotFound("no such request")
    return _row(row)


# built once (every submission asks): its cache key is computed once
_BY_MESSAGE_ID = sa.select(*_COLUMNS).where(requests.c.message_id == sa.bindparam("message_id"))


def find_by_message_id(conn: Connection, message_id: str) -> RequestRow | None:
    row = conn.execute(_BY_MESSAGE_ID, {"message_id": message_id}).mappings().first()
    return _row(row) if row else None


def find_by_message_sha256(conn: Connection, message_sha256: str) -> RequestRow | None:
    row = (
        conn.execute(sa.select(*_COLUMNS).where(requests.c.message_sha256 == message_sha256))
        .mappings()
        .first()
    )
    return _row(row) if row else None


def lock(conn: Connection, request_id: str) -> None:
    """Hold the request's row until the transaction ends (SQLite: the write lock already)."""
    conn.execute(sa.select(requests.c.id).where(requests.c.id == request_id).with_for_update())


def compare_and_set(
    conn: Connection, request_id: str, expected: State, new: State, **values: Any
) -> bool:
    """UPDATE ... WHERE state = expected; False when another step got there first."""
    result = conn.execute(
        requests.update()
        .where(requests.c.id == request_id, requests.c.state == expected.value)
        .values(state=new.value, updated_at=datetime.now(UTC), **values)
    )
    return result.rowcount == 1


def count_step_run(conn: Connection, request_id: str, state: State) -> None:
    """A step run starts: one more unfinished run, and a first sign of life."""
    conn.execute(
        requests.update()
        .where(requests.c.id == request_id, requests.c.state == state.value)
        .values(step_runs=requests.c.step_runs + 1, heartbeat_at=datetime.now(UTC))
    )


def heartbeat(conn: Connection, request_id: str) -> None:
    """The running step is alive (does not touch `updated_at`, which dates the state)."""
    conn.execute(
        requests.update().where(requests.c.id == request_id).values(heartbeat_at=datetime.now(UTC))
    )


def set_received_audit_indices(conn: Connection, indices: list[tuple[str, int]]) -> None:
    """(request id, leaf index of its `received` entry) for several requests: one
    executemany."""
    conn.execute(
        requests.update()
        .where(requests.c.id == sa.bindparam("request_id"))
        .values(received_audit_index=sa.bindparam("index")),
        [{"request_id": request_id, "index": index} for request_id, index in indices],
    )


def set_received_audit_index(conn: Connection, request_id: str, index: int) -> None:
    conn.execute(
        requests.update().where(requests.c.id == request_id).values(received_audit_index=index)
    )


def set_progress(conn: Connection, request_id: str, done: int, total: int) -> None:
    conn.execute(
        requests.update()
        .where(requests.c.id == request_id)
        .values(progress_done=done, progress_total=total)
    )


def select(
    conn: Connection,
    *where: sa.ColumnElement[bool],
    newest_first: bool = False,
    limit: int | None = None,
) -> list[RequestRow]:
    """The rows matching `where`, in order of receipt (oldest first unless `newest_first`)."""
    order = requests.c.received_at.desc() if newest_first else requests.c.received_at
    query = sa.select(*_COLUMNS).where(*where).order_by(order).limit(limit)
    return [_row(row) for row in conn.execute(query).mappings()]


def list_for_authority(
    conn: Connection, authority_id: str, *, limit: int = 100
) -> list[RequestRow]:
    query = (
        sa.select(*_COLUMNS)
        .where(
            sa.or_(
                requests.c.issuing_authority_id == authority_id,
                requests.c.executing_authority_id == authority_id,
            )
        )
        .order_by(requests.c.received_at.desc())
        .limit(limit)
    )
    return [_row(row) for row in conn.execute(query).mappings()]


def _row(row: sa.RowMapping) -> RequestRow:
    values = dict(row)
    values["state"] = State(values["state"])
    for key in ("received_at", "updated_at", "heartbeat_at"):
        if values[key] is not None:
            values[key] = as_utc(values[key])
    return RequestRow(**values)


def replies_to(conn: Connection, request_id: str) -> list[RequestRow]:
    return select(conn, requests.c.in_reply_to == request_id)
