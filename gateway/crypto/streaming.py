"""Streaming decryption of large AuthEnvelopedData attachments (BER, e.g. ``cms -stream``).

The small header (recipientInfos, algorithm) is parsed with asn1crypto; the encrypted
content is never held whole: its OCTET STRING chunks go through an AES-GCM decryptor
and the plaintext goes to ``sink`` as it is produced. The GCM tag follows the content,
so the plaintext handed to ``sink`` is UNAUTHENTICATED until this function returns:
the sink must write to staging (e.g. an at-rest ``StreamEncryptor``) and the caller
must discard that staging when an exception is raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Final, Protocol

from asn1crypto import cms, core
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import AEADDecryptionContext

from gateway.crypto import _primitives
from gateway.crypto._asn1 import (
    OID_AUTH_ENVELOPED_DATA,
    OID_DATA,
    OID_ENVELOPED_DATA,
    OID_SIGNED_DATA,
)
from gateway.crypto.der_guard import check_ber_structure, parse_header
from gateway.crypto.envelope import ASN1_ERRORS, parse_content_cipher
from gateway.crypto.errors import MALFORMED, UNSUPPORTED_ALGORITHM, CryptoError, InvalidEnvelope
from gateway.crypto.model import RecipientKey, StreamResult
from gateway.crypto.recipients import parse_recipient_infos, unwrap_content_key

DEFAULT_MAX_ATTACHMENT_SIZE: Final = 4 * 1024**3
MAX_HEADER_ELEMENT: Final = 1024 * 1024
_READ_SIZE: Final = 1024 * 1024
_DECRYPT_BATCH: Final = 1024 * 1024
_HANDOFF_DEPTH: Final = 4  # plaintext batches in flight to the hashing/sink thread
_MAX_OCTET_NESTING: Final = 4
_SEPARATE_PIECES: Final = 4  # up to this many pending pieces are decrypted without a join

_CONTEXT: Final = 0x80 << 24
TAG_INTEGER: Final = 2
TAG_OCTET_STRING: Final = 4
TAG_OID: Final = 6
TAG_SEQUENCE: Final = 16
TAG_SET: Final = 17


def _malformed(detail: str) -> CryptoError:
    return CryptoError(MALFORMED, detail)


class BerStream:
    """Pull-based BER reader over a binary stream with a small look-ahead buffer."""

    def __init__(self, src: BinaryIO) -> None:
        self._src = src
        self._buf = b""
        self._pos = 0
        self.offset = 0

    def _ensure(self, n: int) -> bool:
        available = len(self._buf) - self._pos
        if available >= n:
            return True
        parts = [self._buf[self._pos :]] if available else []
        while available < n:
            chunk = self._src.read(max(n - available, _READ_SIZE))
            if not chunk:
                break
            parts.append(chunk)
            available += len(chunk)
        self._buf = parts[0] if len(parts) == 1 else b"".join(parts)  # one read: no copy
        self._pos = 0
        return available >= n

    def peek(self, n: int) -> bytes:
        self._ensure(n)
        return self._buf[self._pos : self._pos + n]

    def read(self, n: int) -> bytes:
        if not self._ensure(n):
            raise _malformed("truncated stream")
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        self.offset += n
        return data

    def take(self, n: int) -> memoryview:
        """Up to ``n`` (at least one) next bytes, as a view of the buffer (no copy)."""
        if not self._ensure(1):
            raise _malformed("truncated stream")
        view = memoryview(self._buf)[self._pos : self._pos + n]
        self._pos += len(view)
        self.offset += len(view)
        return view

    def at_eof(self) -> bool:
        return not self._ensure(1)

    def header(self) -> tuple[int, bool, int | None, bytes]:
        window = self.peek(16)
        tag, constructed, length, used = parse_header(memoryview(window), 0, len(window))
        return tag, constructed, length, self.read(used)

    def expect(self, tag: int, constructed: bool) -> int | None:
        got_tag, got_constructed, length, _ = self.header()
        if got_tag != tag or got_constructed != constructed:
            raise _malformed(f"unexpected tag {got_tag:#x}, wanted {tag:#x}")
        return length

    def element(self, limit: int = MAX_HEADER_ELEMENT, depth: int = 0) -> bytes:
        """The raw bytes of one complete element (definite or indefinite), at most ``limit``."""
        if depth > 32:
            raise _malformed("nesting too deep")
        _tag, _constructed, length, raw_header = self.header()
        if length is not None:
            if len(raw_header) + length > limit:
                raise _malformed("header element larger than allowed")
            return raw_header + self.read(length)
        parts = [raw_header]
        size = len(raw_header)
        while self.peek(2) != b"\x00\x00":
            part = self.element(limit - size, depth + 1)
            parts.append(part)
            size += len(part)
        parts.append(self.read(2))
        return b"".join(parts)

    def scan_octet_strings(
        self, emit: Callable[[list[memoryview]], None], container_end: int | None
    ) -> None:
        """Fast path: emit (zero-copy) every complete short primitive OCTET STRING buffered."""
        buf, pos = self._buf, self._pos
        view = memoryview(buf)
        limit = len(buf)
        if container_end is not None:
            limit = min(limit, pos + container_end - self.offset)
        while pos + 4 <= limit and buf[pos] == TAG_OCTET_STRING:
            first = buf[pos + 1]
            if first < 0x80:
                start, length = pos + 2, first
            elif first == 0x81:
                start, length = pos + 3, buf[pos + 2]
            elif first == 0x82:
                start, length = pos + 4, (buf[pos + 2] << 8) | buf[pos + 3]
            else:
                break  # long segments take the general path
            if start + length > limit:
                break
            stride, header_size = start - pos + length, start - pos
            count = _uniform_run(buf, pos, stride, header_size, (limit - pos) // stride)
            emit(
                [
                    view[at + header_size : at + stride]
                    for at in range(pos, pos + count * stride, stride)
                ]
            )
            pos += count * stride
        self.offset += pos - self._pos
        self._pos = pos

    def end(self, container_end: int | None) -> None:
        """Close a container opened with a definite end offset (or indefinite: None)."""
        if container_end is None:
            if self.read(2) != b"\x00\x00":
                raise _malformed("missing end-of-contents")
        elif self.offset != container_end:
            raise _malformed("container length mismatch")

    def more(self, container_end: int | None) -> bool:
        if container_end is None:
            return self.peek(2) != b"\x00\x00"
        return self.offset < container_end

    def open(self, tag: int) -> int | None:
        length = self.expect(tag, constructed=True)
        return None if length is None else self.offset + length


def _uniform_run(buf: bytes, pos: int, stride: int, header_size: int, most: int) -> int:
    """How many segments from ``pos`` repeat the first one's header (``cms -stream`` writes
    equal-sized segments); checked column-wise with strided slices instead of a Python loop."""
    count = most
    for column in range(header_size):
        expected = buf[pos + column]
        found = buf[pos + column : pos + column + (count - 1) * stride + 1 : stride]
        if found.count(expected) != len(found):
            count = next(k for k, byte in enumerate(found) if byte != expected)
    return max(count, 1)


def load_element(raw: bytes, spec: type[core.Asn1Value]) -> core.Asn1Value:
    check_ber_structure(raw, max_size=MAX_HEADER_ELEMENT)
    return spec.load(raw)


class Handoff:
    """Hashes plaintext and feeds ``sink`` on a second thread, through a bounded queue.

    GCM decryption (this thread) overlaps SHA-256 + at-rest encryption + disk writes
    (the other); hashlib, AES and file I/O release the GIL.
    """

    def __init__(self, sink: Callable[[bytes], None], *, hash_plaintext: bool = True) -> None:
        self._sink = sink
        self._hash = hash_plaintext
        self._queue: queue.Queue[bytes | None] = queue.Queue(_HANDOFF_DEPTH)
        self._error: BaseException | None = None
        self.sha256 = hashlib.sha256()
        self._thread = threading.Thread(target=self._run, name="attachment-sink", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (plaintext := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain without writing: the stream is already lost
            try:
                if self._hash:
                    self.sha256.update(plaintext)
                self._sink(plaintext)
            except BaseException as exc:  # re-raised on the caller's thread
                self._error = exc

    def put(self, plaintext: bytes) -> None:
        self._raise_pending()
        self._queue.put(plaintext)

    def close(self) -> None:
        """Wait until the sink has seen everything; re-raise its failure here."""
        self._queue.put(None)
        self._thread.join()
        self._raise_pending()

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error


class _PlaintextOut(Protocol):
    def put(self, plaintext: bytes) -> None: ...


class _Decrypting:
    """Batches ciphertext, decrypts and hands plaintext on; enforces the size cap."""

    def __init__(self, decryptor: object, handoff: _PlaintextOut, max_size: int) -> None:
        self._decryptor = decryptor
        self._handoff = handoff
        self._max_size = max_size
        self._pending: list[bytes | memoryview] = []
        self._pending_size = 0
        self.size = 0

    def add(self, ciphertext: bytes | memoryview) -> None:
        self.add_many([ciphertext])

    def add_many(self, ciphertexts: list[memoryview] | list[bytes | memoryview]) -> None:
        self._pending.extend(ciphertexts)
        self._pending_size += sum(map(len, ciphertexts))
        if self._pending_size >= _DECRYPT_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        pending = self._pending
        if len(pending) > _SEPARATE_PIECES:  # many small segments: one update, one hand-off
            pending = [b"".join(pending)]
        self._pending, self._pending_size = [], 0
        for batch in pending:  # a few large pieces: decrypted one by one, without a join
            plaintext = self._decryptor.update(batch)  # type: ignore[attr-defined]
            self.size += len(plaintext)
            if self.size > self._max_size:
                raise _malformed(f"attachment exceeds {self._max_size} bytes")
            if plaintext:
                self._handoff.put(plaintext)


class OctetSink(Protocol):
    """Where ``stream_octets`` hands an OCTET STRING's content, piece by piece."""

    def add(self, data: bytes | memoryview) -> None: ...

    def add_many(self, data: list[memoryview]) -> None: ...


