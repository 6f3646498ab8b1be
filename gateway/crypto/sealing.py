"""Streaming ``seal``: SignedData inside AuthEnvelopedData, written as BER while the content
is still being produced, in bounded memory.

The output has the shape ``openssl cms -sign -stream`` then ``openssl cms -encrypt -stream``
would give: indefinite-length containers, the signed content and the encrypted content as
constructed OCTET STRINGs of at most ``SEGMENT_SIZE`` bytes per segment. The message digest
is only needed in the SignerInfo, which follows the content, so one pass suffices. Readable
by ``openssl cms -decrypt`` / ``-verify`` and by ``open_sealed_stream``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

from asn1crypto import cms, core
from cryptography import x509

from gateway.crypto import _der, _primitives
from gateway.crypto._asn1 import OID_AUTH_ENVELOPED_DATA, OID_DATA, OID_SIGNED_DATA
from gateway.crypto.envelope import GCM_NONCE_SIZE, gcm_algorithm
from gateway.crypto.model import SigningPrivateKey
from gateway.crypto.recipients import build_recipient_info
from gateway.crypto.signing import signed_data_parts
from gateway.crypto.streaming import Handoff

SEGMENT_SIZE: Final = 1024 * 1024
_SMALL_WRITE: Final = 64 * 1024  # writes below this are gathered into one segment
_END: Final = b"\x00\x00"  # end-of-contents of an indefinite-length container
_TRAILER_SIZE: Final = 2 * 2 + 18 + 2 * 3  # end-of-contents around the mac (16-byte tag)


def _oid(dotted: str) -> bytes:
    return bytes(core.ObjectIdentifier(dotted).dump())


def octet_header(size: int) -> bytes:
    """The header of one primitive OCTET STRING segment of ``size`` bytes (DER length)."""
    return _der.header(_der.OCTET_STRING, size)


class EnvelopeWriter:
    """AuthEnvelopedData (AES-256-GCM, to every recipient) written as BER while the
    content is produced, one encryptedContent segment per ``segment`` call, then
    ``finish`` once; the bytes go to ``out`` as they are produced.

    The shape ``openssl cms -encrypt -stream`` gives (indefinite-length containers), so
    ``total_size`` knows the whole length in advance from the segments' sizes.
    """

    def __init__(
        self,
        out: Callable[[bytes], object],
        recipients: Sequence[x509.Certificate],
        *,
        content_type: str = OID_DATA,
    ) -> None:
        if not recipients:
            raise ValueError("at least one recipient certificate is required")
        self._out = out
        content_key = os.urandom(32)
        nonce = os.urandom(GCM_NONCE_SIZE)
        self._encryptor = _primitives.gcm_stream_encryptor(content_key, nonce)
        infos = cms.RecipientInfos([build_recipient_info(c, content_key) for c in recipients])
        self.header = (
            b"\x30\x80" + _oid(OID_AUTH_ENVELOPED_DATA) + b"\xa0\x80"  # ContentInfo, [0]
            b"\x30\x80\x02\x01\x00" + infos.dump()  # AuthEnvelopedData v0, recipientInfos
            + b"\x30\x80" + _oid(content_type) + gcm_algorithm(nonce).dump()  # authEncrypted...
            + b"\xa0\x80"  # encryptedContent [0] IMPLICIT, constructed, indefinite
        )  # fmt: skip
        out(self.header)

    def total_size(self, segments: Iterable[int]) -> int:
        """The envelope's length when the content goes in segments of these sizes."""
        content = sum(len(octet_header(size)) + size for size in segments)
        return len(self.header) + content + _TRAILER_SIZE

    def segment(self, *plaintexts: bytes | bytearray | memoryview) -> None:
        """Encrypt ``plaintexts`` as one segment of encryptedContent (its header, then
        each ciphertext piece: no concatenation)."""
        ciphertexts = [self._encryptor.update(p) for p in plaintexts]
        self._out(octet_header(sum(map(len, ciphertexts))))
        for ciphertext in ciphertexts:
            self._out(ciphertext)

    def finish(self) -> None:
        self._encryptor.finalize()
        mac = bytes(core.OctetString(self._encryptor.tag).dump())
        # encryptedContent, authEncryptedContentInfo; mac; AuthEnvelopedData, [0], ContentInfo
        self._out(_END * 2 + mac + _END * 3)


