"""Counterpart exchange: inbox, leases, package retrieval, signed acknowledgements, timeline.

An authority sees only requests addressed to it; any other id answers NotFound with the
same message as a missing one, so ids of other authorities' requests cannot be probed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gateway.audit.entries import decode_entry, format_time
from gateway.crypto import CryptoError, TrustConfig, verify_signed
from gateway.domain import json_limits
from gateway.domain.errors import Conflict, DomainError, NotFound
from gateway.domain.states import Event, State
from gateway.persistence import authorities_store, exchange_store, requests_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.blobs import BlobStore, PreparedObject
from gateway.persistence.db import read_transaction, transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services import evidences, legal_clocks, translation_review
from gateway.services.evidences import Evidence, Sealer
from gateway.services.lifecycle import advance, record
from gateway.services.tokens import Caller

log = logging.getLogger(__name__)

NOT_FOUND_MESSAGE = "no such request"
ACK_FORMAT = "rogatory.acknowledgement/1"
MAX_PAGE = 100


class LeaseRequired(DomainError):
    code = "lease-required"
    status = 409


class InvalidAcknowledgement(DomainError):
    status = 422

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class Lease:
    request_id: str
    lease_token: str
    expires_at: datetime


# --- visibility --------------------------------------------------------------------------


def _addressed_to(conn: Connection, caller: Caller, request_id: str) -> RequestRow:
    """The request if the caller's authority executes it; NotFound otherwise (same body)."""
    try:
        request = requests_store.get(conn, request_id)
    except NotFound:
        raise NotFound(NOT_FOUND_MESSAGE) from None
    if request.executing_authority_id != caller.authority_id:
        raise NotFound(NOT_FOUND_MESSAGE)
    return request


def _party_to(conn: Connection, caller: Caller, request_id: str) -> RequestRow:
    try:
        request = requests_store.get(conn, request_id)
    except NotFound:
        raise NotFound(NOT_FOUND_MESSAGE) from None
    if not request.is_party(caller.authority_id):
        raise NotFound(NOT_FOUND_MESSAGE)
    return request


# --- cursors -----------------------------------------------------------------------------


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


class BadCursor(DomainError):
    code = "bad-cursor"
    status = 400


MAX_CURSOR_CHARS = 512
MAX_CURSOR_INDEX = 2**62


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise BadCursor("the cursor is not one this API issued")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json_limits.loads(base64.urlsafe_b64decode(padded.encode("ascii")), 4)
    except (ValueError, UnicodeError):
        raise BadCursor("the cursor is not one this API issued") from None
    if not isinstance(values, list) or not values:
        raise BadCursor("the cursor is not one this API issued")
    return values


def _page_limit(limit: int | None) -> int:
    return max(1, min(MAX_PAGE, limit or 50))


# --- inbox and leases --------------------------------------------------------------------