def stream_octets(
    reader: BerStream, out: OctetSink, constructed: bool, length: int | None, depth: int = 0
) -> None:
    """The content of one (primitive or constructed, any length form) OCTET STRING."""
    for pieces in iter_octets(reader, constructed, length, depth):
        if len(pieces) == 1:
            out.add(pieces[0])
        else:
            out.add_many(pieces)


def iter_octets(
    reader: BerStream, constructed: bool, length: int | None, depth: int = 0
) -> Iterator[list[memoryview]]:
    """``stream_octets`` read on demand: the content's pieces (views, no copy), a list at a
    time; ``reader`` moves on only as far as the pieces taken so far."""
    if not constructed:
        remaining = length or 0  # parse_header never returns indefinite primitives
        while remaining:
            piece = reader.take(min(remaining, _DECRYPT_BATCH))
            remaining -= len(piece)
            yield [piece]
        return
    if depth > _MAX_OCTET_NESTING:
        raise _malformed("constructed OCTET STRING nested too deep")
    end = None if length is None else reader.offset + length
    while True:
        scanned: list[list[memoryview]] = []
        reader.scan_octet_strings(scanned.append, end)
        yield from scanned
        if not reader.more(end):
            break
        tag, child_constructed, child_length, _ = reader.header()
        if tag != TAG_OCTET_STRING:
            raise _malformed("non-OCTET STRING segment in encrypted content")
        yield from iter_octets(reader, child_constructed, child_length, depth + 1)
    reader.end(end)


