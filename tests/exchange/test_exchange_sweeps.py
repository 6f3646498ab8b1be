"""Periodic jobs: negative evidence after the retrieval window, expired leases returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from exchange_support import MADRID, Gateway

from gateway.audit.entries import decode_entry
from gateway.persistence import exchange_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.services import exchange, exchange_sweeps
from gateway.services.evidences import Sealer
from gateway.services.tokens import Caller


def _sealer(gateway: Gateway) -> Sealer:
    keys = gateway.runtime.keys
    return Sealer(keys.seal_key, keys.seal_cert, gateway.settings.gateway_id)


def test_unretrieved_item_gets_non_retrieval_evidence_once(gateway: Gateway) -> None:
    request_id = gateway.new_available_request()
    engine = gateway.runtime.engine
    later = datetime.now(UTC) + timedelta(days=3)
    assert exchange_sweeps.sweep_deadlines(engine, _sealer(gateway), now=datetime.now(UTC)) == 0
    raised = exchange_sweeps.sweep_deadlines(engine, _sealer(gateway), now=later)
    assert raised >= 1
    assert exchange_sweeps.sweep_deadlines(engine, _sealer(gateway), now=later) == 0
    with transaction(engine) as conn:
        kinds = [e.kind for e in exchange_store.evidences_of(conn, request_id)]
    assert kinds == ["SubmissionAcceptance", "NonRetrieval"]


def test_expired_lease_is_swept_and_audited(gateway: Gateway) -> None:
    request_id = gateway.new_available_request()
    engine = gateway.runtime.engine
    caller = Caller(gateway.clients[MADRID].client_id, MADRID)
    exchange.take_lease(engine, caller, request_id, lease_seconds=5)
    assert exchange_sweeps.sweep_leases(engine) == 0
    assert exchange_sweeps.sweep_leases(engine, now=datetime.now(UTC) + timedelta(seconds=6)) >= 1
    with transaction(engine) as conn:
        assert exchange_store.get_lease(conn, request_id) is None
        rows = conn.execute(
            sa.select(audit_leaf.c.entry).where(audit_leaf.c.request_id == request_id)
        ).scalars()
        events = [decode_entry(bytes(row)).event for row in rows]
    assert events.count("lease_expired") == 1


def test_expired_access_tokens_and_assertion_ids_are_purged(gateway: Gateway) -> None:
    engine = gateway.runtime.engine
    now = datetime.now(UTC)
    with transaction(engine) as conn:
        exchange_store.use_assertion(
            conn, "jti-spent", "madrid-client", now - timedelta(minutes=10)
        )
        exchange_store.use_assertion(conn, "jti-live", "madrid-client", now - timedelta(seconds=20))
    assert exchange_sweeps.purge_expired_credentials(engine, now=now) >= 1
    with transaction(engine) as conn:
        assert not exchange_store.use_assertion(
            conn, "jti-live", "madrid-client", now + timedelta(minutes=5)
        )  # just expired, within the clock leeway: a replay is still refused
        assert exchange_store.use_assertion(
            conn, "jti-spent", "madrid-client", now + timedelta(minutes=5)
        )  # forgotten after expiry
