"""Reminders and breaches of legal clocks: a periodic job, audit entries, webhook notices.

Each notice is raised once (a unique key per request, clock, notice and due date), audited
and posted, signed and without content, to the webhooks of both parties.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gateway.audit.entries import canonical_json
from gateway.crypto import sign
from gateway.domain.legal_clocks import Clock, ClockStatus, parse_offsets
from gateway.persistence import authorities_store, requests_store
from gateway.persistence.db import transaction
from gateway.persistence.legal_tables import legal_clocks, legal_notices
from gateway.services.evidences import Sealer
from gateway.services.legal_clocks import URGENT, clocks_of, handling_of, terms_of
from gateway.services.lifecycle import record

log = logging.getLogger(__name__)

NOTICE_FORMAT = "rogatory.notification/1"


# --- reminders and breaches -----------------------------------------------------------------


@dataclass(frozen=True)
class ReminderPolicy:
    normal: tuple[int, ...] = (7, 3, 1)
    urgent: tuple[int, ...] = (14, 7, 3, 2, 1)

    @classmethod
    def from_text(cls, normal: str, urgent: str) -> ReminderPolicy:
        return cls(parse_offsets(normal), parse_offsets(urgent))


def sweep_clocks(
    engine: Engine,
    sealer: Sealer,
    *,
    policy: ReminderPolicy | None = None,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Raise due reminders and breaches once each, then send their notices; returns how many."""
    now = now or datetime.now(UTC)
    policy = policy or ReminderPolicy()
    today = now.astimezone(UTC).date()
    with transaction(engine) as conn:
        ids = (
            conn.execute(
                sa.select(legal_clocks.c.request_id)
                .distinct()
                .where(legal_clocks.c.status == ClockStatus.RUNNING.value)
            )
            .scalars()
            .all()
        )
    raised = 0
    for request_id in sorted(ids):
        with transaction(engine) as conn:
            raised += _raise_notices(conn, request_id, policy, today, now)
    _send_pending(engine, sealer, now, transport)
    return raised


def _raise_notices(
    conn: Connection, request_id: str, policy: ReminderPolicy, today: date, now: datetime
) -> int:
    request = requests_store.get(conn, request_id)
    urgent = terms_of(conn, request).urgency in URGENT or "urgent" in handling_of(conn, request_id)
    offsets = policy.urgent if urgent else policy.normal
    raised = 0
    for clock in clocks_of(conn, request_id):
        # only the most pressing notice: a sweep after a pause does not replay every step
        reached = clock.reminders_due(today, offsets)
        if clock.breached(today):
            wanted = ["breach"]
        else:
            wanted = [f"reminder-{reached[0]}d"] if reached else []
        for notice in wanted:
            if _has_notice(conn, request_id, clock, notice):
                continue
            conn.execute(
                legal_notices.insert().values(
                    request_id=request_id,
                    clock=clock.key,
                    notice=notice,
                    due_on=clock.due_on,
                    created_at=now,
                )
            )
            record(
                conn,
                request,
                "clock_breached" if notice == "breach" else "clock_reminder",
                actor="gateway:clocks",
                detail={
                    "clock": clock.key,
                    "rule": clock.rule,
                    "due_on": clock.due_on.isoformat(),
                    "days_left": clock.days_left(today),
                    "notice": notice,
                },
            )
            log.warning(
                "legal clock breached" if notice == "breach" else "legal clock reminder",
                extra={"request_id": request_id, "clock": clock.key, "notice": notice},
            )
            raised += 1
    return raised


def _has_notice(conn: Connection, request_id: str, clock: Clock, notice: str) -> bool:
    return (
        conn.execute(
            sa.select(legal_notices.c.id).where(
                legal_notices.c.request_id == request_id,
                legal_notices.c.clock == clock.key,
                legal_notices.c.notice == notice,
                legal_notices.c.due_on == clock.due_on,
            )
        ).first()
        is not None
    )


def notices_of(engine: Engine, request_id: str) -> list[Mapping[str, Any]]:
    with transaction(engine) as conn:
        rows = conn.execute(
            sa.select(legal_notices)
            .where(legal_notices.c.request_id == request_id)
            .order_by(legal_notices.c.id)
        ).mappings()
        return [dict(r) for r in rows]


def _send_pending(
    engine: Engine, sealer: Sealer, now: datetime, transport: httpx.BaseTransport | None
) -> None:
    """Post each unsent notice to both parties' webhooks (ids, clock, dates: no content)."""
    with transaction(engine) as conn:
        pending = conn.execute(
            sa.select(legal_notices).where(legal_notices.c.sent_at.is_(None))
        ).all()
        work: list[tuple[sa.Row[Any], list[str]]] = []
        for row in pending:
            request = requests_store.get(conn, row.request_id)
            urls: list[str] = []
            for party in (request.issuing_authority_id, request.executing_authority_id):
                url = authorities_store.get(conn, party).webhook_url
                if url:
                    urls.append(url)
            work.append((row, urls))
    for row, urls in work:
        body = canonical_json(
            {
                "format": NOTICE_FORMAT,
                "event": "clock-breached" if row.notice == "breach" else "clock-reminder",
                "gateway": sealer.gateway_id,
                "request_id": row.request_id,
                "clock": row.clock,
                "due_on": row.due_on.isoformat(),
                "time": now.isoformat(),
            }
        )
        delivered = all(_post(url, sign(body, sealer.key, sealer.cert), transport) for url in urls)
        if delivered:
            with transaction(engine) as conn:
                conn.execute(
                    legal_notices.update().where(legal_notices.c.id == row.id).values(sent_at=now)
                )


def _post(url: str, signed: bytes, transport: httpx.BaseTransport | None) -> bool:
    try:
        with httpx.Client(transport=transport, timeout=30.0) as http:
            response = http.post(
                url, content=signed, headers={"Content-Type": "application/pkcs7-mime"}
            )
    except httpx.HTTPError as exc:
        log.warning("clock notice not delivered", extra={"error": type(exc).__name__})
        return False
    if not 200 <= response.status_code < 300:
        log.warning("clock notice refused", extra={"status": response.status_code})
        return False
    return True
