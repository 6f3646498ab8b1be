"""Large attachments: streamed after the signed submission, bound to it by hash.

A submission's signed manifest may list attachments without inline content (name,
media type, size, SHA-256). Their bytes arrive separately, each as one CMS
AuthEnvelopedData (AES-GCM) addressed to the gateway's intake key, at
``PUT /api/v1/submissions/{message_id}/attachments/{name}``.

The upload needs the capability token the submission's 202 returned
(services/upload_capabilities.py): without it every answer is one identical 404, so
message ids cannot be probed. The magistrate's signature over the manifest still
decides what is kept: only the bytes the signer named (size + SHA-256). Until then the
request stays VERIFIED; the last accepted attachment queues the translation.

The plaintext is decrypted straight into an at-rest staging object whose data key
lives only in memory; only after the GCM tag verified and size and hash match the
signed entry is it committed (with an audit entry). Every other outcome discards the
staging object and answers with one opaque refusal; the reason goes to the log and to
the bounded rejection record (services/rejections.py), not to the permanent audit log.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, NoReturn

from sqlalchemy.engine import Connection, Engine

from gateway.config import Settings
from gateway.crypto import CryptoError, RecipientKey, open_attachment_stream, signed_content
from gateway.domain.errors import DomainError
from gateway.domain.states import State
from gateway.domain.submission import AttachmentRef, Submission, parse_submission
from gateway.persistence import outbox_store, requests_store
from gateway.persistence.blobs import BlobStore, StagedObject
from gateway.persistence.db import read_transaction, transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services import rejections, upload_capabilities
from gateway.services.lifecycle import record

log = logging.getLogger(__name__)

REFUSED_MESSAGE = "the attachment was refused by the gateway's checks"
NOT_FOUND_MESSAGE = "no such upload"


class AttachmentRefused(DomainError):
    """An upload the gateway will not keep; `code` is the stable public reason."""

    def __init__(self, code: str, message: str, *, status: int) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True)
class AttachmentAccepted:
    request_id: str
    name: str
    sha256: str
    size: int
    duplicate: bool
    missing: tuple[str, ...]  # manifest attachments still to come; empty: translation queued


def signed_manifest(conn: Connection, blobs: BlobStore, request_id: str) -> Submission:
    """The submission as signed, re-read from the stored SignedData."""
    stored = blobs.find(conn, request_id, "signed-request")
    if stored is None:
        raise AttachmentRefused("unknown-submission", "no such submission", status=404)
    return parse_submission(signed_content(blobs.read(conn, stored.id)))


def missing_attachments(
    conn: Connection, blobs: BlobStore, request_id: str, submission: Submission
) -> tuple[str, ...]:
    present = {obj.name for obj in blobs.list(conn, request_id, "attachment")}
    return tuple(ref.name for ref in submission.attachments if ref.name not in present)


def accept_attachment(
    engine: Engine,
    blobs: BlobStore,
    settings: Settings,
    message_id: str,
    name: str,
    body: BinaryIO,
    *,
    recipient_keys: list[RecipientKey],
    upload_token: str | None = None,
    client: str = "unknown",
) -> AttachmentAccepted:
    """Stream one encrypted attachment from ``body`` into the store, or refuse it.

    Without a live upload capability every answer is the one NOT_FOUND refusal; with
    it, nothing about the request is said before the body matched the signed manifest.
    """
    now = datetime.now(UTC)
    with read_transaction(engine) as conn:
        request = requests_store.find_by_message_id(conn, message_id)
        if request is None or not upload_capabilities.allows(conn, request.id, upload_token, now):
            raise _not_found()
        submission = signed_manifest(conn, blobs, request.id)
        ref = next((r for r in submission.attachments if r.name == name), None)
        if ref is None or ref.inline is not None:
            raise _not_found()
        existing = blobs.find(conn, request.id, "attachment", name)
    if ref.size > settings.max_attachment_bytes:
        raise AttachmentRefused(
            "attachment-too-large", "the attachment exceeds the gateway's limit", status=413
        )
    staged = blobs.stage(
        request_id=request.id, kind="attachment", name=name, media_type=ref.media_type
    )
    try:
        sha256 = _decrypt_into(staged, body, ref, recipient_keys)
    except CryptoError as exc:
        staged.discard()
        _refuse(engine, exc.code, exc.detail, client)
    except BaseException:
        staged.discard()
        raise
    if existing is not None:  # the same bytes again: verified, then answered as a duplicate
        staged.discard()
        with transaction(engine) as conn:
            missing = missing_attachments(conn, blobs, request.id, submission)
        return AttachmentAccepted(request.id, name, existing.sha256, existing.size, True, missing)
    try:
        return _commit(engine, blobs, staged, request, submission, ref, sha256)
    except BaseException:
        staged.discard()
        raise


def _not_found() -> AttachmentRefused:
    # one answer for unknown id, missing or wrong capability, unknown or inline name
    return AttachmentRefused("not-found", NOT_FOUND_MESSAGE, status=404)


def _decrypt_into(
    staged: StagedObject, body: BinaryIO, ref: AttachmentRef, keys: list[RecipientKey]
) -> str:
    # The signed size is the cap: a longer stream is cut off as soon as it overflows.
    result = open_attachment_stream(body, keys, staged.write, max_size=ref.size)
    if result.size != ref.size:
        raise CryptoError("malformed", "attachment size differs from the signed manifest")
    if not hmac.compare_digest(result.sha256_hex, ref.sha256):
        raise CryptoError("malformed", "attachment SHA-256 differs from the signed manifest")
    return result.sha256_hex


def _commit(
    engine: Engine,
    blobs: BlobStore,
    staged: StagedObject,
    request: RequestRow,
    submission: Submission,
    ref: AttachmentRef,
    sha256: str,
) -> AttachmentAccepted:
    with transaction(engine) as conn:
        request = requests_store.get(conn, request.id)
        if request.state is not State.VERIFIED:
            raise AttachmentRefused(
                "not-awaiting-attachments", "this request takes no more uploads", status=409
            )
        stored = staged.commit(conn, sha256=sha256)
        record(
            conn,
            request,
            "attachment_received",
            actor="gateway:attachments",
            artefacts={"attachment": sha256},
            detail={"size": stored.size},
        )
        missing = missing_attachments(conn, blobs, request.id, submission)
        if not missing:
            outbox_store.enqueue(conn, "rogatory.translate", {"request_id": request.id})
    log.info(
        "attachment accepted",
        extra={"request_id": request.id, "size": stored.size, "complete": not missing},
    )
    return AttachmentAccepted(request.id, ref.name, sha256, stored.size, False, missing)


def _refuse(engine: Engine, code: str, detail: str, client: str) -> NoReturn:
    """Count the refusal (bounded record, not the permanent log), raise the opaque answer."""
    log.warning("attachment refused", extra={"code": code, "reason": detail[:300]})
    rejections.note(engine, "attachments", code, client=client)
    raise AttachmentRefused("attachment-refused", REFUSED_MESSAGE, status=422)
