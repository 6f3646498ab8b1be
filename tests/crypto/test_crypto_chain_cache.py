"""A signer's validated chain is remembered (each submission of a signer asks for it
twice), but a remembered chain never lets through what a fresh validation would refuse:
a CA certificate expired by the time of the check, other trust anchors, a revocation
published since, a CRL whose signature does not verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.crypto import certpath
from gateway.crypto.certpath import validate_signer
from gateway.crypto.devpki import _SIGNING, _Issuer
from gateway.crypto.errors import CERTIFICATE_REVOKED, UNTRUSTED_SIGNER, CryptoError
from gateway.crypto.model import TrustConfig

NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def issuer() -> _Issuer:
    return _Issuer(NOW)  # a CA valid until NOW + 3650 days


@pytest.fixture(scope="module")
def signer(issuer: _Issuer) -> x509.Certificate:
    # outlives its CA: at NOW + 3700 days only the CA has expired
    return issuer.issue(
        "long signer", ec.generate_private_key(ec.SECP256R1()), _SIGNING, days_from=-1, days_to=4000
    )


def _trust(issuer: _Issuer, revoked: tuple[x509.Certificate, ...] = ()) -> TrustConfig:
    return TrustConfig(
        anchors=[issuer.cert], crls=[issuer.crl(list(revoked))], allow_stale_crl=True
    )


def _validate(
    signer: x509.Certificate, trust: TrustConfig, when: datetime
) -> list[x509.Certificate]:
    return validate_signer(signer, [], trust, signing_time=when, now=when)


def test_a_remembered_chain_is_not_used_once_its_ca_expired(issuer, signer):
    assert _validate(signer, _trust(issuer), NOW)[0] == signer
    assert certpath._CHAINS, "the chain is remembered"
    with pytest.raises(CryptoError) as refused:
        _validate(signer, _trust(issuer), NOW + timedelta(days=3700))
    assert refused.value.code == UNTRUSTED_SIGNER


def test_other_anchors_do_not_reuse_the_chain(issuer, signer):
    _validate(signer, _trust(issuer), NOW)
    stranger = _Issuer(NOW)
    with pytest.raises(CryptoError) as refused:
        _validate(signer, TrustConfig(anchors=[stranger.cert], crls=[stranger.crl([])]), NOW)
    assert refused.value.code == UNTRUSTED_SIGNER


def test_a_revocation_published_after_the_chain_was_remembered(issuer, signer):
    _validate(signer, _trust(issuer), NOW)
    with pytest.raises(CryptoError) as refused:
        _validate(signer, _trust(issuer, (signer,)), NOW)
    assert refused.value.code == CERTIFICATE_REVOKED


def test_a_crl_signed_by_another_key_is_refused_every_time(issuer, signer):
    _validate(signer, _trust(issuer), NOW)
    forger = _Issuer(NOW)  # same subject name, another key
    forged = TrustConfig(anchors=[issuer.cert], crls=[forger.crl([])], allow_stale_crl=True)
    for _ in range(2):
        with pytest.raises(CryptoError) as refused:
            _validate(signer, forged, NOW)
        assert refused.value.code == UNTRUSTED_SIGNER
