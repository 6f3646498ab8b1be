"""The SignedData ``gateway.crypto.signing`` wrote with asn1crypto before it wrote DER
directly (issue 16): the reference its output must equal byte for byte.

One change: for a signing time outside 1950-2049 the old code raised ValueError
(asn1crypto's UTCTime refuses those years); this reference uses GeneralizedTime there,
as RFC 5652 (11.3) requires. ``signature`` stands in for the private key's signing so an
ECDSA signature (randomised) taken from the output under test can be placed in the
reference; with RSA PKCS#1 v1.5 (deterministic) the reference signs itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from gateway.crypto.model import SigningPrivateKey

Signature = Callable[[bytes], bytes]


def key_signature(key: SigningPrivateKey) -> Signature:
    """The signing the old code did with ``key`` (SHA-256; PKCS#1 v1.5 or ECDSA)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return lambda data: key.sign(data, ec.ECDSA(hashes.SHA256()))


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _time(when: datetime) -> cms.Time:
    if 1950 <= when.year <= 2049:
        return cms.Time({"utc_time": when})
    return cms.Time({"generalized_time": when})


def _signer_info(
    digest: bytes,
    key: SigningPrivateKey,
    cert: x509.Certificate,
    when: datetime,
    signature: Signature,
) -> cms.SignerInfo:
    when = when.astimezone(UTC).replace(microsecond=0)
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [_time(when)]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]}),
    ]
    attributes.sort(key=lambda attr: attr.dump())
    signed_attrs = cms.CMSAttributes(attributes)
    signature_value = signature(bytes(core.SetOf(contents=signed_attrs.contents).dump()))
    issuer_serial = cms.IssuerAndSerialNumber(
        {"issuer": _asn1_cert(cert).issuer, "serial_number": cert.serial_number}
    )
    algorithm = "rsassa_pkcs1v15" if isinstance(key, rsa.RSAPrivateKey) else "sha256_ecdsa"
    return cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(name="issuer_and_serial_number", value=issuer_serial),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": algorithm},
            "signature": signature_value,
        }
    )


def _signed_data(
    digest: bytes,
    key: SigningPrivateKey,
    cert: x509.Certificate,
    when: datetime,
    extra_certs: Sequence[x509.Certificate],
    content: bytes | None,
    signature: Signature,
) -> cms.SignedData:
    encap: dict[str, object] = {"content_type": "data"}
    if content is not None:
        encap["content"] = content
    return cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": encap,
            "certificates": [_asn1_cert(c) for c in (cert, *extra_certs)],
            "signer_infos": [_signer_info(digest, key, cert, when, signature)],
        }
    )


def reference_sign(
    content: bytes,
    key: SigningPrivateKey,
    cert: x509.Certificate,
    *,
    signing_time: datetime,
    extra_certs: Sequence[x509.Certificate] = (),
    signature: Signature | None = None,
) -> bytes:
    digest = hashlib.sha256(content).digest()
    signed_data = _signed_data(
        digest, key, cert, signing_time, extra_certs, content, signature or key_signature(key)
    )
    info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return bytes(info.dump())


def reference_parts(
    digest: bytes,
    key: SigningPrivateKey,
    cert: x509.Certificate,
    *,
    when: datetime,
    extra: Sequence[x509.Certificate] = (),
    signature: Signature | None = None,
) -> tuple[bytes, bytes, bytes]:
    signed_data = _signed_data(
        digest, key, cert, when, extra, None, signature or key_signature(key)
    )
    return (
        bytes(signed_data["digest_algorithms"].dump()),
        bytes(signed_data["certificates"].dump()),
        bytes(signed_data["signer_infos"].dump()),
    )
