"""Scenarios with the clock run forward: real intake, packaging, retrieval and signed replies.

Each step happens at an injected time; clocks start from the gateway's Retrieval evidence
and move with the executing authority's signed answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from legal_support import (
    MADRID,
    ROTTERDAM,
    answer,
    clocks,
    day,
    eaw_form,
    eio_form,
    issue,
    make_available,
    reply_form,
    retrieve,
    submit,
)
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from gateway.config import Settings
from gateway.crypto import TrustConfig, verify_signed
from gateway.crypto.keyfiles import load_certificate, load_crl
from gateway.domain.errors import Conflict
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.persistence.tables import authorities, leases, outbox
from gateway.runtime.container import Runtime, build_runtime
from gateway.services import evidences, legal_notices, legal_workflow
from gateway.services.intake import IntakeRefused
from gateway.services.request_status import request_status

EIO_ = "Directive 2014/41/EU"
EAW_ = "Framework Decision 2002/584/JHA"


@pytest.fixture
def rt(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    runtime = build_runtime(make_settings())
    yield runtime
    runtime.close()


def _audit_events(rt: Runtime, request_id: str) -> list[tuple[str, dict[str, object]]]:
    status = request_status(rt.engine, request_id, last_events=500)
    return [(entry.event, dict(entry.detail)) for _, entry in status.events]


def test_eio_retrieved_acknowledged_recognised_delayed_and_executed(rt: Runtime) -> None:
    request_id = issue(rt, eio_form(), day(0))
    make_available(rt, request_id)
    retrieve(rt, request_id, day(0))
    assert clocks(rt, request_id, day(0))["acknowledgement"] | {} == {
        "clock": "acknowledgement",
        "rule": f"{EIO_} Art 16(1)",
        "starts_on": "2026-12-07",
        "due_on": "2026-12-14",
        "status": "running",
        "closed_on": None,
        "days_left": 7,
        "overdue": False,
    }
    assert clocks(rt, request_id, day(0))["recognition"]["due_on"] == "2027-01-06"

    answer(rt, request_id, "acknowledgement", day(3))
    answer(rt, request_id, "recognition-decision", day(20), decision="execute")
    now = clocks(rt, request_id, day(20))
    assert (now["acknowledgement"]["status"], now["acknowledgement"]["closed_on"]) == (
        "met",
        "2026-12-10",
    )
    assert now["recognition"]["status"] == "met"
    assert now["execution"]["rule"] == f"{EIO_} Art 12(4)"
    assert now["execution"]["due_on"] == "2027-03-27"  # day 20 + 90
    assert now["execution"]["days_left"] == 90

    answer(rt, request_id, "delay-notice", day(100), effective_date="2027-04-30")
    later = clocks(rt, request_id, day(100))["execution"]
    assert (later["rule"], later["due_on"]) == (f"{EIO_} Art 12(6)", "2027-04-30")

    answer(rt, request_id, "execution-result", day(130))
    done = clocks(rt, request_id, day(130))
    assert {c["status"] for c in done.values()} == {"met"}
    events = _audit_events(rt, request_id)
    kinds = [d.get("reply_kind") for e, d in events if e == "answer_received"]
    assert kinds == ["acknowledgement", "recognition-decision", "delay-notice", "execution-result"]
    assert any(e == "clock_set" and d.get("rule") == f"{EIO_} Art 12(6)" for e, d in events)


def test_eaw_with_consent_decided_on_day_eight_then_surrender_date(rt: Runtime) -> None:
    request_id = issue(rt, eaw_form(), day(0))
    make_available(rt, request_id)
    retrieve(rt, request_id, day(0))
    assert clocks(rt, request_id, day(0))["decision"]["rule"] == f"{EAW_} Art 17(3)"

    answer(rt, request_id, "eaw-consent", day(2), effective_date="2026-12-08")
    decision = clocks(rt, request_id, day(2))["decision"]
    assert (decision["rule"], decision["due_on"], decision["days_left"]) == (
        f"{EAW_} Art 17(2)",
        "2026-12-18",
        9,
    )
    answer(rt, request_id, "eaw-decision", day(8), decision="execute")
    surrender = clocks(rt, request_id, day(8))["surrender"]
    assert (surrender["rule"], surrender["due_on"]) == (f"{EAW_} Art 23(2)", "2026-12-25")
    answer(rt, request_id, "surrender-date", day(9), effective_date="2026-12-22")
    agreed = clocks(rt, request_id, day(9))
    assert agreed["decision"]["status"] == "met"
    assert agreed["surrender"]["due_on"] == "2026-12-22"


def test_a_refusal_must_name_grounds_of_the_instrument_and_is_recorded(rt: Runtime) -> None:
    request_id = issue(rt, eaw_form(), day(0))
    make_available(rt, request_id)
    retrieve(rt, request_id, day(0))
    with pytest.raises(IntakeRefused) as refused:
        answer(rt, request_id, "refusal", day(5), grounds=["eio-art11-1g-dual-criminality"])
    assert refused.value.code == "reply-not-applicable"
    with pytest.raises(IntakeRefused) as refused:
        answer(rt, request_id, "recognition-decision", day(5))  # an EIO answer, not an EAW one
    assert refused.value.code == "reply-not-applicable"
    answer(rt, request_id, "refusal", day(5), grounds=["eaw-art4-4-statute-barred"])
    assert clocks(rt, request_id, day(5))["decision"]["status"] == "met"
    received = [d for e, d in _audit_events(rt, request_id) if e == "answer_received"]
    assert received[-1]["ground_1"] == "eaw-art4-4-statute-barred"


class Webhooks:
    def __init__(self, ca: TrustConfig) -> None:
        self.ca = ca
        self.notices: list[tuple[str, dict[str, object]]] = []

    def __call__(self, environ: dict[str, object], start_response: object) -> object:
        request = Request(environ)  # type: ignore[arg-type]
        content = verify_signed(request.get_data(), self.ca, now=datetime.now(UTC)).content
        self.notices.append((request.path, json.loads(content)))
        return Response(status=204)(environ, start_response)  # type: ignore[arg-type]


@pytest.fixture
def webhooks(rt: Runtime) -> Iterator[tuple[Webhooks, str]]:
    pki = rt.settings.keys_dir / "dev-pki"
    hooks = Webhooks(
        TrustConfig(anchors=[load_certificate(pki / "ca.pem")], crls=[load_crl(pki / "ca.crl.pem")])
    )
    server = make_server("127.0.0.1", 0, hooks, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hooks, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_eio_without_annex_b_raises_reminders_then_a_breach_to_both_sides(
    rt: Runtime, webhooks: tuple[Webhooks, str]
) -> None:
    hooks, url = webhooks
    with transaction(rt.engine) as conn:
        for authority in (ROTTERDAM, MADRID):
            conn.execute(
                authorities.update()
                .where(authorities.c.id == authority)
                .values(webhook_url=f"{url}/{authority}")
            )
    request_id = issue(rt, eio_form(), day(0))
    make_available(rt, request_id)
    retrieve(rt, request_id, day(0))
    policy = legal_notices.ReminderPolicy(normal=(3, 1), urgent=(5, 3, 1))
    sealer = rt.sealer()

    assert legal_notices.sweep_clocks(rt.engine, sealer, policy=policy, now=day(2)) == 0
    assert legal_notices.sweep_clocks(rt.engine, sealer, policy=policy, now=day(4)) == 1
    assert legal_notices.sweep_clocks(rt.engine, sealer, policy=policy, now=day(4, 15)) == 0
    assert legal_notices.sweep_clocks(rt.engine, sealer, policy=policy, now=day(6)) == 1
    assert legal_notices.sweep_clocks(rt.engine, sealer, policy=policy, now=day(8)) == 1
    assert legal_notices.sweep_clocks(rt.engine, sealer, policy=policy, now=day(9)) == 0
    notices = [(n["clock"], n["notice"]) for n in legal_notices.notices_of(rt.engine, request_id)]
    assert notices == [
        ("acknowledgement", "reminder-3d"),
        ("acknowledgement", "reminder-1d"),
        ("acknowledgement", "breach"),
    ]
    breach = clocks(rt, request_id, day(8))["acknowledgement"]
    assert (breach["overdue"], breach["days_left"]) == (True, -1)
    events = [e for e, _ in _audit_events(rt, request_id)]
    assert events.count("clock_reminder") == 2
    assert events.count("clock_breached") == 1
    sent = sorted((path, body["event"]) for path, body in hooks.notices)
    assert sent.count((f"/{ROTTERDAM}", "clock-breached")) == 1
    assert sent.count((f"/{MADRID}", "clock-breached")) == 1
    assert all(set(body) == {"format", "event", "gateway", "request_id", "clock", "due_on",
                             "time"} for _, body in hooks.notices)  # fmt: skip
    # the answer finally comes: the clock is met and nothing more is raised
    answer(rt, request_id, "acknowledgement", day(9))
    assert legal_notices.sweep_clocks(rt.engine, sealer, policy=policy, now=day(10)) == 0


def test_urgent_requests_are_reminded_earlier(rt: Runtime) -> None:
    policy = legal_notices.ReminderPolicy(normal=(1,), urgent=(5, 1))
    normal = issue(rt, eio_form(), day(0))
    urgent = issue(rt, eio_form(urgency="urgent"), day(0))
    labelled = issue(rt, eio_form() | {"handling": ["urgent"]}, day(0))  # the handling label
    for request_id in (normal, urgent, labelled):
        make_available(rt, request_id)
        retrieve(rt, request_id, day(0))
    legal_notices.sweep_clocks(rt.engine, rt.sealer(), policy=policy, now=day(3))
    assert legal_notices.notices_of(rt.engine, normal) == []
    for request_id in (urgent, labelled):
        notices = legal_notices.notices_of(rt.engine, request_id)
        assert [n["notice"] for n in notices] == ["reminder-5d"]


def test_withdrawal_stops_clocks_cancels_leases_and_tasks_and_issues_evidence(
    rt: Runtime,
) -> None:
    request_id = issue(rt, eio_form(), day(0))
    make_available(rt, request_id)
    retrieve(rt, request_id, day(0))
    with pytest.raises(IntakeRefused) as refused:  # only the issuer may withdraw
        answer(rt, request_id, "withdrawal", day(1))
    assert refused.value.code == "unknown-request"  # not Madrid's request to withdraw
    with transaction(rt.engine) as conn:  # a task still waiting in the outbox
        conn.execute(
            outbox.insert().values(task="rogatory.package", payload={"request_id": request_id})
        )
        assert "rogatory.package" in legal_workflow.pending_tasks(conn, request_id)

    form = reply_form(request_id, "withdrawal", withdrawal=True, body="Zaak geseponeerd.")
    withdrawal_id = submit(rt, form, day(2), signer="magistrate-rsa").request_id
    with transaction(rt.engine) as conn:
        assert requests_store.get(conn, request_id).state.value == "withdrawn"
        # only the worker's withdrawal evidence is left to do for the withdrawn request
        pending = legal_workflow.pending_tasks(conn, request_id)
        assert pending == [legal_workflow.WITHDRAWAL_EVIDENCE_TASK]
        assert (
            conn.execute(sa.select(leases).where(leases.c.request_id == request_id)).first() is None
        )
        # the withdrawal itself travels on to Madrid through the pipeline
        assert requests_store.get(conn, withdrawal_id).executing_authority_id == MADRID
        assert legal_workflow.pending_tasks(conn, withdrawal_id) == ["rogatory.translate"]
    assert {c["status"] for c in clocks(rt, request_id, day(2)).values()} == {"stopped"}
    with pytest.raises(Conflict, match="withdrawn"):  # no new lease, so no more retrieval
        retrieve(rt, request_id, day(2))
    evidence = legal_workflow.issue_withdrawal_evidence(rt.engine, rt.sealer(), request_id)
    assert evidence is not None
    assert evidence.kind == evidences.WITHDRAWAL
    again = legal_workflow.issue_withdrawal_evidence(rt.engine, rt.sealer(), request_id)
    assert again is not None
    assert again.sha256 == evidence.sha256
    assert legal_notices.sweep_clocks(rt.engine, rt.sealer(), now=day(60)) == 0
    with pytest.raises(IntakeRefused) as late:
        answer(rt, request_id, "acknowledgement", day(3))
    assert late.value.code == "request-final"
