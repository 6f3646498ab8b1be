"""Periodic jobs of the exchange: expired leases, overdue items, spent credentials."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.domain.states import State
from gateway.persistence import authorities_store, exchange_store, requests_store
from gateway.persistence.db import transaction
from gateway.persistence.tables import requests as requests_table
from gateway.services import evidences
from gateway.services.evidences import Sealer
from gateway.services.legal_clocks import handling_of
from gateway.services.lifecycle import record

log = logging.getLogger(__name__)

ASSERTION_ID_MARGIN = timedelta(minutes=5)


def sweep_leases(engine: Engine, *, now: datetime | None = None) -> int:
    """Drop expired leases (the inbox already ignores them) and audit each return."""
    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
        expired = exchange_store.expired_leases(conn, now)
    returned = 0
    for lease in expired:
        with transaction(engine) as conn:
            if exchange_store.release_if_expired(conn, lease.request_id, now):
                request = requests_store.get(conn, lease.request_id)
                record(conn, request, "lease_expired", actor="gateway:sweeper")
                returned += 1
    return returned


def sweep_deadlines(
    engine: Engine,
    sealer: Sealer,
    *,
    retrieval_window: timedelta = timedelta(days=2),
    now: datetime | None = None,
) -> int:
    """Raise NonRetrieval (pull) or NonDelivery (push) for items left AVAILABLE too long.

    An item is overdue when it has been AVAILABLE for `retrieval_window` or its execution
    deadline has passed. Each negative evidence is issued once per request.
    """
    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
        stale = set(exchange_store.available_since(conn, now - retrieval_window))
        stale |= set(
            conn.execute(
                sa.select(requests_table.c.id).where(
                    requests_table.c.state == State.AVAILABLE.value,
                    requests_table.c.deadline < now.date(),
                )
            ).scalars()
        )
    raised = 0
    for request_id in sorted(stale):
        with transaction(engine) as conn:
            request = requests_store.get(conn, request_id)
            if request.state is not State.AVAILABLE:
                continue
            executing = authorities_store.get(conn, request.executing_authority_id)
            pushed = executing.push_endpoint and "pull-only" not in handling_of(conn, request_id)
            kind = evidences.NON_DELIVERY if pushed else evidences.NON_RETRIEVAL
            if exchange_store.has_evidence(conn, request_id, kind):
                continue
            evidences.issue(
                conn,
                request,
                kind,
                sealer,
                audit_event="made_available",
                now=now,
                detail={"reason": "deadline-passed"},
            )
            log.warning("negative evidence raised", extra={"request_id": request_id, "kind": kind})
            raised += 1
    return raised


def purge_expired_credentials(engine: Engine, *, now: datetime | None = None) -> int:
    """Forget access tokens and single-use assertion ids once they have expired.

    Assertion ids are kept a margin beyond their `exp` (longer than the clock leeway the
    token endpoint allows), so a replay inside the leeway is still recognised.
    """
    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
        tokens = exchange_store.purge_tokens(conn, now)
        return tokens + exchange_store.purge_used_assertions(conn, now - ASSERTION_ID_MARGIN)
