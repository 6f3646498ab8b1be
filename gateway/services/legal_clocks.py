"""Legal clocks of a request: facts from evidences and signed replies, due dates, reminders.

The rules live in `gateway.domain.legal_clocks` (pure). Here a fact is stored once per
source (an evidence's hash or a reply's request id), the clocks are recomputed from all
facts and stored with the rule that produced them, and a periodic job raises reminders
and breaches (audit entries plus content-free webhook notices to both sides).
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
from gateway.domain.errors import NotFound
from gateway.domain.legal_clocks import (
    Clock,
    ClockStatus,
    Fact,
    FactKind,
    Terms,
    compute_clocks,
    parse_offsets,
)
from gateway.persistence import authorities_store, requests_store
from gateway.persistence.db import transaction
from gateway.persistence.legal_tables import legal_clocks, legal_facts, legal_notices, request_terms
from gateway.persistence.requests_store import RequestRow
from gateway.services.evidences import Sealer
from gateway.services.lifecycle import record

log = logging.getLogger(__name__)

NOTICE_FORMAT = "rogatory.notification/1"
URGENT = frozenset({"urgent", "very-urgent"})
NOT_FOUND_MESSAGE = "no such request"


# --- terms and facts ------------------------------------------------------------------------


def record_terms(
    conn: Connection,
    request_id: str,
    *,
    urgency: str,
    issuer_deadline: date | None,
    handling: list[str] | tuple[str, ...] = (),
) -> None:
    conn.execute(
        request_terms.insert().values(
            request_id=request_id,
            urgency=urgency,
            issuer_deadline=issuer_deadline,
            handling=sorted(set(handling)),
        )
    )


def terms_of(conn: Connection, request: RequestRow) -> Terms:
    row = conn.execute(
        sa.select(request_terms.c.urgency, request_terms.c.issuer_deadline).where(
            request_terms.c.request_id == request.id
        )
    ).first()
    if row is None:  # requests stored before this module: only the deadline column is known
        return Terms(request.request_type, "normal", request.deadline)
    return Terms(request.request_type, row.urgency, row.issuer_deadline)


def handling_of(conn: Connection, request_id: str) -> tuple[str, ...]:
    value = conn.execute(
        sa.select(request_terms.c.handling).where(request_terms.c.request_id == request_id)
    ).scalar()
    return tuple(value or ())


def urgent_among(conn: Connection, request_ids: set[str]) -> set[str]:
    """The ids of urgent requests (urgency in section B, or the `urgent` label) among these."""
    if not request_ids:
        return set()
    rows = conn.execute(
        sa.select(
            request_terms.c.request_id, request_terms.c.urgency, request_terms.c.handling
        ).where(request_terms.c.request_id.in_(sorted(request_ids)))
    ).all()
    return {r.request_id for r in rows if r.urgency in URGENT or "urgent" in (r.handling or ())}


def record_fact(
    conn: Connection,
    request: RequestRow,
    kind: FactKind,
    *,
    source: str,
    now: datetime,
    fact_date: date | None = None,
    decision: str | None = None,
) -> tuple[Clock, ...]:
    """Store a fact once per (request, kind, source) and recompute the request's clocks."""
    exists = conn.execute(
        sa.select(legal_facts.c.id).where(
            legal_facts.c.request_id == request.id,
            legal_facts.c.kind == kind.value,
            legal_facts.c.source == source,
        )
    ).first()
    if exists is None:
        conn.execute(
            legal_facts.insert().values(
                request_id=request.id,
                kind=kind.value,
                recorded_on=now.astimezone(UTC).date(),
                fact_date=fact_date,
                decision=decision,
                source=source,
                created_at=now,
            )
        )
    return recompute(conn, request)


def on_received(conn: Connection, request: RequestRow, evidence_sha256: str, now: datetime) -> None:
    """The executing side has the request (Retrieval or Delivery evidence): clocks start."""
    if request.request_type != "reply":
        record_fact(conn, request, FactKind.RECEIVED, source=evidence_sha256, now=now)


def facts_of(conn: Connection, request_id: str) -> list[Fact]:
    rows = conn.execute(
        sa.select(legal_facts)
        .where(legal_facts.c.request_id == request_id)
        .order_by(legal_facts.c.recorded_on, legal_facts.c.id)
    ).all()
    return [Fact(FactKind(r.kind), r.recorded_on, r.fact_date, r.decision) for r in rows]


