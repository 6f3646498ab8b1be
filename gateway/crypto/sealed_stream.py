"""``open_sealed_stream``: decrypt and verify a sealed package (SignedData inside
AuthEnvelopedData, BER of any length form) in bounded memory.

The envelope is decrypted as it is read (``PlaintextStream``); its plaintext (the
SignedData) is parsed incrementally on the same thread, the signed content hashed and
handed to ``content_sink``. The content is UNAUTHENTICATED until this function returns:
the sink must write to staging the caller discards on any error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Final, cast

from asn1crypto import cms, core

from gateway.crypto._asn1 import OID_SIGNED_DATA
from gateway.crypto.envelope import ASN1_ERRORS
from gateway.crypto.errors import MALFORMED, UNSUPPORTED_ALGORITHM, CryptoError
from gateway.crypto.model import RecipientKey, TrustConfig, VerifiedStream
from gateway.crypto.plaintext_stream import PlaintextStream
from gateway.crypto.signing import check_signature
from gateway.crypto.streaming import (
    _CONTEXT,
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    BerStream,
    load_element,
    stream_octets,
)
from gateway.crypto.verify import signature_errors, trusted_chain

DEFAULT_MAX_PACKAGE_SIZE: Final = 64 * 1024**3
_DIGESTS: Final = frozenset({"sha256", "sha384", "sha512"})


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
    and stream its content to ``content_sink`` (on this thread, in order).

    Raises ``InvalidEnvelope`` on any decryption failure, ``CryptoError`` otherwise; the
    sink must be discarded then. An exception raised by ``content_sink`` propagates.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    plaintext = PlaintextStream(src, recipient_keys, max_size=max_size)
    try:
        # decrypted, parsed and hashed on this thread, each piece still in the CPU's cache
        parsed = _parse_signed_data(cast(BinaryIO, plaintext), content_sink)
    except Exception as exc:
        # The envelope's own failure comes first (a wrong key or a flipped byte garbles
        # the SignedData too): read it to its end; if it is sound, this failure stands.
        plaintext.drain()
        if isinstance(exc, ASN1_ERRORS):
            raise _malformed(f"SignedData ASN.1: {type(exc).__name__}") from None
        raise
    plaintext.drain()  # nothing left: the parser read to the end, where the tag verified
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
