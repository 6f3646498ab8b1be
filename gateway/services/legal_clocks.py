"""Legal clocks of a request: facts from evidences and signed replies, due dates, reminders.

The rules live in `gateway.domain.legal_clocks` (pure). Here a fact is stored once per
source (an evidence's hash or a reply's request id) and the clocks are recomputed from all
facts and stored with the rule that produced them. Reminders and breaches: legal_notices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gateway.domain.errors import NotFound
from gateway.domain.legal_clocks import (
    Clock,
    ClockStatus,
    Fact,
    FactKind,
    Terms,
    compute_clocks,
)
from gateway.persistence import requests_store
from gateway.persistence.db import read_transaction
from gateway.persistence.legal_tables import legal_clocks, legal_facts, request_terms
from gateway.persistence.requests_store import RequestRow
from gateway.services.lifecycle import record

log = logging.getLogger(__name__)

NOTICE_FORMAT = "rogatory.notification/1"
URGENT = frozenset({"urgent", "very-urgent"})
NOT_FOUND_MESSAGE = "no such request"


# --- terms and facts ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewTerms:
    request_id: str
    urgency: str
    issuer_deadline: date | None
    handling: list[str] | tuple[str, ...] = ()


def record_terms_many(conn: Connection, terms: list[NewTerms]) -> None:
    """Several new requests' terms: one executemany."""
    if terms:
        conn.execute(
            request_terms.insert(),
            [
                {
                    "request_id": t.request_id,
                    "urgency": t.urgency,
                    "issuer_deadline": t.issuer_deadline,
                    "handling": sorted(set(t.handling)),
                }
                for t in terms
            ],
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
    return {r.request_id for r in rows if is_urgent(r.urgency, r.handling or ())}


def is_urgent(urgency: str, handling: list[str] | tuple[str, ...]) -> bool:
    return urgency in URGENT or "urgent" in handling


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
    with read_transaction(engine) as conn:
        return clocks_of(conn, request_id)


def next_due(engine: Engine, request_ids: list[str]) -> dict[str, Clock]:
    """The earliest running clock of each request (for a deadline column in lists)."""
    if not request_ids:
        return {}
    with read_transaction(engine) as conn:
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
    with read_transaction(engine) as conn:
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
