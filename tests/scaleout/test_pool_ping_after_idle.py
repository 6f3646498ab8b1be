"""Pooled PostgreSQL connections are pinged only after a second idle in the pool: one
whose server process ended while it sat there is replaced before anyone uses it; one in
use within the last second is trusted (no round trip), and if it died all the same its
statement fails once and the pool drops every connection of before the failure."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from gateway.persistence import db


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = db.make_engine(url)
    with admin.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar_one()
    admin.dispose()


def test_an_idle_connection_whose_server_process_ended_is_replaced(fresh_postgres_url, monkeypatch):
    engine = db.make_engine(fresh_postgres_url, pool_size=1, max_overflow=0)
    first = _backend_pid(engine)
    _terminate(fresh_postgres_url, first)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle long enough
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    assert _backend_pid(engine) != first
    assert len(pings) == 1
    engine.dispose()


def test_a_connection_used_within_the_second_is_not_pinged(fresh_postgres_url, monkeypatch):
    engine = db.make_engine(fresh_postgres_url, pool_size=1, max_overflow=0)
    pings: list[object] = []
    monkeypatch.setattr(engine.dialect, "do_ping", pings.append)
    first = _backend_pid(engine)
    assert _backend_pid(engine) == first
    assert pings == []
    _terminate(fresh_postgres_url, first)
    with pytest.raises(OperationalError):
        _backend_pid(engine)  # trusted, and dead: fails once
    assert _backend_pid(engine) != first  # the pool replaced it
    engine.dispose()
