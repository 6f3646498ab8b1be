"""Periodic job leases: however many schedulers fire, one run per job per period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from gateway.persistence.reliability_tables import periodic_jobs

_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


def try_acquire(
    conn: Connection, name: str, period: timedelta, holder: str, *, now: datetime | None = None
) -> bool:
    """True for exactly one caller per period: a conditional UPDATE decides (row-locked)."""
    now = now or datetime.now(UTC)
    insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(
        insert(periodic_jobs)
        .values(name=name, last_run_at=_NEVER, holder="", runs=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    # 80 %: schedulers' ticks jitter, but two ticks of one period never both pass
    result = conn.execute(
        periodic_jobs.update()
        .where(periodic_jobs.c.name == name, periodic_jobs.c.last_run_at <= now - period * 0.8)
        .values(last_run_at=now, holder=holder[:200], runs=periodic_jobs.c.runs + 1)
    )
    return result.rowcount == 1


def runs(conn: Connection, name: str) -> int:
    value = conn.execute(
        sa.select(periodic_jobs.c.runs).where(periodic_jobs.c.name == name)
    ).scalar()
    return int(value or 0)
