"""What the database says about the gateway's work, for `/metrics` (read-only, one query each)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import as_utc
from gateway.persistence.tables import authority_certificates, outbox, requests


@dataclass(frozen=True)
class WorkSnapshot:
    requests_by_state: dict[str, int] = field(default_factory=dict)
    outbox_backlog: int = 0
    audit_log_entries: int = 0
    earliest_authority_certificate_expiry: datetime | None = None


def work_snapshot(engine: Engine) -> WorkSnapshot:
    with engine.connect() as conn:
        by_state = {
            str(state): int(count)
            for state, count in conn.execute(
                sa.select(requests.c.state, sa.func.count()).group_by(requests.c.state)
            )
        }
        backlog = conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        ).scalar_one()
        entries = conn.execute(sa.select(sa.func.count()).select_from(audit_leaf)).scalar_one()
        expiry = _earliest_expiry(conn)
    return WorkSnapshot(by_state, int(backlog), int(entries), expiry)


def _earliest_expiry(conn: sa.Connection) -> datetime | None:
    value = conn.execute(
        sa.select(sa.func.min(authority_certificates.c.not_after)).where(
            authority_certificates.c.active.is_(True)
        )
    ).scalar()
    if value is None:
        return None
    return as_utc(value)
