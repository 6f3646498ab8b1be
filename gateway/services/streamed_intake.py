"""A streamed submission (domain/streamed_submission.py) received in one pass.

1. The announcement is decrypted and verified (signature, chain, revocation, freshness,
   signer registered for the issuing authority it names, this gateway) before one byte
   of an attachment is stored. A refusal there is anonymous: the bounded rejection
   record only, nothing in the audit log.
2. Each announced attachment is decrypted into an at-rest staging object (the upload
   path's machinery: GCM checked, plaintext hashed on a helper thread, at-rest
   encrypted, synced), its size capped by the announcement.
3. The sealed submission goes through normal intake with these objects as its
   AttachmentBinding: its manifest's signer and message id must be the announcement's,
   and each large attachment of the manifest must be one streamed, same name, media
   type, size and SHA-256. The objects become the request's in intake's transaction.

On any refusal or failure the staged objects are removed (a crash leaves staging
files and unrecorded object files, which orphan_files sweeps). A message id already
taken is answered by intake (duplicate or replayed) without storing the attachments.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO, NoReturn

import sqlalchemy as sa
from cryptography import x509
from sqlalchemy.engine import Engine

from gateway.config import Settings
from gateway.crypto import (
    CryptoError,
    RecipientKey,
    TrustConfig,
    decrypt_envelope_mode,
    open_attachment_stream,
    verify_decrypted,
)
from gateway.domain.streamed_submission import (
    FRAME_HEADER_SIZE,
    MAX_ANNOUNCEMENT_FRAME,
    MAX_PADDING,
    MAX_STREAMED_ATTACHMENTS,
    TAG_ANNOUNCEMENT,
    TAG_ATTACHMENT,
    TAG_SUBMISSION,
    AnnouncedAttachment,
    Announcement,
    MalformedStream,
    parse_announcement,
    parse_frame_header,
)
from gateway.domain.submission import Submission
from gateway.persistence import authorities_store, requests_store
from gateway.persistence.blobs import BlobStore, PreparedObject, StagedObject
from gateway.persistence.db import read_transaction
from gateway.persistence.tables import stored_objects
from gateway.services import rejections
from gateway.services.attachments import REFUSED_MESSAGE
from gateway.services.intake import IntakeRefused, refusal_status

log = logging.getLogger(__name__)

ENDPOINT = "streamed"
ENVELOPE_OVERHEAD = 1024 * 1024  # recipient infos, BER segment headers, GCM tag
_CRYPTO_MESSAGE = "the announcement was refused by the gateway's cryptographic checks"
_DRAIN_PIECE = 1024 * 1024


def envelope_bound(size: int) -> int:
    """The longest AuthEnvelopedData a genuine attachment of ``size`` bytes needs (BER
    segment headers add < 1/64 of the plaintext)."""
    return size + size // 64 + ENVELOPE_OVERHEAD


def body_limit(settings: Settings) -> int:
    """The longest body the gateway reads for a streamed submission."""
    attachment = FRAME_HEADER_SIZE + envelope_bound(settings.max_attachment_bytes)
    return (
        2 * FRAME_HEADER_SIZE
        + MAX_ANNOUNCEMENT_FRAME
        + MAX_STREAMED_ATTACHMENTS * attachment
        + settings.max_submission_bytes
        + MAX_PADDING
    )


class _Frame:
    """At most ``length`` bytes of the body: one frame's payload."""

    def __init__(self, body: BinaryIO, length: int) -> None:
        self._body, self._left = body, length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._body.read(self._left if size < 0 else min(size, self._left))
        if not data:
            raise MalformedStream("the body ended inside a frame")
        self._left -= len(data)
        return data

    def read_all(self) -> bytes:
        pieces = []
        while self._left > 0:
            pieces.append(self.read(self._left))
        return b"".join(pieces)

    def drain(self) -> None:
        while self._left > 0:
            self.read(_DRAIN_PIECE)


def _exactly(body: BinaryIO, size: int) -> bytes:
    return _Frame(body, size).read_all()


