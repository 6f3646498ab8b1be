"""Apply a lifecycle event to a request: compare-and-set plus its audit entry, one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from gateway.audit import ledger
from gateway.audit.entries import AuditEntry, DetailValue
from gateway.domain.errors import Conflict
from gateway.domain.states import Event, State, next_state
from gateway.persistence import requests_store
from gateway.persistence.requests_store import RequestRow

AUDIT_EVENT: dict[Event, str] = {
    Event.VERIFY: "verified",
    Event.REJECT: "rejected",
    Event.START_TRANSLATION: "translation_started",
    Event.FINISH_TRANSLATION: "translated",
    Event.FAIL_TRANSLATION: "step_failed",
    Event.RETRY_TRANSLATION: "step_retried",
    Event.RENDER: "rendered",
    Event.FAIL_RENDER: "step_failed",
    Event.RETRY_RENDER: "step_retried",
    Event.MAKE_AVAILABLE: "made_available",
    Event.FAIL_PACKAGING: "step_failed",
    Event.RETRY_PACKAGING: "step_retried",
    Event.RETRIEVE: "retrieved",
    Event.ACKNOWLEDGE: "acknowledged",
    Event.WITHDRAW: "withdrawn",
    Event.REFUSE: "refused",
}


def record(
    conn: Connection,
    request: RequestRow | None,
    event: str,
    *,
    actor: str,
    artefacts: Mapping[str, str] | None = None,
    detail: Mapping[str, DetailValue] | None = None,
    request_id: str | None = None,
) -> int:
    """Append one audit entry in the caller's transaction; returns its leaf index."""
    if request is not None:
        parties: tuple[str, ...] = (request.issuing_authority_id, request.executing_authority_id)
        request_id = request.id
    else:
        parties = ()
    entry = audit_entry(request_id, parties, event, actor=actor, artefacts=artefacts, detail=detail)
    return ledger.append(conn, entry).index


def audit_entry(
    request_id: str | None,
    parties: tuple[str, ...],
    event: str,
    *,
    actor: str,
    artefacts: Mapping[str, str] | None = None,
    detail: Mapping[str, DetailValue] | None = None,
) -> AuditEntry:
    """One entry, stamped now, for `ledger.append_many` (several entries, one head update)."""
    return AuditEntry(
        request_id=request_id,
        event=event,
        actor=actor,
        time=datetime.now(UTC),
        artefacts=dict(artefacts or {}),
        parties=parties,
        detail=dict(detail or {}),
    )


def advance(
    conn: Connection,
    request: RequestRow,
    event: Event,
    *,
    actor: str,
    artefacts: Mapping[str, str] | None = None,
    detail: Mapping[str, DetailValue] | None = None,
    **values: Any,
) -> State:
    """Move `request` along `event` if nobody moved it first; audit it in the same transaction.

    Raises IllegalTransition for an event the current state does not allow and Conflict
    when a concurrent step changed the state since `request` was read.
    """
    new_state = next_state(request.state, event)
    if not requests_store.compare_and_set(conn, request.id, request.state, new_state, **values):
        raise Conflict(f"request {request.id} changed state concurrently")
    full_detail: dict[str, DetailValue] = {"from": request.state.value, "to": new_state.value}
    full_detail.update(detail or {})
    record(conn, request, AUDIT_EVENT[event], actor=actor, artefacts=artefacts, detail=full_detail)
    return new_state
