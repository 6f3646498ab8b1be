"""What intake does with the law around a request: its terms, answers and withdrawal.

A refusal (or a decision to refuse) moves the request to `rejected`, which is final.
Called inside intake's transaction: a new request records its time terms and handling
labels; a reply becomes a legal fact on the request it answers (moving its clocks); a
withdrawal moves the request to `withdrawn`, drops its lease, cancels its pending tasks
and stops its clocks. The withdrawal travels on to the counterpart as a reply of its
own (translated, packaged), and a worker issues the signed withdrawal evidence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gateway.domain.forms import RequestForm
from gateway.domain.legal_clocks import FactKind
from gateway.domain.reply_kinds import ReplyNotApplicable, fact_of, is_refusal, reply_kind
from gateway.domain.request_types import RequestType
from gateway.domain.states import Event, State, allowed_events
from gateway.persistence import outbox_store, requests_store
from gateway.persistence.db import transaction
from gateway.persistence.requests_store import RequestRow
from gateway.persistence.tables import leases, outbox
from gateway.services import evidences, legal_clocks
from gateway.services.evidences import Evidence, Sealer
from gateway.services.lifecycle import advance, record

log = logging.getLogger(__name__)

WITHDRAWAL_EVIDENCE_TASK = "rogatory.withdrawal_evidence"


class RequestFinal(ReplyNotApplicable):
    code = "request-final"
    status = 409


def check_reply_allowed(original: RequestRow, section: Mapping[str, Any]) -> None:
    """No answer to a withdrawn or rejected request; no withdrawal of a final one."""
    if original.state in (State.WITHDRAWN, State.REJECTED):
        raise RequestFinal(f"the request is {original.state.value}: nothing more can be sent")
    if reply_kind(str(section["reply_kind"])).fact is FactKind.WITHDRAWN and (
        Event.WITHDRAW not in allowed_events(original.state)
    ):
        raise RequestFinal(f"a {original.state.value} request cannot be withdrawn")
    if is_refusal(section) and Event.REFUSE not in allowed_events(original.state):
        raise RequestFinal(f"a {original.state.value} request cannot be refused yet")


def record_terms(conn: Connection, accepted: list[tuple[str, RequestForm]]) -> None:
    """The time terms and handling labels of new requests (request id, form), replies
    left out: one insert."""
    legal_clocks.record_terms_many(
        conn, [_terms(request_id, form) for request_id, form in accepted if not _is_reply(form)]
    )


def on_replies(conn: Connection, accepted: list[tuple[str, RequestForm, datetime]]) -> None:
    """Each accepted reply's effect on the request it answers (others are left out)."""
    for request_id, form, now in accepted:
        if _is_reply(form):
            _on_reply(conn, request_id, form, now)


def _is_reply(form: RequestForm) -> bool:
    return form.request_type is RequestType.REPLY


def _terms(request_id: str, form: RequestForm) -> legal_clocks.NewTerms:
    section_b = form.data["sections"].get("B", {})
    deadline = section_b.get("deadline")
    return legal_clocks.NewTerms(
        request_id,
        urgency=str(section_b.get("urgency", "normal")),
        issuer_deadline=date.fromisoformat(str(deadline)) if deadline else None,
        handling=[str(label) for label in form.data.get("handling", ())],
    )


def _on_reply(conn: Connection, request_id: str, form: RequestForm, now: datetime) -> None:
    section = form.data["sections"]["R"]
    original = requests_store.get(conn, str(section["in_reply_to"]))
    kind = str(section["reply_kind"])
    detail: dict[str, str | int | None] = {"reply_kind": kind, "reply": request_id}
    if section.get("decision"):
        detail["decision"] = str(section["decision"])
    for number, ground in enumerate(section.get("grounds") or (), start=1):
        detail[f"ground_{number}"] = str(ground)  # codes only; at most 24 exist
    if section.get("effective_date"):
        detail["effective_date"] = str(section["effective_date"])
    actor = f"authority:{form.issuing_authority}"
    record(conn, original, "answer_received", actor=actor, detail=detail)
    if is_refusal(section):  # the request is final: no more answers, clocks stop below
        advance(conn, original, Event.REFUSE, actor=actor, detail={"reply": request_id})
        original = requests_store.get(conn, original.id)
    fact = fact_of(section, now.astimezone(UTC).date())
    if fact is None:
        return
    if fact.kind is FactKind.WITHDRAWN:
        _withdraw(conn, original, request_id, actor, now)
        original = requests_store.get(conn, original.id)
    legal_clocks.record_fact(
        conn,
        original,
        fact.kind,
        source=request_id,
        now=now,
        fact_date=fact.date,
        decision=fact.decision,
    )


def _withdraw(
    conn: Connection, original: RequestRow, withdrawal_id: str, actor: str, now: datetime
) -> None:
    advance(conn, original, Event.WITHDRAW, actor=actor, detail={"withdrawal": withdrawal_id})
    dropped = conn.execute(leases.delete().where(leases.c.request_id == original.id)).rowcount
    # tasks not yet handed to the broker are cancelled; those already sent find the state
    # `withdrawn` and stop (every step is a compare-and-set on the state it expects)
    cancelled = conn.execute(
        outbox.update()
        .where(
            outbox.c.sent_at.is_(None),
            outbox.c.payload["request_id"].as_string() == original.id,
        )
        .values(sent_at=now)
    ).rowcount
    record(
        conn,
        original,
        "withdrawal_applied",
        actor="gateway:intake",
        detail={"leases_dropped": int(dropped or 0), "tasks_cancelled": int(cancelled or 0)},
    )
    outbox_store.enqueue(conn, WITHDRAWAL_EVIDENCE_TASK, {"request_id": original.id})
    log.info("request withdrawn", extra={"request_id": original.id})


def issue_withdrawal_evidence(engine: Engine, sealer: Sealer, request_id: str) -> Evidence | None:
    """The signed RequestWithdrawal evidence, once; None if the request is not withdrawn."""
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state is not State.WITHDRAWN:
            return None
        return evidences.issue_once(
            conn, request, evidences.WITHDRAWAL, sealer, audit_event="withdrawn"
        )


def pending_tasks(conn: Connection, request_id: str) -> list[str]:
    """Names of the tasks of a request not yet handed to the broker, oldest first."""
    return list(
        conn.execute(
            sa.select(outbox.c.task)
            .where(
                outbox.c.sent_at.is_(None),
                outbox.c.payload["request_id"].as_string() == request_id,
            )
            .order_by(outbox.c.id)
        ).scalars()
    )
