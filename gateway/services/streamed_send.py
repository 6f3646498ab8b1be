"""`rogatory client send`: a submission and its large attachments in one streamed body
(domain/streamed_submission.py), each large file read once.

The announcement (signed and encrypted to the gateway) goes first; each large file is
then read in 1 MiB pieces, encrypted as AuthEnvelopedData into the body as it is read
while a helper thread hashes the same pieces (hashlib and AES release the GIL); the
sealed submission, signed over the hashes just computed, ends the body. Every length is
known before the first byte is sent, so the body goes with a Content-Length: the sealed
submission's is that of a draft signed over placeholder hashes, the difference (an
ECDSA signature varies by a few bytes) made up by zero padding.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from gateway.crypto import EnvelopeWriter, encrypt_envelope, sign
from gateway.crypto.credentials import SigningCredentials
from gateway.crypto.keyfiles import load_certificate
from gateway.domain.streamed_submission import (
    CONTENT_TYPE,
    FRAME_HEADER_SIZE,
    MAX_PADDING,
    TAG_ANNOUNCEMENT,
    TAG_ATTACHMENT,
    TAG_SUBMISSION,
    AnnouncedAttachment,
    build_announcement,
    frame_header,
)
from gateway.domain.submission import AttachmentRef, build_submission
from gateway.services.reference_client import (
    LARGE_TRANSFER_TIMEOUT,
    ClientRefusal,
    GatewayAnswer,
    SealingChoices,
    inline_attachment_ref,
    media_type_of,
    read_into,
    request_json,
)

PIECE = 1024 * 1024
_PLACEHOLDER_SHA256 = "0" * 64
_SLACK = 512  # room for the real seal being a few bytes longer than the draft


@dataclass(frozen=True)
class Submitter:
    """Who signs and to which gateway it is encrypted."""

    credentials: SigningCredentials
    gateway_cert: x509.Certificate
    gateway_id: str


@dataclass
class _Large:
    path: Path
    announced: AnnouncedAttachment
    segments: list[int]
    envelope: EnvelopeWriter
    pending: list[bytes]
    sha256: str = ""

    def envelope_size(self) -> int:
        return self.envelope.total_size(self.segments)


@dataclass(frozen=True)
class StreamedRequest:
    """The body to POST: its length (known up front) and its pieces (made as they go)."""

    length: int
    pieces: Callable[[], Iterator[bytes]]


def send_streamed(
    choices: SealingChoices, *, attach_large: tuple[Path, ...], url: str
) -> GatewayAnswer:
    """Sign, encrypt and send the request file with its attachments in one request; the
    gateway's answer (202 and the receipt, as for ``client submit``)."""
    submitter = Submitter(
        choices.credentials(), load_certificate(choices.gateway_cert), choices.gateway_id
    )
    streamed = streamed_request(
        submitter,
        request_json(choices.request_file),
        choices.message_id,
        attach=choices.attach,
        attach_large=attach_large,
    )
    try:
        response = httpx.post(
            f"{url.rstrip('/')}/api/v1/submissions/streamed",
            content=streamed.pieces(),
            headers={"Content-Type": CONTENT_TYPE, "Content-Length": str(streamed.length)},
            timeout=LARGE_TRANSFER_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise ClientRefusal(f"the gateway ended the transfer: {type(exc).__name__}") from None
    return GatewayAnswer(response.status_code, _json(response))


def streamed_request(
    submitter: Submitter,
    request: Any,
    message_id: str | None,
    *,
    attach: tuple[Path, ...] = (),
    attach_large: tuple[Path, ...],
) -> StreamedRequest:
    """The streamed body for ``request`` (the form's JSON) and its attachments."""
    if not attach_large:
        raise ClientRefusal("give at least one --attach-large file (else use seal + submit)")
    message_id = message_id or f"msg-{uuid.uuid4().hex}"
    created = datetime.now(UTC)
    inline = [inline_attachment_ref(path) for path in attach]
    large = [_large(path, submitter.gateway_cert) for path in attach_large]
    issuing = request.get("issuing_authority") if isinstance(request, dict) else None
    announcement = _seal(
        submitter,
        build_announcement(
            gateway=submitter.gateway_id,
            message_id=message_id,
            created=created,
            issuing_authority=str(issuing),
            attachments=[item.announced for item in large],
        ),
    )

    def sealed_submission(placeholder: bool) -> bytes:
        refs = inline + [
            AttachmentRef(
                item.announced.name,
                item.announced.media_type,
                item.announced.size,
                _PLACEHOLDER_SHA256 if placeholder else item.sha256,
            )
            for item in large
        ]
        content = build_submission(
            gateway=submitter.gateway_id,
            message_id=message_id,
            created=created,
            request=request,
            attachments=refs,
        )
        return _seal(submitter, content)

    slot = len(sealed_submission(placeholder=True)) + _SLACK
    length = (
        FRAME_HEADER_SIZE * (2 + len(large))
        + len(announcement)
        + sum(item.envelope_size() for item in large)
        + slot
    )

    def pieces() -> Iterator[bytes]:
        yield frame_header(TAG_ANNOUNCEMENT, len(announcement)) + announcement
        for item in large:
            yield frame_header(TAG_ATTACHMENT, item.envelope_size())
            yield from _encrypted(item)
        sealed = sealed_submission(placeholder=False)
        padding = slot - len(sealed)
        if not 0 <= padding <= MAX_PADDING:  # cannot happen with RSA or ECDSA signers
            raise ClientRefusal("the sealed submission's length changed unexpectedly")
        yield frame_header(TAG_SUBMISSION, len(sealed)) + sealed + bytes(padding)

    return StreamedRequest(length, pieces)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"status": response.status_code, "detail": response.text[:500]}


