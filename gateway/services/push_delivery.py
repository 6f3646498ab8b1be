"""Push delivery: POST the sealed package to an authority's endpoint, want a signed receipt.

One call of `deliver_once` is one attempt, recorded in `delivery_attempts` and audited
as `delivery_attempt`. The peer must answer 200 with its signed acknowledgement (CMS
SignedData over the same JSON as a pull acknowledgement); only then is the request
RETRIEVED -> ACKNOWLEDGED with Delivery evidence. After the last failed attempt the
gateway raises NonDelivery evidence and logs an error (the alert). Pull-mode authorities
with a webhook get a gateway-signed "new item" notification, never the content.
The httpx transport is a parameter so tests and deployments can swap the network.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.engine import Engine

from gateway.audit.entries import canonical_json
from gateway.crypto import TrustConfig, sign
from gateway.domain.errors import Conflict, DomainError
from gateway.domain.states import Event, State
from gateway.persistence import authorities_store, exchange_store, requests_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import read_transaction, transaction
from gateway.services import bounded_http, evidences, legal_clocks
from gateway.services.evidences import Sealer
from gateway.services.exchange import check_acknowledgement
from gateway.services.lifecycle import advance, record
from gateway.services.outbound import OutboundPolicy, guarded

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
NOTIFICATION_FORMAT = "rogatory.notification/1"

DELIVERED = "delivered"
FAILED = "failed"
FAILED_FINAL = "failed-final"
ALREADY_DONE = "already-delivered"
NOTIFIED = "notified"
NOTHING_TO_DO = "not-applicable"


@dataclass(frozen=True)
class PushResult:
    outcome: str
    attempt: int

    @property
    def retry(self) -> bool:
        return self.outcome == FAILED


def backoff(attempt: int) -> timedelta:
    """Wait before attempt `attempt + 1`: 30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempt - 1)))


def deliver_once(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    *,
    sealer: Sealer,
    trust: TrustConfig,
    attempt: int,
    max_attempts: int = MAX_ATTEMPTS,
    transport: httpx.BaseTransport | None = None,
    timeout: float = bounded_http.DEFAULT_DEADLINE_SECONDS,
    policy: OutboundPolicy | None = None,
) -> PushResult:
    # every outbound call goes only to an address the policy allows (services/outbound.py)
    transport = guarded(policy, transport)
    with read_transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        authority = authorities_store.get(conn, request.executing_authority_id)
        if request.state is not State.AVAILABLE:
            return PushResult(ALREADY_DONE, attempt)
        stored = blobs.find(conn, request_id, "package")
        pull_only = "pull-only" in legal_clocks.handling_of(conn, request_id)
        # decrypted piece by piece while it is sent, after this snapshot ended
        package = (
            (stored.size, blobs.open_plaintext(conn, stored.id))
            if stored and not pull_only
            else None
        )
    if pull_only or not authority.push_endpoint:
        # a pull-only request is never pushed: at most a content-free "new item" notice
        if authority.webhook_url:
            return _notify(engine, request_id, authority.webhook_url, sealer, attempt, transport)
        return PushResult(NOTHING_TO_DO, attempt)
    if package is None:
        raise Conflict(f"request {request_id} has no delivery package")
    try:
        receipt = _post_package(
            authority.push_endpoint, request_id, package, transport=transport, timeout=timeout
        )
        check_acknowledgement(engine, request, receipt, trust, now=datetime.now(UTC))
    except httpx.HTTPError as exc:
        return _failed(engine, request_id, sealer, attempt, max_attempts, type(exc).__name__)
    except _PeerRefused as exc:
        return _failed(engine, request_id, sealer, attempt, max_attempts, str(exc))
    except DomainError as exc:  # the receipt was refused
        return _failed(engine, request_id, sealer, attempt, max_attempts, exc.code)
    return _delivered(engine, blobs, request_id, receipt, sealer, attempt)


def _post_package(
    url: str,
    request_id: str,
    package: tuple[int, Iterator[bytes]],
    *,
    transport: httpx.BaseTransport | None,
    timeout: float,
) -> bytes:
    """`timeout` is the attempt's total deadline; the answer is capped at 64 KiB."""
    size, chunks = package
    headers = {
        "Content-Type": "application/pkcs7-mime",
        "Content-Length": str(size),  # streamed, yet not chunked: peers know the size
        "Rogatory-Request-Id": request_id,
    }
    response = bounded_http.post(
        url, chunks, headers=headers, transport=transport, deadline=timeout
    )
    if response.status_code != 200:
        raise _PeerRefused(f"http-{response.status_code}")
    return response.content


class _PeerRefused(Exception):
    pass