def _next_frame(body: BinaryIO, tag: bytes, most: int) -> _Frame:
    got, length = parse_frame_header(_exactly(body, FRAME_HEADER_SIZE))
    if got != tag:
        raise MalformedStream(f"expected a frame {tag!r}, got {got!r}")
    if length > most:
        raise IntakeRefused(
            "request-entity-too-large", "a part of the body is longer than allowed", status=413
        )
    return _Frame(body, length)


@dataclass
class _Received:
    announced: AnnouncedAttachment
    staged: StagedObject
    sha256: str


@dataclass
class StreamedAttachments:
    """The announced attachments as staged; intake's AttachmentBinding."""

    request_id: str
    announcement: Announcement
    signer: x509.Certificate
    received: list[_Received] = field(default_factory=list)
    stored: bool = True  # False: the message id was taken, the attachments were not kept

    def bind(self, submission: Submission, signer: x509.Certificate) -> list[PreparedObject]:
        same_signer = authorities_store.fingerprint(signer) == authorities_store.fingerprint(
            self.signer
        )
        if submission.message_id != self.announcement.message_id or not same_signer:
            raise IntakeRefused(
                "announcement-mismatch",
                "the submission's signer or message id differs from the announcement's",
                status=422,
            )
        large = {ref.name: ref for ref in submission.attachments if ref.inline is None}
        if not self.stored or set(large) != {item.announced.name for item in self.received}:
            raise IntakeRefused(
                "announcement-mismatch",
                "the manifest's large attachments differ from the announced ones",
                status=422,
            )
        for item in self.received:
            ref = large[item.announced.name]
            if (
                ref.size != item.staged.size
                or ref.media_type != item.announced.media_type
                or not hmac.compare_digest(ref.sha256, item.sha256)
            ):
                log.warning(
                    "streamed attachment differs from the signed manifest",
                    extra={"request_id": self.request_id},
                )
                raise IntakeRefused("attachment-refused", REFUSED_MESSAGE, status=422)
        return [PreparedObject(item.staged, item.sha256) for item in self.received]

    def discard(self) -> None:
        for item in self.received:
            item.staged.discard()

    def discard_unrecorded(self, engine: Engine) -> None:
        """Remove the objects no committed row names (an answer other than a new request;
        a lost commit that did land keeps its objects)."""
        ids = [item.staged.id for item in self.received]
        if not ids:
            return
        with read_transaction(engine) as conn:
            recorded = set(
                conn.execute(
                    sa.select(stored_objects.c.id).where(stored_objects.c.id.in_(ids))
                ).scalars()
            )
        for item in self.received:
            if item.staged.id not in recorded:
                item.staged.discard()


@dataclass(frozen=True)
class StreamedBody:
    """What the body carried: the sealed submission and the staged attachments."""

    sealed: bytes
    attachments: StreamedAttachments


def receive_stream(
    engine: Engine,
    blobs: BlobStore,
    settings: Settings,
    body: BinaryIO,
    *,
    recipient_keys: list[RecipientKey],
    trust: TrustConfig,
    client: str = "unknown",
    now: datetime | None = None,
) -> StreamedBody:
    """Read the whole body: the verified announcement, the attachments into staging, the
    sealed submission. Raises IntakeRefused (or the body's own errors) having removed
    whatever it staged."""
    now = now or datetime.now(UTC)
    try:
        frame = _next_frame(body, TAG_ANNOUNCEMENT, MAX_ANNOUNCEMENT_FRAME)
        announcement_data = frame.read_all()
    except MalformedStream as exc:
        _refuse_anonymous(engine, "malformed", exc.message, client, None)
    announcement, signer = _verified_announcement(
        engine, settings, announcement_data, recipient_keys, trust, now, client
    )
    with read_transaction(engine) as conn:
        taken = requests_store.find_by_message_id(conn, announcement.message_id) is not None
    attachments = StreamedAttachments(str(uuid.uuid4()), announcement, signer, stored=not taken)
    try:
        for announced in announcement.attachments:
            frame = _next_frame(body, TAG_ATTACHMENT, envelope_bound(announced.size))
            if taken:  # intake answers as for a duplicate; the bytes are not kept
                frame.drain()
                continue
            attachments.received.append(
                _receive_attachment(
                    engine,
                    blobs,
                    attachments.request_id,
                    announced,
                    frame,
                    keys=recipient_keys,
                    client=client,
                )
            )
        sealed = _next_frame(body, TAG_SUBMISSION, settings.max_submission_bytes).read_all()
        padding = body.read(MAX_PADDING + 1)
        if len(padding) > MAX_PADDING or padding.count(0) != len(padding):
            raise MalformedStream("only zero padding may follow the sealed submission")
    except MalformedStream as exc:
        attachments.discard()
        log.warning("streamed submission refused", extra={"code": exc.code, "reason": exc.message})
        rejections.note(engine, ENDPOINT, exc.code, client=client)
        raise IntakeRefused(exc.code, exc.message, status=400) from None
    except BaseException:
        attachments.discard()
        raise
    return StreamedBody(sealed, attachments)


