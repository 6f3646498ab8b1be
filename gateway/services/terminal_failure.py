"""The last failed attempt is loud: audit entry, ERROR log, signed RelayREMMDFailure
evidence (chained like every other) and a content-free webhook notice to the issuer.

`after_failed_attempt` runs in the failing step's transaction: the audit entry and the
outbox message for `rogatory.notify_failure` commit with the failure itself. The
evidence is signed and the notice sent by that task (the step has no seal key).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
from sqlalchemy.engine import Connection, Engine

from gateway.audit.entries import canonical_json
from gateway.crypto import sign
from gateway.domain.states import State
from gateway.persistence import authorities_store, exchange_store, outbox_store, requests_store
from gateway.persistence.db import transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services import bounded_http, evidences
from gateway.services.evidences import Sealer
from gateway.services.lifecycle import record

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FAILED_FOR_GOOD = "failed_permanently"
NOTICE_FORMAT = "rogatory.notification/1"
NOTIFIED = "failure-notified"
NOTICE_FAILED = "failure-notice-failed"


def is_failed_for_good(request: RequestRow) -> bool:
    return request.state is State.FAILED and request.attempts >= MAX_ATTEMPTS


def after_failed_attempt(
    conn: Connection, request_id: str, step: str, reason: str, attempt: int
) -> None:
    if attempt < MAX_ATTEMPTS:
        return
    request = requests_store.get(conn, request_id)
    record(
        conn,
        request,
        FAILED_FOR_GOOD,
        actor="gateway:pipeline",
        detail={"step": step, "error": reason, "attempts": attempt},
    )
    outbox_store.enqueue(conn, "rogatory.notify_failure", {"request_id": request_id})
    log.error(
        "request failed for good",
        extra={"request_id": request_id, "step": step, "code": reason, "attempts": attempt},
    )


class NoticeNotDelivered(Exception):
    """The issuer's webhook did not take the notice; the task retries."""


def notify_failure(
    engine: Engine,
    request_id: str,
    sealer: Sealer,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 10.0,
) -> str:
    """Issue RelayREMMDFailure once and tell the issuer's webhook (ids only, no content)."""
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if not is_failed_for_good(request):
            return "not-failed"
        evidence = evidences.issue_once(
            conn,
            request,
            evidences.RELAY_FAILURE,
            sealer,
            audit_event=FAILED_FOR_GOOD,
            detail={"step": request.failed_step or "", "attempts": request.attempts},
        )
        issuer = authorities_store.get(conn, request.issuing_authority_id)
        done = any(a.outcome == NOTIFIED for a in exchange_store.attempts_of(conn, request_id))
    if not issuer.webhook_url or done:
        return "evidence-issued"
    notice = canonical_json(
        {
            "format": NOTICE_FORMAT,
            "event": "request-failed",
            "gateway": sealer.gateway_id,
            "request_id": request_id,
            "evidence_sha256": evidence.sha256,
            "time": datetime.now(UTC).isoformat(),
        }
    )
    try:
        response = bounded_http.post(
            issuer.webhook_url,
            sign(notice, sealer.key, sealer.cert),
            headers={"Content-Type": "application/pkcs7-mime"},
            transport=transport,
            deadline=timeout,
        )
        ok, detail = 200 <= response.status_code < 300, f"http-{response.status_code}"
    except httpx.HTTPError as exc:
        ok, detail = False, type(exc).__name__
    with transaction(engine) as conn:
        outcome = NOTIFIED if ok else NOTICE_FAILED
        exchange_store.add_attempt(conn, request_id, 0, outcome, detail, datetime.now(UTC))
    if not ok:
        raise NoticeNotDelivered(detail)
    return NOTIFIED
