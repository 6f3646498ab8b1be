"""``sign`` and ``signed_data_parts`` write SignedData DER directly: byte for byte what the
asn1crypto code they replaced wrote (``cms_reference``), and openssl verifies it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import cms, core
from cms_reference import reference_parts, reference_sign
from crypto_support import load_signer, openssl
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from gateway.crypto.devpki import DevPki
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.crypto.model import SigningPrivateKey
from gateway.crypto.signing import check_signature, load_signed_data, sign, signed_data_parts

TIMES = {
    "utc-first-year": datetime(1950, 1, 1, tzinfo=UTC),
    "now-with-microseconds": datetime(2026, 12, 5, 17, 31, 53, 123456, tzinfo=UTC),
    "utc-last-second": datetime(2049, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    "generalized-2050": datetime(2050, 1, 1, tzinfo=UTC),
    "generalized-after-conversion": datetime(
        2049, 12, 31, 23, 30, tzinfo=timezone(-timedelta(hours=2))
    ),
    "utc-after-conversion": datetime(2050, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))),
    "generalized-before-1950": datetime(1949, 12, 31, 23, 59, 59, tzinfo=UTC),
    "generalized-far": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
}
# lengths around every change of the DER length form, inside and outside
CONTENTS = {
    size: hashlib.sha256(str(size).encode()).digest() * (size // 32) + b"\x00" * (size % 32)
    for size in (0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 20)
}


@dataclass(frozen=True)
class Signing:
    key: SigningPrivateKey
    cert: x509.Certificate
    extra: tuple[x509.Certificate, ...]
    ca: Path  # what openssl verifies the chain against


def _issue(pki: DevPki, key: SigningPrivateKey, serial: int, name: str) -> x509.Certificate:
    """A signing certificate from the dev CA with a chosen serial number."""
    ca_key = load_private_key(pki.ca.key)
    ca_cert = load_certificate(pki.ca.cert)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(ca_key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def signings(pki: DevPki) -> dict[str, Signing]:
    ca = load_certificate(pki.ca.cert)
    rsa_signer = load_signer(pki.magistrates["rsa"].cert, pki.magistrates["rsa"].key)
    ec_signer = load_signer(pki.magistrates["ec"].cert, pki.magistrates["ec"].key)
    seal = load_signer(pki.seal.cert, pki.seal.key)
    other = load_certificate(pki.authorities["authority-a"]["signing"].cert)
    p384 = ec.generate_private_key(ec.SECP384R1())
    rsa2048 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "rsa-3072": Signing(rsa_signer.key, rsa_signer.cert, (), pki.ca.cert),
        "rsa-3072+chain": Signing(rsa_signer.key, rsa_signer.cert, (ca, other), pki.ca.cert),
        "ec-p256": Signing(ec_signer.key, ec_signer.cert, (), pki.ca.cert),
        "ec-p256+chain": Signing(ec_signer.key, ec_signer.cert, (other, ca), pki.ca.cert),
        "seal": Signing(seal.key, seal.cert, (ca,), pki.ca.cert),
        # serials whose INTEGER needs a leading zero byte, and the smallest one
        "ec-p384-serial-0x80": Signing(p384, _issue(pki, p384, 0x80, "p384"), (), pki.ca.cert),
        "rsa-2048-serial-1": Signing(
            rsa2048, _issue(pki, rsa2048, 1, "rsa2048"), (ca,), pki.ca.cert
        ),
    }


def _reused_signature(
    signer_info: cms.SignerInfo, key: SigningPrivateKey
) -> Callable[[bytes], bytes] | None:
    """For the reference: None for RSA (PKCS#1 v1.5 is deterministic, the reference signs
    again); for ECDSA (random) the SignerInfo's own signature, checked first."""
    signature = _signature_of(signer_info, key)
    return None if isinstance(key, rsa.RSAPrivateKey) else lambda _: signature


def _signature_of(signer_info: cms.SignerInfo, key: SigningPrivateKey) -> bytes:
    """The SignerInfo's signature, after checking it over its signed attributes."""
    signature: bytes = signer_info["signature"].native
    signed = bytes(core.SetOf(contents=signer_info["signed_attrs"].contents).dump())
    public_key = key.public_key()
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    else:
        public_key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    return signature


def _reference(content: bytes, signing: Signing, when: datetime, der: bytes) -> bytes:
    """The reference encoding; an ECDSA signature (random) is taken from ``der``."""
    signer_info = cms.ContentInfo.load(der)["content"]["signer_infos"][0]
    return reference_sign(
        content,
        signing.key,
        signing.cert,
        signing_time=when,
        extra_certs=signing.extra,
        signature=_reused_signature(signer_info, signing.key),
    )


