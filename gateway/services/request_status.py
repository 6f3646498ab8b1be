"""What an operator sees of a request: state, progress and its latest audit events."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.audit.entries import AuditEntry, decode_entry
from gateway.domain.states import State
from gateway.persistence import requests_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.persistence.requests_store import RequestRow
from gateway.persistence.tables import requests, stored_objects


@dataclass(frozen=True)
class StoredArtefact:
    kind: str
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RequestStatus:
    request: RequestRow
    events: list[tuple[int, AuditEntry]]  # (audit index, entry), oldest first
    artefacts: list[StoredArtefact]

    @property
    def progress_percent(self) -> int | None:
        total = self.request.progress_total
        return None if total <= 0 else self.request.progress_done * 100 // total


def list_requests(
    engine: Engine, *, state: State | None = None, limit: int = 50
) -> list[RequestRow]:
    """Newest first."""
    query = sa.select(requests.c.id).order_by(requests.c.received_at.desc()).limit(limit)
    if state is not None:
        query = query.where(requests.c.state == state.value)
    with transaction(engine) as conn:
        ids = conn.execute(query).scalars().all()
        return [requests_store.get(conn, request_id) for request_id in ids]


def request_status(engine: Engine, request_id: str, *, last_events: int = 10) -> RequestStatus:
    """Raises NotFound for an unknown id."""
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        rows = conn.execute(
            sa.select(audit_leaf.c.idx, audit_leaf.c.entry)
            .where(audit_leaf.c.request_id == request_id)
            .order_by(audit_leaf.c.idx.desc())
            .limit(last_events)
        ).all()
        objects = conn.execute(
            sa.select(
                stored_objects.c.kind,
                stored_objects.c.name,
                stored_objects.c.size,
                stored_objects.c.sha256,
            )
            .where(stored_objects.c.request_id == request_id)
            .order_by(stored_objects.c.created_at, stored_objects.c.kind, stored_objects.c.name)
        ).all()
    events = [(int(idx), decode_entry(bytes(raw))) for idx, raw in reversed(rows)]
    artefacts = [StoredArtefact(o.kind, o.name, int(o.size), o.sha256) for o in objects]
    return RequestStatus(request, events, artefacts)