def list_inbox(
    engine: Engine,
    caller: Caller,
    *,
    cursor: str | None = None,
    limit: int | None = None,
    now: datetime | None = None,
    blobs: BlobStore | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    now = now or datetime.now(UTC)
    limit = _page_limit(limit)
    after = None
    values = decode_cursor(cursor)
    if values is not None:
        try:
            after = (datetime.fromisoformat(str(values[0])), str(values[1]))
        except (ValueError, IndexError):
            raise BadCursor("the cursor is not one this API issued") from None
    with transaction(engine) as conn:
        rows = exchange_store.inbox(conn, caller.authority_id, now, after=after, limit=limit + 1)
        versions = (
            {  # issue 19: a reviewed translation version shows in the inbox
                row["id"]: [1, *translation_review.reviewed_versions(conn, blobs, row["id"])]
                for row in rows[:limit]
            }
            if blobs is not None
            else {}
        )
    items = [
        {
            "request_id": row["id"],
            "request_type": row["request_type"],
            "issuing_authority": row["issuing_authority_id"],
            "state": row["state"],
            "message_sha256": row["message_sha256"],
            "received_at": _utc(row["received_at"]).isoformat(),
            "deadline": row["deadline"].isoformat() if row["deadline"] else None,
            **({"translation_versions": versions[row["id"]]} if row["id"] in versions else {}),
        }
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        # the stored value as the database returned it, so the next page compares like for like
        next_cursor = encode_cursor([last["received_at"].isoformat(), last["id"]])
    return items, next_cursor


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def take_lease(
    engine: Engine,
    caller: Caller,
    request_id: str,
    *,
    lease_seconds: int,
    now: datetime | None = None,
) -> Lease:
    """Lease an item for `lease_seconds`; Conflict when another consumer holds it."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(24)
    expires_at = now + timedelta(seconds=lease_seconds)
    try:
        with transaction(engine) as conn:
            request = _addressed_to(conn, caller, request_id)
            if request.state.value not in exchange_store.INBOX_STATES:
                raise Conflict(f"the request is {request.state.value}, not ready to pull")
            if not exchange_store.acquire_lease(
                conn, request_id, caller.authority_id, _digest(token), now, expires_at
            ):
                raise Conflict("the item is leased by another consumer")
            record(
                conn,
                request,
                "leased",
                actor=f"client:{caller.client_id}",
                detail={"until": format_time(expires_at)},
            )
    except IntegrityError:  # a concurrent INSERT of the same lease won
        raise Conflict("the item is leased by another consumer") from None
    return Lease(request_id, token, expires_at)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_lease(
    conn: Connection, caller: Caller, request_id: str, lease_token: str | None, now: datetime
) -> None:
    lease = exchange_store.get_lease(conn, request_id)
    if (
        lease is None
        or not lease_token
        or lease.expires_at <= now
        or lease.authority_id != caller.authority_id
        or not secrets.compare_digest(lease.token_sha256, _digest(lease_token))
    ):
        raise LeaseRequired("hold a live lease on this item (Lease-Token header) to retrieve it")


@dataclass(frozen=True)
class PackageStream:
    """A sealed package on its way out: decrypted from the store as it is consumed."""

    size: int
    sha256: str
    chunks: Iterator[bytes]


def retrieve_package(
    engine: Engine,
    blobs: BlobStore,
    caller: Caller,
    request_id: str,
    lease_token: str | None,
    sealer: Sealer,
    *,
    now: datetime | None = None,
    version: int | None = None,
) -> PackageStream:
    """The sealed package; the first retrieval moves AVAILABLE -> RETRIEVED with evidence.

    The latest reviewed translation version by default, `version` (1 = machine) if given.
    Authorisation and the data key come from one read snapshot; the state change is a
    short write transaction (compare-and-set); the package itself is read and decrypted
    piece by piece while the response is sent, inside no transaction.
    """
    now = now or datetime.now(UTC)
    with read_transaction(engine) as conn:
        request = _addressed_to(conn, caller, request_id)
        _check_lease(conn, caller, request_id, lease_token, now)
        stored = translation_review.package_object(conn, blobs, request_id, version)
        if stored is None:
            raise Conflict("the request has no delivery package yet")
        chunks = blobs.open_plaintext(conn, stored.id)
    if request.state is State.AVAILABLE:
        with transaction(engine) as conn:
            request = _addressed_to(conn, caller, request_id)
            _check_lease(conn, caller, request_id, lease_token, now)
            if request.state is State.AVAILABLE:
                advance(
                    conn,
                    request,
                    Event.RETRIEVE,
                    actor=f"client:{caller.client_id}",
                    artefacts={"package": stored.sha256},
                )
                request = requests_store.get(conn, request_id)
                evidence = evidences.issue_once(
                    conn, request, evidences.RETRIEVAL, sealer, audit_event="retrieved", now=now
                )
                legal_clocks.on_received(conn, request, evidence.sha256, now)
    return PackageStream(stored.size, stored.sha256, chunks)


# --- acknowledgement ---------------------------------------------------------------------


def acknowledge(
    engine: Engine,
    blobs: BlobStore,
    caller: Caller,
    request_id: str,
    signed_ack: bytes,
    trust: TrustConfig,
    sealer: Sealer,
    *,
    now: datetime | None = None,
) -> Evidence:
    """Accept the counterpart's signed acknowledgement; ends the lease; ACKNOWLEDGED."""
    now = now or datetime.now(UTC)
    with read_transaction(engine) as conn:
        request = _addressed_to(conn, caller, request_id)
    content = check_acknowledgement(engine, request, signed_ack, trust, now=now)
    prepared = blobs.prepare(  # encrypted and synced before the write transaction
        request_id=request_id,
        kind="acknowledgement",
        name="acknowledgement.p7s",
        media_type="application/pkcs7-mime",
        data=signed_ack,
    )
    try:
        return _record_acknowledgement(
            engine, blobs, caller, request_id, prepared, content, sealer, now
        )
    except BaseException:
        prepared.discard()
        raise


def _record_acknowledgement(
    engine: Engine,
    blobs: BlobStore,
    caller: Caller,
    request_id: str,
    prepared: PreparedObject,
    content: dict[str, Any],
    sealer: Sealer,
    now: datetime,
) -> Evidence:
    with transaction(engine) as conn:
        request = _addressed_to(conn, caller, request_id)
        if request.state is State.ACKNOWLEDGED:
            existing = evidences.find(conn, request_id, evidences.ACKNOWLEDGEMENT)
            if existing is not None:
                prepared.discard()
                return existing
        if request.state is not State.RETRIEVED:
            raise Conflict(
                f"the request is {request.state.value}; retrieve it before acknowledging"
            )
        stored = blobs.record(conn, prepared)
        advance(
            conn,
            request,
            Event.ACKNOWLEDGE,
            actor=f"client:{caller.client_id}",
            artefacts={"acknowledgement": stored.sha256},
            detail={"received": bool(content.get("received"))},
        )
        exchange_store.release_lease(conn, request_id)
        request = requests_store.get(conn, request_id)
        return evidences.issue(
            conn,
            request,
            evidences.ACKNOWLEDGEMENT,
            sealer,
            audit_event="acknowledged",
            detail={"acknowledgement_sha256": stored.sha256},
            now=now,
        )


def check_acknowledgement(
    engine: Engine, request: RequestRow, signed_ack: bytes, trust: TrustConfig, *, now: datetime
) -> dict[str, Any]:
    """Verify a counterpart acknowledgement (CMS SignedData over small JSON); returns it."""
    try:
        verified = verify_signed(signed_ack, trust, now=now)
    except CryptoError as exc:
        log.warning("acknowledgement refused", extra={"code": exc.code, "reason": exc.detail})
        raise InvalidAcknowledgement(
            exc.code, "the acknowledgement's signature was refused"
        ) from None
    with read_transaction(engine) as conn:
        registered = authorities_store.is_registered_signer(
            conn, request.executing_authority_id, verified.signer
        )
    if not registered:
        raise InvalidAcknowledgement(
            "signer-not-authorised", "the signer is not registered for the executing authority"
        )
    try:
        content = json_limits.loads(verified.content)
    except ValueError:
        raise InvalidAcknowledgement("malformed", "the acknowledgement is not JSON") from None
    if (
        not isinstance(content, dict)
        or content.get("request_id") != request.id
        or content.get("message_sha256") != request.message_sha256
        or content.get("received") is not True
    ):
        raise InvalidAcknowledgement(
            "acknowledgement-mismatch", "the acknowledgement names another request or message"
        )
    return content


def acknowledgement_content(request_id: str, message_sha256: str, now: datetime) -> bytes:
    """The JSON a counterpart signs to acknowledge a package (used by clients and tests)."""
    return json.dumps(
        {
            "format": ACK_FORMAT,
            "request_id": request_id,
            "message_sha256": message_sha256,
            "received": True,
            "time": now.astimezone(UTC).isoformat(),
        },
        sort_keys=True,
    ).encode("utf-8")


# --- timeline and receipts ---------------------------------------------------------------


def request_events(
    engine: Engine,
    caller: Caller,
    request_id: str,
    *,
    cursor: str | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    limit = _page_limit(limit)
    values = decode_cursor(cursor)
    after = -1
    if values is not None:
        if not isinstance(values[0], int) or not 0 <= values[0] < MAX_CURSOR_INDEX:
            raise BadCursor("the cursor is not one this API issued")
        after = values[0]
    with transaction(engine) as conn:
        _party_to(conn, caller, request_id)
        rows = conn.execute(
            sa.select(audit_leaf.c.idx, audit_leaf.c.entry)
            .where(audit_leaf.c.request_id == request_id, audit_leaf.c.idx > after)
            .order_by(audit_leaf.c.idx)
            .limit(limit + 1)
        ).all()
    events = []
    for idx, data in rows[:limit]:
        entry = decode_entry(bytes(data))
        events.append(
            {
                "index": int(idx),
                "event": entry.event,
                "actor": entry.actor,
                "time": format_time(entry.time),
                "artefacts": dict(entry.artefacts),
                "detail": dict(entry.detail),
            }
        )
    next_cursor = encode_cursor([int(rows[limit - 1][0])]) if len(rows) > limit else None
    return events, next_cursor


def request_receipts(
    engine: Engine, caller: Caller, request_id: str, log_public_key: Any
) -> list[dict[str, Any]]:
    with transaction(engine) as conn:
        _party_to(conn, caller, request_id)
        return evidences.receipts(conn, request_id, log_public_key)