@pytest.mark.parametrize(
    "signer",
    [
        "rsa-3072",
        "rsa-3072+chain",
        "ec-p256",
        "ec-p256+chain",
        "seal",
        "ec-p384-serial-0x80",
        "rsa-2048-serial-1",
    ],
)
@pytest.mark.parametrize("time", list(TIMES))
def test_sign_writes_the_bytes_asn1crypto_wrote(
    signings: dict[str, Signing], signer: str, time: str
) -> None:
    signing, when = signings[signer], TIMES[time]
    content = b'{"receipt": "' + signer.encode() + b'"}'
    der = sign(content, signing.key, signing.cert, extra_certs=signing.extra, signing_time=when)
    assert der == _reference(content, signing, when, der)
    check = check_signature(load_signed_data(cms.ContentInfo.load(der)))
    assert check.content == content
    assert check.signing_time == when.astimezone(UTC).replace(microsecond=0)
    assert check.signer == signing.cert
    time_choice = cms.ContentInfo.load(der)["content"]["signer_infos"][0]["signed_attrs"][1]
    assert time_choice["type"].native == "signing_time"
    utc = 1950 <= when.astimezone(UTC).year <= 2049
    assert time_choice["values"][0].name == ("utc_time" if utc else "generalized_time")


@pytest.mark.parametrize("size", list(CONTENTS))
@pytest.mark.parametrize("signer", ["rsa-3072+chain", "ec-p256"])
def test_every_length_form_matches(signings: dict[str, Signing], signer: str, size: int) -> None:
    signing, content, when = signings[signer], CONTENTS[size], TIMES["now-with-microseconds"]
    der = sign(content, signing.key, signing.cert, extra_certs=signing.extra, signing_time=when)
    assert der == _reference(content, signing, when, der)
    assert check_signature(load_signed_data(cms.ContentInfo.load(der))).content == content


@pytest.mark.parametrize("signer", ["rsa-3072", "rsa-3072+chain", "ec-p256+chain", "seal"])
@pytest.mark.parametrize("time", ["now-with-microseconds", "generalized-2050"])
def test_streaming_parts_match(signings: dict[str, Signing], signer: str, time: str) -> None:
    signing, when = signings[signer], TIMES[time]
    digest = hashlib.sha256(b"streamed content").digest()
    parts = signed_data_parts(digest, signing.key, signing.cert, when=when, extra=signing.extra)
    signer_info = cms.SignerInfos.load(parts[2])[0]
    expected = reference_parts(
        digest,
        signing.key,
        signing.cert,
        when=when,
        extra=signing.extra,
        signature=_reused_signature(signer_info, signing.key),
    )
    assert parts == expected


def test_default_signing_time_is_now(signings: dict[str, Signing]) -> None:
    signing = signings["ec-p256"]
    before = datetime.now(UTC).replace(microsecond=0)
    der = sign(b"now", signing.key, signing.cert)
    after = datetime.now(UTC)
    when = check_signature(load_signed_data(cms.ContentInfo.load(der))).signing_time
    assert before <= when <= after
    assert der == _reference(b"now", signing, when, der)


def test_certificates_of_one_call_do_not_leak_into_the_next(
    signings: dict[str, Signing],
) -> None:
    """The per-certificate DER is cached: alternate signers and chains, check each output."""
    for name in ["rsa-3072", "rsa-3072+chain", "ec-p256+chain", "rsa-3072", "ec-p256"] * 2:
        signing = signings[name]
        der = sign(b"x", signing.key, signing.cert, extra_certs=signing.extra)
        embedded = check_signature(load_signed_data(cms.ContentInfo.load(der))).embedded_certs
        assert sorted(c.serial_number for c in embedded) == sorted(
            c.serial_number for c in (signing.cert, *signing.extra)
        )


@pytest.mark.parametrize("signer", ["rsa-3072+chain", "ec-p256", "seal", "ec-p384-serial-0x80"])
@pytest.mark.parametrize("time", ["now-with-microseconds", "generalized-2050", "utc-first-year"])
def test_openssl_verifies_the_output(
    signings: dict[str, Signing], tmp_path: Path, signer: str, time: str
) -> None:
    signing = signings[signer]
    content = b"verified by openssl " + signer.encode()
    der = sign(
        content, signing.key, signing.cert, extra_certs=signing.extra, signing_time=TIMES[time]
    )
    signed = tmp_path / "signed.der"
    signed.write_bytes(der)
    out = openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", signed,
        "-CAfile", signing.ca, "-purpose", "any",
    )  # fmt: skip
    assert out == content
    printed = openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", signed).decode()
    tag = "UTCTIME" if 1950 <= TIMES[time].year <= 2049 else "GENERALIZEDTIME"
    assert f"{tag}:" in printed
