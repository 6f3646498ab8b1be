"""Upload capabilities: the random token that lets a sender PUT its large attachments.

The 202 of a submission whose signed manifest lists large attachments carries a fresh
token; only its SHA-256 is stored, bound to the request, expiring after LIFETIME. An
attachment PUT without a live token for its request gets the same 404 as an unknown
message id, so the upload endpoint tells an anonymous caller nothing. A duplicate
submission (a retry that lost its answer) gets a new token beside the old one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gateway.domain.states import State
from gateway.persistence import requests_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import as_utc, transaction
from gateway.persistence.security_tables import upload_capabilities

LIFETIME = timedelta(hours=48)
MAX_TOKEN_CHARS = 100


@dataclass(frozen=True)
class UploadCapability:
    token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_if_awaiting(
    engine: Engine, blobs: BlobStore, request_id: str, *, now: datetime | None = None
) -> UploadCapability | None:
    """A new capability when the request still waits for large attachments, else None."""
    from gateway.services.attachments import missing_attachments, signed_manifest

    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state is not State.VERIFIED:
            return None
        submission = signed_manifest(conn, blobs, request_id)
        if not missing_attachments(conn, blobs, request_id, submission):
            return None
        return issue(conn, request_id, now)


def issue(conn: Connection, request_id: str, now: datetime) -> UploadCapability:
    """A new capability for `request_id`, in the caller's transaction (intake's own, for a
    new submission whose manifest lists large attachments)."""
    token = secrets.token_urlsafe(32)
    conn.execute(upload_capabilities.delete().where(upload_capabilities.c.expires_at < now))
    conn.execute(
        upload_capabilities.insert().values(
            token_sha256=_digest(token), request_id=request_id, expires_at=now + LIFETIME
        )
    )
    return UploadCapability(token, now + LIFETIME)


def allows(conn: Connection, request_id: str, token: str | None, now: datetime) -> bool:
    """True when `token` is a live capability of `request_id` (constant-time compare)."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return False
    digest = _digest(token)
    rows = conn.execute(
        sa.select(upload_capabilities.c.token_sha256, upload_capabilities.c.expires_at).where(
            upload_capabilities.c.request_id == request_id
        )
    ).all()
    found = False
    for stored, expires_at in rows:
        if hmac.compare_digest(stored, digest) and as_utc(expires_at) > now:
            found = True
    return found
