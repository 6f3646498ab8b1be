"""``verify_signed`` and ``open_submission``: the intake pipeline's crypto checks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Final

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from gateway.crypto.certpath import validate_signer
from gateway.crypto.der_guard import check_ber_structure
from gateway.crypto.envelope import (
    ASN1_ERRORS,
    DEFAULT_MAX_ENVELOPE_SIZE,
    decrypt_envelope_mode,
)
from gateway.crypto.errors import (
    MALFORMED,
    STALE,
    UNSUPPORTED_ALGORITHM,
    CryptoError,
    InvalidEnvelope,
)
from gateway.crypto.model import RecipientKey, TrustConfig, VerifiedContent
from gateway.crypto.signing import SignatureCheck, check_signature, load_signed_data

MAX_SIGNED_SIZE: Final = DEFAULT_MAX_ENVELOPE_SIZE


@contextmanager
def signature_errors() -> Iterator[None]:
    """A signature check's ASN.1 and algorithm failures as the opaque CryptoError codes."""
    try:
        yield
    except ASN1_ERRORS as exc:
        raise CryptoError(MALFORMED, f"SignedData ASN.1: {type(exc).__name__}") from None
    except UnsupportedAlgorithm:
        raise CryptoError(UNSUPPORTED_ALGORITHM, "signer key or signature type") from None


def _check_signed(signed_der: bytes) -> SignatureCheck:
    check_ber_structure(signed_der, max_size=MAX_SIGNED_SIZE)
    with signature_errors():
        return check_signature(load_signed_data(cms.ContentInfo.load(signed_der)))


def verify_signed(signed_der: bytes, trust: TrustConfig, *, now: datetime) -> VerifiedContent:
    """Verify signature, message digest, signer chain, revocation, key usage and freshness."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    checked = _check_signed(signed_der)
    chain = trusted_chain(checked, trust, now=now)
    return VerifiedContent(
        content=checked.content,
        content_type=checked.content_type,
        signer=checked.signer,
        chain=chain,
        signing_time=checked.signing_time,
        signed_data_der=signed_der,
    )


def trusted_chain(
    checked: SignatureCheck, trust: TrustConfig, *, now: datetime
) -> list[x509.Certificate]:
    """The signer's validated chain (revocation, key usage), and the signing time's skew."""
    try:
        chain = validate_signer(
            checked.signer,
            checked.embedded_certs,
            trust,
            signing_time=checked.signing_time,
            now=now,
        )
    except ASN1_ERRORS as exc:
        raise CryptoError(MALFORMED, f"certificate encoding: {type(exc).__name__}") from None
    except UnsupportedAlgorithm:
        raise CryptoError(UNSUPPORTED_ALGORITHM, "certificate key or signature type") from None
    if abs(now - checked.signing_time) > trust.max_skew:
        raise CryptoError(STALE, "signing time outside the allowed skew")
    return chain


def signed_content(signed_der: bytes) -> bytes:
    """The content of a SignedData the gateway verified at intake and stored authenticated.

    The signature and message digest are checked again (cheap, and catches a mix-up of
    objects); chain, revocation and freshness are NOT: they held when it was accepted.
    """
    return _check_signed(signed_der).content


def open_submission(
    data: bytes,
    recipient_keys: Sequence[RecipientKey],
    trust: TrustConfig,
    *,
    now: datetime,
    allow_legacy_cbc: bool = False,
) -> VerifiedContent:
    """Decrypt an intake envelope and verify the SignedData inside it."""
    inner, mode = decrypt_envelope_mode(data, recipient_keys, allow_legacy_cbc=allow_legacy_cbc)
    return verify_decrypted(inner, mode, trust, now=now)


def verify_decrypted(
    inner: bytes, mode: str, trust: TrustConfig, *, now: datetime
) -> VerifiedContent:
    """`verify_signed` on an envelope's content; after legacy CBC ("cbc") every failure is
    the one opaque InvalidEnvelope, since unauthenticated CBC content would otherwise let a
    padding guess be told apart (a padding oracle)."""
    try:
        return verify_signed(inner, trust, now=now)
    except CryptoError as exc:
        if mode != "cbc":
            raise
        raise InvalidEnvelope(f"legacy CBC content refused: {exc.code}: {exc.detail}") from None
