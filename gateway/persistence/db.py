"""Engines and transactions: SQLite (WAL; writes BEGIN IMMEDIATE, reads deferred) embedded,
PostgreSQL to scale out."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

READ_ONLY = "rogatory_read_only"
NO_TRANSACTION = "rogatory_no_transaction"


def sqlalchemy_url(database_url: str) -> str:
    """Map the user-facing URL to the driver we ship (psycopg 3 for PostgreSQL)."""
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    if database_url.startswith("postgres://"):
        return "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    return database_url


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    url = sqlalchemy_url(database_url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _make_sqlite_serialisable(engine)
        return engine
    # a request thread may hold two connections (its transaction, an object being streamed)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = sa.create_engine(url, **kwargs)
    _ping_after_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 1.0
_IDLE_SINCE = "rogatory_idle_since"


def _ping_after_idle(engine: Engine) -> None:
    """`pool_pre_ping`, for connections that sat in the pool for a second or more.

    A ping is a round trip, and under load each one also waits for the GIL when it comes
    back (the group committer's batch paid about 7 ms for it): a connection that was in
    use within the last second is taken as alive. One that dies anyway (the server
    restarted in that second) fails its statement as a connection lost mid-transaction
    would (intake retries), and the pool drops every connection of before the failure.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)  # None: connected just now
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_connection, None):
                # the pool replaces this connection and checks out again
                raise sa.exc.DisconnectionError(str(exc)) from exc
            raise


def _make_sqlite_serialisable(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN; we take the write lock up front
    # so two writers never both read a state and then race to change it.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # FULL: a commit is on disk (WAL fsynced) before it returns, so a 202 and its
        # signed receipt survive a power loss, as on PostgreSQL (README: durability)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(NO_TRANSACTION, False):  # statement_reads: each read on its own
            return
        # reads (read_transaction) see one WAL snapshot without blocking any writer
        read_only = options.get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def as_utc(moment: datetime) -> datetime:
    """A timestamp read back from the database, zone-aware (SQLite returns it naive; every
    timestamp is written in UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One step, one transaction: commits on success, rolls back on any exception."""
    with engine.begin() as connection:
        yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A consistent read: on SQLite a deferred transaction (a snapshot, no write lock)."""
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        with connection.begin():
            yield connection


@contextmanager
def statement_reads(engine: Engine) -> Iterator[Connection]:
    """Reads that need no common snapshot (each statement sees the latest commits): no
    BEGIN and no COMMIT around them, so on PostgreSQL two round trips fewer than
    read_transaction (at READ COMMITTED a transaction gives each statement its own
    snapshot anyway). Only SELECTs: there is no transaction to write in."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":  # pysqlite runs without a transaction of its own
            connection.execution_options(**{NO_TRANSACTION: True})
        else:
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


class WriterTurn:
    """Turn-taking between the processes' busiest SQLite writers (the group committers).

    A waiter blocks in flock and wakes the moment the holder lets go, where SQLite's busy
    handler sleeps 1, 2, 5, 10, 15... ms between tries and leaves the write lock idle
    meanwhile (and one process's committer starving behind the other's). Does nothing on
    PostgreSQL or an in-memory database. Hold it only around one write transaction."""

    def __init__(self, engine: Engine) -> None:
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._fd: int | None = None
        if database and database != ":memory:" and not database.startswith("file:"):
            self._fd = os.open(f"{database}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