def open_attachment_stream(
    src: BinaryIO,
    recipient_keys: Sequence[RecipientKey],
    sink: Callable[[bytes], None],
    *,
    max_size: int = DEFAULT_MAX_ATTACHMENT_SIZE,
    hash_plaintext: bool = True,
) -> StreamResult:
    """Decrypt a (possibly indefinite-length) AuthEnvelopedData from ``src`` into ``sink``.

    ``sink`` runs on a helper thread (one call at a time, in order) and has received
    everything when this returns or raises. Returns the plaintext's SHA-256 (empty with
    ``hash_plaintext=False``) and size once the GCM tag verified. Raises
    ``InvalidEnvelope`` on any decryption failure, ``CryptoError`` otherwise; an
    exception raised by ``sink`` propagates unchanged.
    """
    reader = BerStream(src)
    handoff = Handoff(sink, hash_plaintext=hash_plaintext)
    try:
        size = _open(reader, recipient_keys, handoff, max_size)
    except ASN1_ERRORS as exc:
        _close_quietly(handoff)
        raise _malformed(f"attachment ASN.1: {type(exc).__name__}") from None
    except BaseException:
        _close_quietly(handoff)
        raise
    handoff.close()
    digest = handoff.sha256.hexdigest() if hash_plaintext else ""
    return StreamResult(sha256_hex=digest, size=size)


