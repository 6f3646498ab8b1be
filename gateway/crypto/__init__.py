"""Rogatory's crypto core: CMS intake envelopes, sealing, at-rest encryption, dev PKI.

Everything callers need is re-exported here; hazmat primitives stay in private modules.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from gateway.crypto.envelope import decrypt_envelope, decrypt_envelope_mode, encrypt_envelope
from gateway.crypto.errors import ERROR_CODES, CryptoError, InvalidEnvelope
from gateway.crypto.expiry import expiring_certificates
from gateway.crypto.model import (
    RecipientKey,
    SigningPrivateKey,
    StreamResult,
    TrustConfig,
    VerifiedContent,
    VerifiedStream,
)
from gateway.crypto.sealed_stream import open_sealed_stream
from gateway.crypto.sealing import EnvelopeWriter, SealingWriter
from gateway.crypto.signing import sign
from gateway.crypto.streaming import DEFAULT_MAX_ATTACHMENT_SIZE, open_attachment_stream
from gateway.crypto.verify import (
    open_submission,
    signed_content,
    verify_decrypted,
    verify_signed,
)


def seal(
    content: bytes,
    seal_key: SigningPrivateKey,
    seal_cert: x509.Certificate,
    recipients: Sequence[x509.Certificate],
    *,
    extra_certs: Sequence[x509.Certificate] = (),
) -> bytes:
    """Sign ``content`` with the gateway seal key, then encrypt it to every recipient."""
    signed = sign(content, seal_key, seal_cert, extra_certs=extra_certs)
    return encrypt_envelope(signed, recipients)


__all__ = [
    "DEFAULT_MAX_ATTACHMENT_SIZE",
    "ERROR_CODES",
    "CryptoError",
    "EnvelopeWriter",
    "InvalidEnvelope",
    "RecipientKey",
    "SealingWriter",
    "StreamResult",
    "TrustConfig",
    "VerifiedContent",
    "VerifiedStream",
    "decrypt_envelope",
    "decrypt_envelope_mode",
    "encrypt_envelope",
    "expiring_certificates",
    "open_attachment_stream",
    "open_sealed_stream",
    "open_submission",
    "seal",
    "sign",
    "signed_content",
    "verify_decrypted",
    "verify_signed",
]
