"""Every run of a pipeline step is counted, kept alive by heartbeats, and ends recorded.

`begin` counts a run (a run that never ended means its worker was lost: after
`max_runs` of them the step fails as one attempt instead of being redelivered for
ever); `beat` is the running step's sign of life the stall sweep reads; `fail`
records any exception as `step_failed` with the step, a reason code and the attempt,
and leaves the request retryable (or failed for good after the last attempt).
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from sqlalchemy.engine import Connection, Engine

from gateway.domain.errors import DomainError
from gateway.domain.states import Event, State
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.persistence.requests_store import RequestRow
from gateway.persistence.storage_errors import is_out_of_space
from gateway.services import terminal_failure
from gateway.services.lifecycle import advance

log = logging.getLogger(__name__)

STATES_OF_STEP: dict[str, frozenset[State]] = {
    "translate": frozenset({State.VERIFIED, State.TRANSLATING}),
    "render": frozenset({State.TRANSLATED}),
    "package": frozenset({State.RENDERED}),
}
FAIL_EVENT: dict[State, Event] = {
    State.TRANSLATING: Event.FAIL_TRANSLATION,
    State.TRANSLATED: Event.FAIL_RENDER,
    State.RENDERED: Event.FAIL_PACKAGING,
}
WORKER_LOST = "worker-lost"


def begin(engine: Engine, request_id: str, step: str, *, max_runs: int) -> bool:
    """Count this run; False when the step already started `max_runs` times unfinished
    (its workers were lost): that is recorded as a failed attempt and the run is skipped."""
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state not in STATES_OF_STEP[step]:
            return True  # the step itself will see there is nothing to do
        if request.step_runs >= max_runs:
            _fail(conn, request, step, WORKER_LOST, detail={"runs": request.step_runs})
            return False
        requests_store.count_step_run(conn, request_id, request.state)
    return True


def beat(engine: Engine, request_id: str) -> None:
    with transaction(engine) as conn:
        requests_store.heartbeat(conn, request_id)


def fail(engine: Engine, request_id: str, step: str, exc: BaseException) -> State:
    """Record `exc` as this step's failure if the request is still in the step's state."""
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state not in STATES_OF_STEP[step]:
            return request.state
        return _fail(conn, request, step, reason_code(exc))


def _fail(
    conn: Connection,
    request: RequestRow,
    step: str,
    reason: str,
    *,
    detail: dict[str, str | int] | None = None,
) -> State:
    attempt = request.attempts + 1
    if request.state is State.VERIFIED:  # failed as the translate step began
        advance(conn, request, Event.START_TRANSLATION, actor=f"worker:{step}")
        request = requests_store.get(conn, request.id)
    state = advance(
        conn,
        request,
        FAIL_EVENT[request.state],
        actor=f"worker:{step}",
        detail={"step": step, "error": reason, "attempt": attempt, **(detail or {})},
        failed_step=step,
        attempts=attempt,
        step_runs=0,
        heartbeat_at=None,
    )
    terminal_failure.after_failed_attempt(conn, request.id, step, reason, attempt)
    return state


def reason_code(exc: BaseException) -> str:
    """A stable, content-free code for an exception (never its message)."""
    if is_out_of_space(exc):
        return "insufficient-storage"
    if type(exc).__name__ in ("SoftTimeLimitExceeded", "TimeLimitExceeded"):
        return "time-limit"
    if isinstance(exc, DomainError):
        return exc.code
    module = type(exc).__module__
    if module.startswith(("sqlalchemy", "psycopg", "sqlite3")):
        return "database-error"
    if isinstance(exc, OSError):
        return "io-error"
    return "unexpected-" + type(exc).__name__.lower()[:40]


class Heartbeat:
    """A daemon thread that stamps `heartbeat_at` every `interval` seconds while a step runs."""

    def __init__(self, engine: Engine, request_id: str, *, interval: float) -> None:
        self._engine = engine
        self._request_id = request_id
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="step-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                beat(self._engine, self._request_id)
            except Exception:  # a missed beat only makes the sweep redo the step sooner
                log.warning("heartbeat failed", extra={"request_id": self._request_id})
