"""What an insider holding the database and the log key could do: rewrite history."""

from __future__ import annotations

import dataclasses

from audit_http_support import LogGateway
from sqlalchemy import delete, select

from gateway.audit import ledger
from gateway.audit.entries import decode_entry
from gateway.persistence.audit_tables import audit_head, audit_leaf, audit_node
from gateway.persistence.db import transaction
from gateway.services import audit_checkpoints
from gateway.services.lifecycle import record


def rewrite_log_with_key(gateway: LogGateway, index: int) -> None:
    """Change entry ``index``, rebuild the whole tree, append one entry and re-sign."""
    engine = gateway.runtime.engine
    with transaction(engine) as conn:
        stored = conn.execute(select(audit_leaf.c.entry).order_by(audit_leaf.c.idx)).scalars()
        entries = [decode_entry(bytes(raw)) for raw in stored]
        entries[index] = dataclasses.replace(entries[index], actor="gateway:forged")
        for table in (audit_leaf, audit_node, audit_head):
            conn.execute(delete(table))
        ledger.append_many(conn, entries)
        record(conn, None, "admin_action", actor="admin:cover-up")
    audit_checkpoints.checkpoint_if_grown(
        engine, gateway.runtime.keys.log_key, audit_checkpoints.log_origin(gateway.settings)
    )
