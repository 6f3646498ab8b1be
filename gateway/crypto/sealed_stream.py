"""``open_sealed_stream``: decrypt and verify a sealed package (SignedData inside
AuthEnvelopedData, BER of any length form) in bounded memory.

The envelope is decrypted by ``open_attachment_stream``; its plaintext (the SignedData)
goes through a pipe to a second thread that parses the SignedData incrementally, hashes
the signed content and hands it to ``content_sink``. The content is UNAUTHENTICATED until
this function returns: the sink must write to staging the caller discards on any error.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Final

from asn1crypto import cms, core

from gateway.crypto._asn1 import OID_SIGNED_DATA
from gateway.crypto.envelope import ASN1_ERRORS
from gateway.crypto.errors import MALFORMED, UNSUPPORTED_ALGORITHM, CryptoError
from gateway.crypto.model import RecipientKey, TrustConfig, VerifiedStream
from gateway.crypto.signing import check_signature
from gateway.crypto.streaming import (
    _CONTEXT,
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    BerStream,
    load_element,
    open_attachment_stream,
    stream_octets,
)
from gateway.crypto.verify import signature_errors, trusted_chain

DEFAULT_MAX_PACKAGE_SIZE: Final = 64 * 1024**3
_DIGESTS: Final = frozenset({"sha256", "sha384", "sha512"})
_PIPE_DEPTH: Final = 2  # plaintext chunks (about 1 MiB each) between the two threads
_READ_AHEAD: Final = 1024 * 1024


def _malformed(detail: str) -> CryptoError:
    return CryptoError(MALFORMED, detail)


def _der_length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


class _HashingSink:
    """Hashes the signed content with every announced digest, then hands it on."""

    def __init__(self, names: list[str], sink: Callable[[bytes | memoryview], object]) -> None:
        self.hashes = {name: hashlib.new(name) for name in names}
        self._sink = sink
        self.size = 0

    def add(self, data: bytes | memoryview) -> None:
        """``data`` views immutable bytes: hashed and handed on without a copy."""
        for digest in self.hashes.values():
            digest.update(data)
        self.size += len(data)
        self._sink(data)

    def add_many(self, data: list[memoryview]) -> None:
        self.add(b"".join(data))


@dataclass
class _Parsed:
    signed_data: cms.SignedData
    digests: dict[str, bytes]
    size: int


def _parse_signed_data(src: BinaryIO, sink: Callable[[bytes | memoryview], object]) -> _Parsed:
    """Read a SignedData ContentInfo, streaming its encapsulated content to ``sink``."""
    reader = BerStream(src)
    outer = reader.open(TAG_SEQUENCE)
    if load_element(reader.element(), core.ObjectIdentifier).dotted != OID_SIGNED_DATA:
        raise _malformed("sealed content is not a SignedData")
    explicit = reader.open(_CONTEXT)
    body = reader.open(TAG_SEQUENCE)
    version = reader.element()
    algorithms_der = reader.element()
    algorithms = load_element(algorithms_der, cms.DigestAlgorithms)
    names = [a["algorithm"].native for a in algorithms if a["algorithm"].native in _DIGESTS]
    if not names:
        raise CryptoError(UNSUPPORTED_ALGORITHM, "no accepted digest algorithm announced")
    encap = reader.open(TAG_SEQUENCE)
    content_type_der = reader.element()
    hashing = _HashingSink(names, sink)
    if reader.more(encap):
        wrapper = reader.open(_CONTEXT)
        tag, constructed, length, _ = reader.header()
        if tag != TAG_OCTET_STRING:
            raise _malformed("encapsulated content is not an OCTET STRING")
        stream_octets(reader, hashing, constructed, length)
        reader.end(wrapper)
    reader.end(encap)
    trailer = []
    while reader.more(body):
        trailer.append(reader.element())  # certificates [0], crls [1], signerInfos
    for container in (body, explicit, outer):
        reader.end(container)
    if not reader.at_eof():
        raise _malformed("trailing bytes after the SignedData")
    encap_der = b"\x30" + _der_length(len(content_type_der)) + content_type_der
    inner = version + algorithms_der + encap_der + b"".join(trailer)
    detached = load_element(b"\x30" + _der_length(len(inner)) + inner, cms.SignedData)
    digests = {name: digest.digest() for name, digest in hashing.hashes.items()}
    return _Parsed(detached, digests, hashing.size)


class _Pipe:
    """Plaintext handed from the decrypting thread to the parsing thread without copies:
    a bounded queue of chunks, readable as a stream (``read`` may return fewer bytes)."""

    def __init__(self) -> None:
        self._chunks: queue.Queue[bytes | None] = queue.Queue(_PIPE_DEPTH)
        self._current = b""
        self._offset = 0
        self._eof = False

    def write(self, chunk: bytes) -> None:
        if chunk:
            self._chunks.put(chunk)

    def close(self) -> None:
        self._chunks.put(None)

    def read(self, size: int = -1) -> bytes:
        while self._offset >= len(self._current):
            chunk = None if self._eof else self._chunks.get()
            if chunk is None:
                self._eof = True
                return b""
            self._current, self._offset = chunk, 0
        end = len(self._current) if size < 0 else min(len(self._current), self._offset + size)
        if self._offset == 0 and end == len(self._current):
            piece = self._current  # the whole chunk: no copy
        else:
            piece = self._current[self._offset : end]
        self._offset = end
        return piece


class _Parser(threading.Thread):
    """Runs ``_parse_signed_data`` on the pipe; drains it after any failure so the
    decrypting side never blocks on a full pipe."""

    def __init__(self, pipe: _Pipe, sink: Callable[[bytes | memoryview], object]) -> None:
        super().__init__(name="sealed-signed-data", daemon=True)
        self._pipe = pipe
        self._sink = sink
        self.result: _Parsed | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = _parse_signed_data(self._pipe, self._sink)  # type: ignore[arg-type]
        except ASN1_ERRORS as exc:
            self.error = _malformed(f"SignedData ASN.1: {type(exc).__name__}")
        except BaseException as exc:  # re-raised on the caller's thread
            self.error = exc
        finally:
            while self._pipe.read(_READ_AHEAD):
                pass


def open_sealed_stream(
    src: BinaryIO,
    recipient_keys: Sequence[RecipientKey],
    trust: TrustConfig,
    content_sink: Callable[[bytes | memoryview], object],
    *,
    now: datetime,
    max_size: int = DEFAULT_MAX_PACKAGE_SIZE,
) -> VerifiedStream:
    """Decrypt ``src``, verify the SignedData inside (signature, digest, chain, freshness)
    and stream its content to ``content_sink`` (on a helper thread, in order).

    Raises ``InvalidEnvelope`` on any decryption failure, ``CryptoError`` otherwise; the
    sink must be discarded then. An exception raised by ``content_sink`` propagates.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    pipe = _Pipe()
    parser = _Parser(pipe, content_sink)
    parser.start()
    try:
        open_attachment_stream(
            src, recipient_keys, pipe.write, max_size=max_size, hash_plaintext=False
        )
    finally:
        pipe.close()  # end of input for the parser
        parser.join()
    if parser.error is not None:
        raise parser.error
    if parser.result is None:
        raise _malformed("SignedData parser ended without a result")
    parsed = parser.result
    with signature_errors():
        checked = check_signature(parsed.signed_data, streamed_digests=parsed.digests)
    chain = trusted_chain(checked, trust, now=now)
    return VerifiedStream(
        content_type=checked.content_type,
        size=parsed.size,
        signer=checked.signer,
        chain=chain,
        signing_time=checked.signing_time,
    )


__all__ = ["DEFAULT_MAX_PACKAGE_SIZE", "open_sealed_stream"]