def recompute(conn: Connection, request: RequestRow) -> tuple[Clock, ...]:
    clocks = compute_clocks(terms_of(conn, request), facts_of(conn, request.id))
    before = {c.key: c for c in clocks_of(conn, request.id)}
    conn.execute(legal_clocks.delete().where(legal_clocks.c.request_id == request.id))
    for clock in clocks:
        conn.execute(
            legal_clocks.insert().values(
                request_id=request.id,
                clock=clock.key,
                rule=clock.rule,
                starts_on=clock.starts_on,
                due_on=clock.due_on,
                status=clock.status.value,
                closed_on=clock.closed_on,
            )
        )
        if before.get(clock.key) != clock:
            record(
                conn,
                request,
                "clock_set",
                actor="gateway:clocks",
                detail={
                    "clock": clock.key,
                    "rule": clock.rule,
                    "due_on": clock.due_on.isoformat(),
                    "status": clock.status.value,
                },
            )
    return clocks


def clocks_of(conn: Connection, request_id: str) -> list[Clock]:
    rows = conn.execute(
        sa.select(legal_clocks)
        .where(legal_clocks.c.request_id == request_id)
        .order_by(legal_clocks.c.starts_on, legal_clocks.c.due_on)
    ).all()
    return [
        Clock(r.clock, r.rule, r.starts_on, r.due_on, ClockStatus(r.status), r.closed_on)
        for r in rows
    ]


def request_clocks(engine: Engine, request_id: str) -> list[Clock]:
    with transaction(engine) as conn:
        return clocks_of(conn, request_id)


def next_due(engine: Engine, request_ids: list[str]) -> dict[str, Clock]:
    """The earliest running clock of each request (for a deadline column in lists)."""
    if not request_ids:
        return {}
    with transaction(engine) as conn:
        rows = conn.execute(
            sa.select(legal_clocks)
            .where(
                legal_clocks.c.request_id.in_(sorted(set(request_ids))),
                legal_clocks.c.status == ClockStatus.RUNNING.value,
            )
            .order_by(legal_clocks.c.due_on)
        ).all()
    found: dict[str, Clock] = {}
    for r in rows:
        found.setdefault(
            r.request_id, Clock(r.clock, r.rule, r.starts_on, r.due_on, ClockStatus(r.status))
        )
    return found


def clock_json(clock: Clock, today: date) -> dict[str, Any]:
    """How the API, the CLI and the pages show a clock: due date, rule, days left, overdue."""
    return {
        "clock": clock.key,
        "rule": clock.rule,
        "starts_on": clock.starts_on.isoformat(),
        "due_on": clock.due_on.isoformat(),
        "status": clock.status.value,
        "closed_on": clock.closed_on.isoformat() if clock.closed_on else None,
        "days_left": clock.days_left(today) if clock.status is ClockStatus.RUNNING else None,
        "overdue": clock.breached(today),
    }


def legal_status(conn: Connection, request: RequestRow, today: date) -> dict[str, Any]:
    """The legal side of a request's status: its clocks, handling labels and state."""
    return {
        "request_id": request.id,
        "state": request.state.value,
        "handling": list(handling_of(conn, request.id)),
        "clocks": [clock_json(c, today) for c in clocks_of(conn, request.id)],
    }


def party_legal_status(
    engine: Engine, authority_id: str, request_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """As legal_status, for a party to the request only (NotFound for anyone else)."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    with transaction(engine) as conn:
        try:
            request = requests_store.get(conn, request_id)
        except NotFound:
            request = None
        if request is None or not request.is_party(authority_id):
            raise NotFound(NOT_FOUND_MESSAGE)
        return legal_status(conn, request, today)


def clock_line(clock: Clock, today: date) -> str:
    """One line for operators: key, due date, rule, and days left or overdue."""
    line = f"{clock.key} due {clock.due_on.isoformat()} ({clock.rule}) {clock.status.value}"
    if clock.status is not ClockStatus.RUNNING:
        return line + f" on {clock.closed_on.isoformat()}" if clock.closed_on else line
    left = clock.days_left(today)
    return line + (f", OVERDUE by {-left} day(s)" if left < 0 else f", {left} day(s) left")


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
