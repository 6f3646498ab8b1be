"""The two endings of every pipeline step: its result committed, or its failure recorded.

Both re-read the request and act only if it is still in the state the step started from,
so a step that lost a race (or ran twice) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from gateway.audit.entries import DetailValue
from gateway.domain.states import Event, State
from gateway.persistence import outbox_store, requests_store
from gateway.persistence.blobs import BlobStore, PreparedObject
from gateway.persistence.db import transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services import terminal_failure
from gateway.services.lifecycle import advance


@dataclass(frozen=True)
class Artefact:
    """What a step produced: stored encrypted, its hash recorded in the audit entry."""

    label: str
    kind: str
    name: str
    media_type: str
    data: bytes | PreparedObject  # prepared: already encrypted and synced (large artefacts)


def complete_step(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    *,
    expected: State,
    event: Event,
    actor: str,
    artefact: Artefact,
    next_task: str | None = None,
    detail: dict[str, DetailValue] | None = None,
    also: Callable[[Connection, RequestRow], None] | None = None,
) -> State:
    # encrypt and sync the artefact before the write transaction, never inside it
    if isinstance(artefact.data, PreparedObject):
        prepared = artefact.data
    else:
        prepared = blobs.prepare(
            request_id=request_id,
            kind=artefact.kind,
            name=artefact.name,
            media_type=artefact.media_type,
            data=artefact.data,
        )
    try:
        return _commit_step(
            engine,
            blobs,
            request_id,
            prepared,
            expected,
            event,
            actor,
            artefact.label,
            next_task,
            detail,
            also,
        )
    except BaseException:
        prepared.discard()
        raise


def _commit_step(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    prepared: PreparedObject,
    expected: State,
    event: Event,
    actor: str,
    label: str,
    next_task: str | None,
    detail: dict[str, DetailValue] | None,
    also: Callable[[Connection, RequestRow], None] | None,
) -> State:
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state is not expected:
            prepared.discard()  # the step lost a race or ran twice: keep the first result
            return request.state
        stored = blobs.record(conn, prepared)
        state = advance(
            conn,
            request,
            event,
            actor=actor,
            artefacts={label: stored.sha256},
            detail=detail,
            failed_step=None,
            step_runs=0,
            heartbeat_at=None,
        )
        if next_task is not None:
            outbox_store.enqueue(conn, next_task, {"request_id": request_id})
        if also is not None:
            also(conn, request)
        return state


def fail_step(
    engine: Engine,
    request_id: str,
    *,
    expected: State,
    event: Event,
    step: str,
    error: str,
    detail: dict[str, DetailValue] | None = None,
) -> State:
    """Record a failed step (retryable: the sweeper retries it after a backoff)."""
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state is not expected:
            return request.state
        attempt = request.attempts + 1
        state = advance(
            conn,
            request,
            event,
            actor=f"worker:{step}",
            detail={"step": step, "error": error, "attempt": attempt, **(detail or {})},
            failed_step=step,
            attempts=attempt,
            step_runs=0,
            heartbeat_at=None,
        )
        terminal_failure.after_failed_attempt(conn, request_id, step, error, attempt)
        return state
