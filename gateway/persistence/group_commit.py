"""Group commit: the write steps of several request threads in one transaction.

A request thread hands its step (a function of the connection) to the process's
committer and waits. The committer thread runs every step waiting at that moment in one
transaction, then commits once (one WAL flush on PostgreSQL, one WAL fsync on SQLite with
synchronous=FULL, one write lock instead of one per request) and only then answers the
callers. A step that raises rolls back alone: the batch is first run straight through
(no SAVEPOINT round-trips while the write lock is held); if a step raised, that attempt
is rolled back and the batch runs again with each step inside its own SAVEPOINT. Steps
must therefore be safe to run twice (they only write through the connection).
On SQLite the committers of a host's processes queue for the write lock in an OS lock
(db.WriterTurn), handed over the moment the holder commits.
Nothing is acknowledged before it is durable: a step's result is handed back only after
the commit returned, and when the commit fails (or the process dies before it) every
step of the batch fails with it and none of their rows exist.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.engine import Connection, Engine

from gateway.persistence.db import WriterTurn, transaction

log = logging.getLogger(__name__)

T = TypeVar("T")
ItemT = TypeVar("ItemT")
MAX_BATCH = 32  # steps per transaction: bounds how long one commit keeps the others waiting


@dataclass
class _Pending(Generic[T]):
    step: Callable[[Connection], T]
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None
    detached: bool = False  # nobody waits for it: a failure is only logged
    # run_together: `step` is many(conn, [item])[0]; the straight attempt calls `many`
    # once for every item of the batch that shares it
    many: Callable[[Connection, list[Any]], list[T]] | None = None
    item: Any = None


class GroupCommitter:
    """One committer thread per process (started on first use, stopped by `close`)."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0  # transactions committed or attempted (for tests and metrics)

    def run(self, step: Callable[[Connection], T]) -> T:
        """Run `step` in a shared transaction; return its result once that committed."""
        return self._wait(_Pending(step))

    def run_together(self, many: Callable[[Connection, list[ItemT]], list[T]], item: ItemT) -> T:
        """Like `run` for `many(conn, [item])[0]`, but the items of one batch that share
        `many` are handed to it in one call (one statement per table for all of them);
        `many` returns one result per item, in order. If it raises, each item is retried
        alone and only the failing one fails."""
        pending: _Pending[T] = _Pending(partial(_first_of, many, item), many=many, item=item)
        return self._wait(pending)

    def run_detached(self, step: Callable[[Connection], None]) -> None:
        """Queue `step` for the next shared transaction without waiting for it: for
        bookkeeping whose loss is harmless (marking a sent task sent; a lost mark only
        re-sends the task, as after a crash). `close` still runs what was queued."""
        self._enqueue(_Pending(step, detached=True))

    def run_detached_together(
        self, many: Callable[[Connection, list[ItemT]], list[None]], item: ItemT
    ) -> None:
        """`run_detached` for `many(conn, [item])`, handed in one call with the other
        items of its batch that share `many` (as `run_together`)."""
        self._enqueue(_Pending(partial(_first_of, many, item), detached=True, many=many, item=item))

    def _enqueue(self, pending: _Pending[Any]) -> None:
        self._ensure_thread()
        self._queue.put(pending)

    def _wait(self, pending: _Pending[T]) -> T:
        """Queue `pending` and return its result once its transaction committed."""
        self._enqueue(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return cast(T, pending.result)  # set whenever error is None

    def close(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=30)
                self._thread = None

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="rogatory-group-commit", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        turn = WriterTurn(self._engine)  # SQLite: this process's place in the writers' line
        try:
            self._drain(turn)
        finally:
            turn.close()

    def _drain(self, turn: WriterTurn) -> None:
        while (first := self._queue.get()) is not None:
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is None:  # close(): finish this batch, then stop
                    self._commit(batch, turn)
                    return
                batch.append(following)
            self._commit(batch, turn)

    def _commit(self, batch: list[_Pending[Any]], turn: WriterTurn) -> None:
        self.batches += 1
        try:
            with turn:
                try:
                    self._straight(batch)
                except _StepFailed:  # rolled back: again, each step inside its own savepoint
                    self._isolated(batch)
        except BaseException as exc:  # the commit failed: nothing of the batch is stored
            log.warning("group commit failed", extra={"steps": len(batch)}, exc_info=True)
            for pending in batch:
                if pending.error is None:
                    pending.result, pending.error = None, exc
        finally:
            for pending in batch:
                if pending.detached and pending.error is not None:
                    log.warning("detached group-commit step failed", exc_info=pending.error)
                pending.done.set()

    def _straight(self, batch: list[_Pending[Any]]) -> None:
        """Every step in one transaction without savepoints; _StepFailed (after the
        rollback) when one raised."""
        with transaction(self._engine) as conn:
            for group in _together(batch):
                try:
                    many = group[0].many
                    if many is None:
                        group[0].result = group[0].step(conn)
                        continue
                    results = many(conn, [pending.item for pending in group])
                    for pending, result in zip(group, results, strict=True):
                        pending.result = result
                except Exception as exc:
                    raise _StepFailed from exc

    def _isolated(self, batch: list[_Pending[Any]]) -> None:
        with transaction(self._engine) as conn:
            for pending in batch:
                try:
                    with conn.begin_nested():
                        pending.result = pending.step(conn)
                except Exception as exc:  # this step alone rolls back
                    pending.result, pending.error = None, exc


def _first_of(
    many: Callable[[Connection, list[ItemT]], list[T]], item: ItemT, conn: Connection
) -> T:
    return many(conn, [item])[0]


def _together(batch: list[_Pending[Any]]) -> list[list[_Pending[Any]]]:
    """The batch's steps in order, those of run_together grouped by their `many` (at the
    place of the first)."""
    groups: list[list[_Pending[Any]]] = []
    shared: dict[Any, list[_Pending[Any]]] = {}
    for pending in batch:
        if pending.many is None:
            groups.append([pending])
        elif pending.many in shared:
            shared[pending.many].append(pending)
        else:
            shared[pending.many] = [pending]
            groups.append(shared[pending.many])
    return groups


class _StepFailed(Exception):
    """A step raised during the straight attempt (its transaction is rolled back)."""
