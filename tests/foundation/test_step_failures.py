"""Every step failure is recorded; lost workers count as failed attempts; the last
failed attempt is loud (audit, ERROR log, signed RelayREMMDFailure, issuer notice)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from foundation_support import accept, sealed_submission
from process_support import WorkerProcess, wait_for

from gateway.audit.entries import AuditEntry, decode_entry
from gateway.config import Settings
from gateway.crypto import verify_signed
from gateway.domain.states import Event, State
from gateway.persistence import exchange_store, requests_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.blobs import INLINE_LIMIT
from gateway.persistence.db import transaction
from gateway.persistence.tables import authorities, outbox, requests
from gateway.runtime.container import Runtime, build_runtime
from gateway.services import evidences, step_runs, sweeper, terminal_failure
from gateway.services.steps import fail_step


def _entries(rt: Runtime, request_id: str) -> list[AuditEntry]:
    with transaction(rt.engine) as conn:
        rows = conn.execute(
            sa.select(audit_leaf.c.entry)
            .where(audit_leaf.c.request_id == request_id)
            .order_by(audit_leaf.c.idx)
        ).scalars()
        return [decode_entry(bytes(row)) for row in rows]


def _state(rt: Runtime, request_id: str) -> requests_store.RequestRow:
    with transaction(rt.engine) as conn:
        return requests_store.get(conn, request_id)


def test_an_unexpected_error_inside_a_step_is_recorded_with_step_reason_and_attempt(
    make_settings: Callable[..., Settings], start_worker: Callable[..., WorkerProcess]
) -> None:
    settings = make_settings(translation_engine="apertium")
    rt = build_runtime(settings)
    # an attachment above INLINE_LIMIT is a file of the store (a small form is a row)
    notes = b"Witness notes. " * (INLINE_LIMIT // 15 + 1)
    submission = sealed_submission(settings, attachments=[("notes.txt", "text/plain", notes)])
    request_id = accept(rt, submission, flush=False)
    with transaction(rt.engine) as conn:
        attachment = rt.blobs.find(conn, request_id, "attachment")
    assert attachment is not None
    lost = rt.blobs.backend.path(attachment.id)  # type: ignore[attr-defined]  (filesystem)
    lost.unlink()
    lost.mkdir()  # the disk is broken under the object: reading it raises OSError
    start_worker(settings, beat=False)
    from gateway.services.dispatch import flush_outbox

    flush_outbox(rt.engine, rt.sender)
    wait_for(
        lambda: any(e.event == "step_failed" for e in _entries(rt, request_id)),
        what="the failure to be recorded",
    )
    failure = next(e for e in _entries(rt, request_id) if e.event == "step_failed")
    assert failure.detail["step"] == "translate"
    assert failure.detail["error"] == "io-error"
    assert failure.detail["attempt"] == 1
    row = _state(rt, request_id)
    assert (row.state, row.attempts, row.failed_step, row.step_runs) == (
        State.FAILED,
        1,
        "translate",
        0,
    )
    rt.close()


def test_a_step_started_max_runs_times_without_ending_fails_as_one_attempt(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    rt = build_runtime(settings)
    request_id = accept(rt, sealed_submission(settings), flush=False)
    for _ in range(3):  # three runs whose workers died (nothing ended them)
        assert step_runs.begin(rt.engine, request_id, "translate", max_runs=3)
    assert _state(rt, request_id).step_runs == 3
    assert not step_runs.begin(rt.engine, request_id, "translate", max_runs=3)
    row = _state(rt, request_id)
    assert (row.state, row.attempts, row.step_runs) == (State.FAILED, 1, 0)
    failure = [e for e in _entries(rt, request_id) if e.event == "step_failed"]
    assert [(e.detail["error"], e.detail["attempt"]) for e in failure] == [("worker-lost", 1)]
    rt.close()


def test_heartbeats_mark_a_dead_step_for_redo_long_before_the_stall_window(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    rt = build_runtime(settings)
    request_id = accept(rt, sealed_submission(settings), flush=False)
    with transaction(rt.engine) as conn:  # the request's first task already went out
        conn.execute(outbox.update().values(sent_at=datetime.now(UTC)))
    assert step_runs.begin(rt.engine, request_id, "translate", max_runs=3)
    heartbeat = sweeper.DEFAULT_HEARTBEAT
    beating = datetime.now(UTC) + heartbeat
    assert sweeper.sweep(rt.engine, rt.blobs, now=beating) == 0  # alive: left alone
    dead = datetime.now(UTC) + heartbeat * (sweeper.MISSED_BEATS + 1)
    assert dead < datetime.now(UTC) + sweeper.DEFAULT_STALE_AFTER
    assert sweeper.sweep(rt.engine, rt.blobs, now=dead) == 1  # beats stopped: redo it
    assert _state(rt, request_id).heartbeat_at is None
    rt.close()


class _Webhook(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(self.rfile.read(length))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[bytes]]]:
    handler = type("Webhook", (_Webhook,), {"received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler.received
    server.shutdown()
    server.server_close()


def test_the_last_failed_attempt_is_loud_and_signed(
    make_settings: Callable[..., Settings],
    webhook: tuple[str, list[bytes]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, received = webhook
    settings = make_settings()
    rt = build_runtime(settings)
    request_id = accept(rt, sealed_submission(settings), flush=False)
    receipt = evidences.submission_receipt(rt.engine, request_id, rt.sealer())
    with transaction(rt.engine) as conn:
        issuer = requests_store.get(conn, request_id).issuing_authority_id
        conn.execute(authorities.update().where(authorities.c.id == issuer).values(webhook_url=url))
        conn.execute(
            requests.update()
            .where(requests.c.id == request_id)
            .values(state=State.TRANSLATED.value, attempts=terminal_failure.MAX_ATTEMPTS - 1)
        )
    with caplog.at_level(logging.ERROR):
        state = fail_step(
            rt.engine,
            request_id,
            expected=State.TRANSLATED,
            event=Event.FAIL_RENDER,
            step="render",
            error="RenderError",
        )
    assert state is State.FAILED
    assert any(r.message == "request failed for good" for r in caplog.records)
    final = [e for e in _entries(rt, request_id) if e.event == "failed_permanently"]
    assert [(e.detail["step"], e.detail["attempts"]) for e in final] == [("render", 5)]
    assert sweeper.sweep(rt.engine, rt.blobs) == 0  # no more retries
    with transaction(rt.engine) as conn:
        queued = conn.execute(sa.select(outbox.c.task).where(outbox.c.sent_at.is_(None)))
        assert "rogatory.notify_failure" in queued.scalars().all()
    assert terminal_failure.notify_failure(rt.engine, request_id, rt.sealer()) == "failure-notified"
    assert terminal_failure.notify_failure(rt.engine, request_id, rt.sealer()) == "evidence-issued"
    with transaction(rt.engine) as conn:
        stored = exchange_store.evidences_of(conn, request_id)
    assert [e.kind for e in stored] == ["SubmissionAcceptance", "RelayREMMDFailure"]
    trust = rt.keys.trust(allow_stale_crl=False, max_skew_seconds=600)
    body = evidences.verify_evidence(stored[1].body, trust, now=datetime.now(UTC))
    assert body["previous_evidence_sha256"] == receipt.sha256  # chained like the others
    assert body["detail"] == {"step": "render", "attempts": 5}
    assert len(received) == 1  # one notice, with ids only
    notice = json.loads(verify_signed(received[0], trust, now=datetime.now(UTC)).content)
    assert set(notice) == {"format", "event", "gateway", "request_id", "evidence_sha256", "time"}
    assert (notice["event"], notice["request_id"]) == ("request-failed", request_id)
    rt.close()
