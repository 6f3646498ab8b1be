"""Periodic jobs: negative evidence after the retrieval window, expired leases returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from exchange_support import MADRID, Gateway

from gateway.audit.entries import decode_entry
from gateway.persistence import exchange_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.services import exchange
from gateway.services.evidences import Sealer
from gateway.services.tokens import Caller


def _sealer(gateway: Gateway) -> Sealer:
    keys = gateway.runtime.keys
    return Sealer(keys.seal_key, keys.seal_cert, gateway.settings.gateway_id)


def test_unretrieved_item_gets_non_retrieval_evidence_once(gateway: Gateway) -> None:
    request_id = gateway.new_available_request()
    engine = gateway.runtime.engine
    later = datetime.now(UTC) + timedelta(days=3)
    assert exchange.sweep_deadlines(engine, _sealer(gateway), now=datetime.now(UTC)) == 0
    raised = exchange.sweep_deadlines(engine, _sealer(gateway), now=later)
    assert raised >= 1
    assert exchange.sweep_deadlines(engine, _sealer(gateway), now=later) == 0
    with transaction(engine) as conn:
        kinds = [e.kind for e in exchange_store.evidences_of(conn, request_id)]
    assert kinds == ["SubmissionAcceptance", "NonRetrieval"]


def test_expired_lease_is_swept_and_audited(gateway: Gateway) -> None:
    request_id = gateway.new_available_request()
    engine = gateway.runtime.engine
    caller = Caller(gateway.clients[MADRID].client_id, MADRID)
    exchange.take_lease(engine, caller, request_id, lease_seconds=5)
    assert exchange.sweep_leases(engine) == 0
    assert exchange.sweep_leases(engine, now=datetime.now(UTC) + timedelta(seconds=6)) >= 1
    with transaction(engine) as conn:
        assert exchange_store.get_lease(conn, request_id) is None
        rows = conn.execute(
            sa.select(audit_leaf.c.entry).where(audit_leaf.c.request_id == request_id)
        ).scalars()
        events = [decode_entry(bytes(row)).event for row in rows]
    assert events.count("lease_expired") == 1