class SealingWriter:
    """``write`` the content piecewise, then ``finish`` once; sealed bytes go to ``out``.

    Signs with the gateway seal key (SHA-256, signed attributes as ``sign`` writes them)
    and encrypts with AES-256-GCM to every recipient, like ``seal``. ``out`` receives
    ciphertext pieces of about SEGMENT_SIZE as they are produced. The content is hashed
    on a helper thread, overlapping the encryption on the caller's (hashlib releases the
    GIL); ``abort`` ends that thread when the content is not finished. With
    ``hash_on_thread=False`` it is hashed on the caller's thread, while it is still in
    the CPU's cache: for a caller that keeps its other threads busy with work of its own.
    """

    def __init__(
        self,
        out: Callable[[bytes], object],
        seal_key: SigningPrivateKey,
        seal_cert: x509.Certificate,
        recipients: Sequence[x509.Certificate],
        *,
        extra_certs: Sequence[x509.Certificate] = (),
        signing_time: datetime | None = None,
        hash_on_thread: bool = True,
    ) -> None:
        self._envelope = EnvelopeWriter(out, recipients, content_type=OID_DATA)
        self._key, self._cert, self._extra = seal_key, seal_cert, tuple(extra_certs)
        self._when = signing_time or datetime.now(UTC)
        # a SHA-256 of the content, on a thread of its own or on this one
        self._hashing: Handoff | _InlineDigest = (
            Handoff(_nowhere) if hash_on_thread else _InlineDigest()
        )
        self.size = 0
        self._pending = bytearray()  # content short of a whole segment
        digest_algorithms = cms.DigestAlgorithms([{"algorithm": "sha256"}]).dump()
        self._envelope.segment(
            b"\x30\x80" + _oid(OID_SIGNED_DATA) + b"\xa0\x80"  # ContentInfo, [0]
            b"\x30\x80\x02\x01\x01" + digest_algorithms  # SignedData v1, digestAlgorithms
            + b"\x30\x80" + _oid(OID_DATA) + b"\xa0\x80\x24\x80"  # encapContentInfo, eContent
        )  # fmt: skip

    def _segment(self, content: bytes | bytearray | memoryview) -> None:
        """One segment of the signed content (its OCTET STRING header and bytes)."""
        self._envelope.segment(octet_header(len(content)), content)

    def _flush_pending(self) -> None:
        if self._pending:
            self._segment(self._pending)
            self._pending.clear()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Sign and encrypt ``data`` now (bytes are kept until hashed, anything else is
        copied for that). Small writes are gathered into one segment; large ones become
        segments of at most SEGMENT_SIZE without a copy."""
        view = memoryview(data).cast("B")
        if isinstance(self._hashing, _InlineDigest):
            self._hashing.put(view)  # hashed now: no copy to keep
        else:
            self._hashing.put(data if isinstance(data, bytes) else view.tobytes())
        size = len(view)
        self.size += size
        if size < _SMALL_WRITE:
            if len(self._pending) + size > SEGMENT_SIZE:
                self._flush_pending()
            self._pending += view
            return size
        self._flush_pending()
        for start in range(0, size, SEGMENT_SIZE):
            self._segment(view[start : start + SEGMENT_SIZE])
        return size

    def finish(self) -> None:
        self._flush_pending()
        self._hashing.close()
        _, certificates, signer_infos = signed_data_parts(
            self._hashing.sha256.digest(), self._key, self._cert, when=self._when,
            extra=self._extra,
        )  # fmt: skip
        # eContent's OCTET STRING and [0], encapContentInfo; then the SignedData trailer
        self._envelope.segment(_END * 3 + certificates + signer_infos + _END * 3)
        self._envelope.finish()

    def abort(self) -> None:
        """Give up on an unfinished content: end the hashing thread (idempotent)."""
        with contextlib.suppress(Exception):
            self._hashing.close()


def _nowhere(_: bytes) -> None:
    """The hashing thread's sink: the bytes are only hashed."""


class _InlineDigest:
    """``Handoff``'s hashing side on the caller's thread: ``put`` hashes at once."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()

    def put(self, data: bytes | memoryview) -> None:
        self.sha256.update(data)

    def close(self) -> None:
        pass


__all__ = ["SEGMENT_SIZE", "EnvelopeWriter", "SealingWriter", "octet_header"]