def _failed(
    engine: Engine, request_id: str, sealer: Sealer, attempt: int, max_attempts: int, detail: str
) -> PushResult:
    final = attempt >= max_attempts
    outcome = FAILED_FINAL if final else FAILED
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        exchange_store.add_attempt(conn, request_id, attempt, outcome, detail, datetime.now(UTC))
        record(
            conn,
            request,
            "delivery_attempt",
            actor="gateway:push",
            detail={"attempt": attempt, "outcome": outcome, "reason": detail[:64]},
        )
        if final:
            evidences.issue_once(
                conn, request, evidences.NON_DELIVERY, sealer, audit_event="delivery_attempt"
            )
    if final:
        log.error(
            "push delivery failed for good",
            extra={"request_id": request_id, "attempts": attempt, "reason": detail},
        )
    else:
        log.warning("push delivery attempt failed", extra={"request_id": request_id})
    return PushResult(outcome, attempt)


def _delivered(
    engine: Engine, blobs: BlobStore, request_id: str, receipt: bytes, sealer: Sealer, attempt: int
) -> PushResult:
    prepared = blobs.prepare(  # encrypted and synced before the write transaction
        request_id=request_id,
        kind="acknowledgement",
        name="acknowledgement.p7s",
        media_type="application/pkcs7-mime",
        data=receipt,
    )
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state is not State.AVAILABLE:
            prepared.discard()
            return PushResult(ALREADY_DONE, attempt)
        advance(conn, request, Event.RETRIEVE, actor="gateway:push")
        request = requests_store.get(conn, request_id)
        stored = blobs.record(conn, prepared)
        exchange_store.add_attempt(conn, request_id, attempt, DELIVERED, "", datetime.now(UTC))
        record(
            conn,
            request,
            "delivery_attempt",
            actor="gateway:push",
            artefacts={"acknowledgement": stored.sha256},
            detail={"attempt": attempt, "outcome": DELIVERED},
        )
        delivery = evidences.issue(
            conn, request, evidences.DELIVERY, sealer, audit_event="delivery_attempt"
        )
        legal_clocks.on_received(conn, request, delivery.sha256, datetime.now(UTC))
        advance(
            conn,
            request,
            Event.ACKNOWLEDGE,
            actor="gateway:push",
            artefacts={"acknowledgement": stored.sha256},
        )
        request = requests_store.get(conn, request_id)
        evidences.issue(
            conn,
            request,
            evidences.ACKNOWLEDGEMENT,
            sealer,
            audit_event="acknowledged",
            detail={"acknowledgement_sha256": stored.sha256},
        )
    log.info("push delivery succeeded", extra={"request_id": request_id, "attempt": attempt})
    return PushResult(DELIVERED, attempt)


def _notify(
    engine: Engine,
    request_id: str,
    webhook_url: str,
    sealer: Sealer,
    attempt: int,
    transport: httpx.BaseTransport | None,
) -> PushResult:
    """A signed "new item" notice for pull-mode authorities: ids only, never content."""
    with transaction(engine) as conn:
        if any(a.outcome == NOTIFIED for a in exchange_store.attempts_of(conn, request_id)):
            return PushResult(ALREADY_DONE, attempt)
    notice = canonical_json(
        {
            "format": NOTIFICATION_FORMAT,
            "event": "new-item",
            "gateway": sealer.gateway_id,
            "request_id": request_id,
            "time": datetime.now(UTC).isoformat(),
        }
    )
    try:
        response = bounded_http.post(
            webhook_url,
            sign(notice, sealer.key, sealer.cert),
            headers={"Content-Type": "application/pkcs7-mime"},
            transport=transport,
            deadline=30.0,
        )
        ok = 200 <= response.status_code < 300
        detail = f"http-{response.status_code}"
    except httpx.HTTPError as exc:
        ok, detail = False, type(exc).__name__
    with transaction(engine) as conn:
        outcome = NOTIFIED if ok else FAILED
        exchange_store.add_attempt(conn, request_id, attempt, outcome, detail, datetime.now(UTC))
    return PushResult(outcome, attempt)


def push_with_retries(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    *,
    sealer: Sealer,
    trust: TrustConfig,
    max_attempts: int = MAX_ATTEMPTS,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    policy: OutboundPolicy | None = None,
) -> PushResult:
    """Attempt until delivered or `max_attempts` failed, sleeping `backoff` in between.

    Workers use Celery retries instead (`workers.delivery`); this loop serves the CLI,
    benchmarks and tests, which inject `sleep`.
    """
    result = PushResult(NOTHING_TO_DO, 0)
    for attempt in range(1, max_attempts + 1):
        result = deliver_once(
            engine,
            blobs,
            request_id,
            sealer=sealer,
            trust=trust,
            attempt=attempt,
            max_attempts=max_attempts,
            transport=transport,
            policy=policy,
        )
        if not result.retry:
            return result
        sleep(backoff(attempt).total_seconds())
    return result