def _seal(submitter: Submitter, content: bytes) -> bytes:
    credentials = submitter.credentials
    signed = sign(content, credentials.key, credentials.certificate, extra_certs=credentials.chain)
    return encrypt_envelope(signed, [submitter.gateway_cert])


def _large(path: Path, gateway_cert: x509.Certificate) -> _Large:
    size = path.stat().st_size
    segments = [PIECE] * (size // PIECE) + ([size % PIECE] if size % PIECE else [])
    pending: list[bytes] = []
    envelope = EnvelopeWriter(pending.append, [gateway_cert])  # its header goes to pending
    announced = AnnouncedAttachment(path.name, media_type_of(path), size)
    return _Large(path, announced, segments, envelope, pending)


class _Hasher:
    """SHA-256 of pieces on a helper thread, each piece's buffer given back when hashed:
    the file is read into a few recycled buffers (no fresh, zero-filled allocation per
    MiB), and a buffer is only refilled once the thread is done with it."""

    def __init__(self, buffers: int = 4) -> None:
        self.sha256 = hashlib.sha256()
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(buffers):
            self._free.put(bytearray(PIECE))
        self._work: queue.Queue[memoryview | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="attachment-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (piece := self._work.get()) is not None:
            try:
                if self._error is None:
                    self.sha256.update(piece)
            except BaseException as exc:  # re-raised on the caller's thread
                self._error = exc
            finally:
                self._free.put(piece.obj)  # type: ignore[arg-type]

    def buffer(self) -> bytearray:
        """A buffer the thread no longer reads (waits for one)."""
        if self._error is not None:
            raise self._error
        return self._free.get()

    def put(self, piece: memoryview) -> None:
        """Hash ``piece`` (a view of a ``buffer()``) and give its buffer back after."""
        self._work.put(piece)

    def close(self) -> None:
        self._work.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


def _encrypted(item: _Large) -> Iterator[bytes]:
    """The attachment's envelope piece by piece as the file is read once; its SHA-256
    (item.sha256) is computed on a helper thread meanwhile."""
    hasher = _Hasher()
    try:
        yield from item.pending
        item.pending.clear()
        with item.path.open("rb", buffering=0) as source:
            for length in item.segments:
                piece = memoryview(hasher.buffer())[:length]
                if read_into(source, piece) != length:
                    raise ClientRefusal(f"{item.path.name} changed while it was sent")
                item.envelope.segment(piece)  # encrypted now, before the buffer is handed on
                hasher.put(piece)
                yield from item.pending
                item.pending.clear()
            if source.read(1):
                raise ClientRefusal(f"{item.path.name} changed while it was sent")
        item.envelope.finish()
        yield from item.pending
        item.pending.clear()
    finally:
        hasher.close()
    item.sha256 = hasher.sha256.hexdigest()