def _close_quietly(handoff: Handoff) -> None:
    with contextlib.suppress(Exception):  # the original failure is the one to report
        handoff.close()


def _open(
    reader: BerStream,
    recipient_keys: Sequence[RecipientKey],
    handoff: Handoff,
    max_size: int,
) -> int:
    opened = _open_header(reader, recipient_keys)
    out = _Decrypting(opened.decryptor, handoff, max_size)
    stream_octets(reader, out, opened.constructed, opened.length)
    out.flush()
    _close_envelope(reader, opened)
    return out.size


@dataclass
class _Opened:
    """An AuthEnvelopedData read up to its encrypted content, and what closes it."""

    decryptor: AEADDecryptionContext
    tag_length: int
    failure: str | None  # a key that did not unwrap: reported once the content is read
    containers: tuple[int | None, ...]  # encryptedContentInfo, body, [0], ContentInfo
    constructed: bool  # the encrypted content's form and length
    length: int | None


def _open_header(reader: BerStream, recipient_keys: Sequence[RecipientKey]) -> _Opened:
    outer = reader.open(TAG_SEQUENCE)
    content_type = load_element(reader.element(), core.ObjectIdentifier).dotted
    if content_type == OID_ENVELOPED_DATA:
        raise CryptoError(UNSUPPORTED_ALGORITHM, "legacy EnvelopedData is not streamed")
    if content_type != OID_AUTH_ENVELOPED_DATA:
        raise _malformed("not an AuthEnvelopedData")
    explicit = reader.open(_CONTEXT)
    body = reader.open(TAG_SEQUENCE)
    if reader.element() != b"\x02\x01\x00":
        raise _malformed("AuthEnvelopedData version must be 0")
    if reader.peek(1) == b"\xa0":
        reader.element()  # originatorInfo: certificates we do not need
    infos = load_element(reader.element(), cms.RecipientInfos)
    recipients = parse_recipient_infos(infos)
    eci = reader.open(TAG_SEQUENCE)
    inner_type = load_element(reader.element(), core.ObjectIdentifier).dotted
    if inner_type not in (OID_DATA, OID_SIGNED_DATA):
        raise _malformed("inner content type is neither data nor signedData")
    algorithm = load_element(reader.element(), cms.EncryptionAlgorithm)
    cipher = parse_content_cipher(algorithm, allow_cbc=False)
    content_key, failure = unwrap_content_key(recipients, recipient_keys, cipher.key_size)
    decryptor = _primitives.gcm_stream_decryptor(content_key, cipher.nonce, cipher.tag_length)
    tag, constructed, length, _ = reader.header()
    if tag != _CONTEXT:
        raise _malformed("encrypted content missing (detached content is not accepted)")
    containers = (eci, body, explicit, outer)
    return _Opened(decryptor, cipher.tag_length, failure, containers, constructed, length)


def _close_envelope(reader: BerStream, opened: _Opened) -> None:
    """Read what follows the encrypted content and check the tag; raises
    ``InvalidEnvelope`` on any decryption failure."""
    eci, body, explicit, outer = opened.containers
    reader.end(eci)
    if reader.peek(1) == b"\xa1":
        raise CryptoError(UNSUPPORTED_ALGORITHM, "authenticated attributes cannot be streamed")
    mac = load_element(reader.element(), core.OctetString).native
    if reader.more(body) and reader.peek(1) == b"\xa2":
        reader.element()  # unauthAttrs
    for container in (body, explicit, outer):
        reader.end(container)
    if not reader.at_eof():
        raise _malformed("trailing bytes after the envelope")
    if len(mac) != opened.tag_length:
        raise _malformed("MAC length differs from the declared ICV length")
    failure = opened.failure
    try:
        opened.decryptor.finalize_with_tag(mac)
    except InvalidTag:
        failure = failure or "content authentication tag mismatch"
    if failure:
        raise InvalidEnvelope(failure)