def _receive_attachment(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    announced: AnnouncedAttachment,
    frame: _Frame,
    *,
    keys: list[RecipientKey],
    client: str,
) -> _Received:
    staged = blobs.stage(
        request_id=request_id,
        kind="attachment",
        name=announced.name,
        media_type=announced.media_type,
    )
    try:
        # the announced size is the cap: a longer stream is cut off as soon as it overflows
        result = open_attachment_stream(frame, keys, staged.write, max_size=announced.size)  # type: ignore[arg-type]
        if result.size != announced.size:
            raise CryptoError("malformed", "attachment size differs from the announcement")
        staged.finish()  # synced before intake's transaction, as intake's own objects
    except CryptoError as exc:
        staged.discard()
        log.warning(
            "streamed attachment refused", extra={"code": exc.code, "reason": exc.detail[:300]}
        )
        rejections.note(engine, ENDPOINT, exc.code, client=client)
        raise IntakeRefused("attachment-refused", REFUSED_MESSAGE, status=422) from None
    except BaseException:
        staged.discard()
        raise
    return _Received(announced, staged, result.sha256_hex)


def _verified_announcement(
    engine: Engine,
    settings: Settings,
    data: bytes,
    keys: list[RecipientKey],
    trust: TrustConfig,
    now: datetime,
    client: str,
) -> tuple[Announcement, x509.Certificate]:
    envelope_sha256 = hashlib.sha256(data).hexdigest()
    try:
        inner, mode = decrypt_envelope_mode(data, keys, allow_legacy_cbc=False)
        verified = verify_decrypted(inner, mode, trust, now=now)
        announcement = parse_announcement(verified.content)
    except CryptoError as exc:
        _refuse_anonymous(engine, exc.code, exc.detail, client, envelope_sha256)
    except MalformedStream as exc:
        _refuse_anonymous(engine, exc.code, exc.message, client, envelope_sha256)
    if announcement.gateway != settings.gateway_id:
        _refuse_anonymous(
            engine, "wrong-recipient", "announcement for another gateway", client, envelope_sha256
        )
    with read_transaction(engine) as conn:
        registered = authorities_store.is_registered_signer(
            conn, announcement.issuing_authority, verified.signer
        )
    if not registered:
        _refuse_anonymous(
            engine,
            "signer-not-authorised",
            "announcement signer not registered for its issuing authority",
            client,
            envelope_sha256,
        )
    if any(a.size > settings.max_attachment_bytes for a in announcement.attachments):
        raise IntakeRefused(
            "attachment-too-large", "the attachment exceeds the gateway's limit", status=413
        )
    return announcement, verified.signer


def _refuse_anonymous(
    engine: Engine, code: str, detail: str, client: str, envelope_sha256: str | None
) -> NoReturn:
    """Before the announcement verified: the bounded rejection record, no audit entry."""
    log.warning(
        "streamed submission refused",
        extra={"code": code, "reason": detail[:300], "envelope_sha256": envelope_sha256},
    )
    rejections.note(engine, ENDPOINT, code, client=client, envelope_sha256=envelope_sha256)
    public = _CRYPTO_MESSAGE if code in rejections.ANONYMOUS_CODES else detail
    raise IntakeRefused(code, public, status=refusal_status(code))
