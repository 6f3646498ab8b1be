"""Signer certificate checks: validity, chain to trust anchors, CRL revocation, key usage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from gateway.crypto.errors import (
    CERTIFICATE_EXPIRED,
    CERTIFICATE_REVOKED,
    SIGNER_NOT_AUTHORISED,
    UNTRUSTED_SIGNER,
    CryptoError,
)
from gateway.crypto.model import TrustConfig


def _within_validity(cert: x509.Certificate, when: datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


# Chains found before, by the DER of (signer, untrusted certificates, anchors): every
# submission of one signer asks for the same chain, twice (now and signing time). A path
# validated once holds at any moment when all its certificates are within their validity
# (nothing else the verifier checks depends on time), so a hit is reused only then; a
# refusal is never remembered. One dict store per entry: safe across request threads.
_CHAINS: dict[tuple[bytes, ...], tuple[list[x509.Certificate], datetime, datetime]] = {}
_CRL_SIGNATURES: dict[tuple[bytes, bytes], bool] = {}
_CACHE_ENTRIES = 256  # distinct signers (or CRL versions) remembered; then start afresh
_K = TypeVar("_K")
_V = TypeVar("_V")


def _build_chain(
    signer: x509.Certificate,
    untrusted: Sequence[x509.Certificate],
    trust: TrustConfig,
    when: datetime,
) -> list[x509.Certificate]:
    if not trust.anchors:
        raise CryptoError(UNTRUSTED_SIGNER, "no trust anchors configured")
    key = (
        signer.public_bytes(Encoding.DER),
        *(b"untrusted:" + cert.public_bytes(Encoding.DER) for cert in untrusted),
        *(b"anchor:" + cert.public_bytes(Encoding.DER) for cert in trust.anchors),
    )
    found = _CHAINS.get(key)
    if found is not None and found[1] <= when <= found[2]:
        return list(found[0])
    chain = _verified_chain(signer, untrusted, trust, when)
    valid_from = max(cert.not_valid_before_utc for cert in chain)
    _remember(_CHAINS, key, (chain, valid_from, min(c.not_valid_after_utc for c in chain)))
    return list(chain)


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> None:
    """Store in one of the caches above; a full cache starts afresh."""
    if len(cache) >= _CACHE_ENTRIES:
        cache.clear()
    cache[key] = value


def _verified_chain(
    signer: x509.Certificate,
    untrusted: Sequence[x509.Certificate],
    trust: TrustConfig,
    when: datetime,
) -> list[x509.Certificate]:
    verifier = (
        PolicyBuilder()
        .store(Store(list(trust.anchors)))
        .time(when)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all()
        )
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(signer, list(untrusted)).chain)
    except VerificationError as exc:
        raise CryptoError(UNTRUSTED_SIGNER, f"no chain to a trust anchor: {exc}") from None


def _check_revocation(chain: list[x509.Certificate], trust: TrustConfig, now: datetime) -> None:
    """Every non-anchor certificate needs a fresh CRL from its issuer; fail closed otherwise."""
    for cert, issuer in pairwise(chain):
        issuer_key = issuer.public_key()
        if not isinstance(issuer_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise CryptoError(UNTRUSTED_SIGNER, "unsupported issuer key type for CRLs")
        crls = [
            crl
            for crl in trust.crls
            if crl.issuer == issuer.subject and _crl_signed_by(crl, issuer, issuer_key)
        ]
        if not crls:
            raise CryptoError(UNTRUSTED_SIGNER, "revocation status unknown: no CRL from issuer")
        crl = max(crls, key=lambda c: c.last_update_utc)
        next_update = crl.next_update_utc
        if (next_update is None or next_update < now) and not trust.allow_stale_crl:
            raise CryptoError(UNTRUSTED_SIGNER, "revocation status unknown: CRL is stale")
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            raise CryptoError(CERTIFICATE_REVOKED, f"serial {cert.serial_number:x} is revoked")


def _crl_signed_by(
    crl: x509.CertificateRevocationList,
    issuer: x509.Certificate,
    issuer_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
) -> bool:
    """`crl.is_signature_valid(issuer_key)`, remembered per (CRL, issuer) DER pair."""
    key = (crl.public_bytes(Encoding.DER), issuer.public_bytes(Encoding.DER))
    valid = _CRL_SIGNATURES.get(key)
    if valid is None:
        valid = crl.is_signature_valid(issuer_key)
        _remember(_CRL_SIGNATURES, key, valid)
    return valid


def _check_key_usage(signer: x509.Certificate) -> None:
    try:
        usage = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CryptoError(SIGNER_NOT_AUTHORISED, "signer certificate has no key usage") from None
    if not (usage.digital_signature or usage.content_commitment):
        raise CryptoError(SIGNER_NOT_AUTHORISED, "key usage allows no signing")


def validate_signer(
    signer: x509.Certificate,
    embedded: Sequence[x509.Certificate],
    trust: TrustConfig,
    *,
    signing_time: datetime,
    now: datetime,
) -> list[x509.Certificate]:
    """Return the signer's chain (signer first, anchor last) or raise ``CryptoError``."""
    if not (_within_validity(signer, signing_time) and _within_validity(signer, now)):
        raise CryptoError(CERTIFICATE_EXPIRED, "signer certificate outside validity period")
    untrusted = [*trust.intermediates, *(c for c in embedded if c != signer)]
    chain = _build_chain(signer, untrusted, trust, now)
    _build_chain(signer, untrusted, trust, signing_time)
    _check_revocation(chain, trust, now)
    _check_key_usage(signer)
    return chain
