"""CMS SignedData: ``sign`` (attached, openssl-shaped) and the signature half of verification."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from gateway.crypto._asn1 import OID_DATA, OID_SIGNED_DATA
from gateway.crypto._primitives import new_hash
from gateway.crypto.errors import (
    MALFORMED,
    SIGNATURE_INVALID,
    UNSUPPORTED_ALGORITHM,
    UNTRUSTED_SIGNER,
    CryptoError,
)
from gateway.crypto.model import SigningPrivateKey

_DIGESTS: Final = frozenset({"sha256", "sha384", "sha512"})
_RSA_PKCS1_SIGNATURES: Final = frozenset(
    {"rsassa_pkcs1v15", "sha256_rsa", "sha384_rsa", "sha512_rsa"}
)
_ECDSA_SIGNATURES: Final = frozenset({"sha256_ecdsa", "sha384_ecdsa", "sha512_ecdsa", "ecdsa"})


@dataclass(frozen=True)
class SignatureCheck:
    """What a SignedData whose signature verified says about itself."""

    content: bytes
    content_type: str
    signer: x509.Certificate
    embedded_certs: list[x509.Certificate]
    signing_time: datetime


def _attribute(attrs: cms.CMSAttributes, name: str) -> core.Asn1Value:
    found = [attr for attr in attrs if attr["type"].native == name]
    if len(found) != 1 or len(found[0]["values"]) != 1:
        raise CryptoError(MALFORMED, f"signed attribute {name} missing or repeated")
    return found[0]["values"][0]


def _verify_raw_signature(
    cert: x509.Certificate,
    algorithm: cms.SignedDigestAlgorithm,
    digest_name: str,
    signature: bytes,
    data: bytes,
) -> None:
    public_key = cert.public_key()
    name = algorithm["algorithm"].native
    hash_algorithm = new_hash(digest_name)
    if isinstance(public_key, rsa.RSAPublicKey) and name in _RSA_PKCS1_SIGNATURES:
        public_key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
    elif isinstance(public_key, rsa.RSAPublicKey) and name == "rsassa_pss":
        params = algorithm["parameters"]
        pss_hash = params["hash_algorithm"]["algorithm"].native
        if pss_hash != digest_name:
            raise CryptoError(UNSUPPORTED_ALGORITHM, "PSS hash differs from the digest")
        salt = int(params["salt_length"].native)
        public_key.verify(
            signature, data, padding.PSS(padding.MGF1(hash_algorithm), salt), hash_algorithm
        )
    elif isinstance(public_key, ec.EllipticCurvePublicKey) and name in _ECDSA_SIGNATURES:
        public_key.verify(signature, data, ec.ECDSA(hash_algorithm))
    elif isinstance(public_key, ed25519.Ed25519PublicKey) and name == "ed25519":
        public_key.verify(signature, data)
    else:
        raise CryptoError(UNSUPPORTED_ALGORITHM, f"signature algorithm {name}")


def _find_signer(sid: cms.SignerIdentifier, certs: list[x509.Certificate]) -> x509.Certificate:
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            if (
                sid.chosen["issuer"].dump() == cert.issuer.public_bytes()
                and sid.chosen["serial_number"].native == cert.serial_number
            ):
                return cert
        else:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ski.value.digest == sid.chosen.native:
                return cert
    raise CryptoError(UNTRUSTED_SIGNER, "signer certificate not included in the message")


def _embedded_certificates(signed_data: cms.SignedData) -> list[x509.Certificate]:
    if isinstance(signed_data["certificates"], core.Void):
        return []
    certs = []
    for choice in signed_data["certificates"]:
        if choice.name != "certificate":
            continue
        # cryptography only warns on non-positive serials; RFC 5280 forbids them, so refuse.
        if choice.chosen["tbs_certificate"]["serial_number"].native <= 0:
            raise CryptoError(MALFORMED, "certificate serial number is not positive")
        certs.append(x509.load_der_x509_certificate(choice.chosen.dump()))
    return certs


def check_signature(
    signed_data: cms.SignedData, *, streamed_digests: Mapping[str, bytes] | None = None
) -> SignatureCheck:
    """Check digest and signature of a one-signer, attached SignedData.

    ``streamed_digests`` (digest name -> digest) stands for content that was hashed as it
    streamed past instead of being held; ``content`` is then empty.
    Raises ``CryptoError``; asn1crypto errors propagate for the caller to map to malformed.
    """
    encap = signed_data["encap_content_info"]
    content_type = encap["content_type"].dotted
    if streamed_digests is None:
        content = encap["content"].native if encap["content"].native is not None else None
        if not isinstance(content, bytes):
            raise CryptoError(MALFORMED, "detached or non-octet-string content")
    else:
        content = b""
    signer_infos = signed_data["signer_infos"]
    if len(signer_infos) != 1:
        raise CryptoError(MALFORMED, f"{len(signer_infos)} signers, exactly one expected")
    signer_info = signer_infos[0]
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in _DIGESTS:
        raise CryptoError(UNSUPPORTED_ALGORITHM, f"digest {digest_name}")
    attrs = signer_info["signed_attrs"]
    if isinstance(attrs, core.Void):
        raise CryptoError(MALFORMED, "signed attributes are required")
    if _attribute(attrs, "content_type").dotted != content_type:
        raise CryptoError(SIGNATURE_INVALID, "content-type attribute differs from the content")
    expected_digest = _attribute(attrs, "message_digest").native
    signing_time = _attribute(attrs, "signing_time").native
    if not isinstance(signing_time, datetime):
        raise CryptoError(MALFORMED, "signing-time is not a time")
    embedded = _embedded_certificates(signed_data)
    signer = _find_signer(signer_info["sid"], embedded)
    if streamed_digests is None:
        actual_digest = hashlib.new(digest_name, content).digest()
    elif digest_name in streamed_digests:
        actual_digest = streamed_digests[digest_name]
    else:
        raise CryptoError(MALFORMED, "signer's digest algorithm not announced before the content")
    if not hmac.compare_digest(actual_digest, expected_digest):
        raise CryptoError(SIGNATURE_INVALID, "message digest does not match the content")
    signed_bytes = bytes(core.SetOf(contents=attrs.contents).dump())
    try:
        _verify_raw_signature(
            signer,
            signer_info["signature_algorithm"],
            digest_name,
            signer_info["signature"].native,
            signed_bytes,
        )
    except InvalidSignature:
        raise CryptoError(SIGNATURE_INVALID, "signature does not verify") from None
    return SignatureCheck(content, content_type, signer, embedded, signing_time.astimezone(UTC))


def _signature_algorithm(key: SigningPrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsassa_pkcs1v15"  # rsaEncryption, as openssl writes it
    return "sha256_ecdsa"


def _sign_bytes(key: SigningPrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _signer_info(
    digest: bytes, key: SigningPrivateKey, cert: x509.Certificate, when: datetime
) -> cms.SignerInfo:
    """One SignerInfo over a content whose SHA-256 is ``digest`` (id-data, signed attrs)."""
    when = when.astimezone(UTC).replace(microsecond=0)
    attributes = [
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": when})]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]}),
    ]
    # DER orders SET OF by encoding; verifiers re-encode before checking the signature.
    attributes.sort(key=lambda attr: attr.dump())
    signed_attrs = cms.CMSAttributes(attributes)
    signature = _sign_bytes(key, bytes(core.SetOf(contents=signed_attrs.contents).dump()))
    issuer_serial = cms.IssuerAndSerialNumber(
        {"issuer": _asn1_cert(cert).issuer, "serial_number": cert.serial_number}
    )
    return cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(name="issuer_and_serial_number", value=issuer_serial),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": {"algorithm": _signature_algorithm(key)},
            "signature": signature,
        }
    )


def _signed_data(
    digest: bytes,
    key: SigningPrivateKey,
    cert: x509.Certificate,
    when: datetime,
    extra_certs: Sequence[x509.Certificate],
    content: bytes | None,
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
            "signer_infos": [_signer_info(digest, key, cert, when)],
        }
    )


def sign(
    content: bytes,
    key: SigningPrivateKey,
    cert: x509.Certificate,
    *,
    extra_certs: Sequence[x509.Certificate] = (),
    signing_time: datetime | None = None,
) -> bytes:
    """Attached SignedData over ``content`` (id-data, SHA-256), shaped like openssl cms -sign."""
    when = signing_time or datetime.now(UTC)
    digest = hashlib.sha256(content).digest()
    signed_data = _signed_data(digest, key, cert, when, extra_certs, content)
    info = cms.ContentInfo({"content_type": "signed_data", "content": signed_data})
    return bytes(info.dump())


def signed_data_parts(
    digest: bytes,
    key: SigningPrivateKey,
    cert: x509.Certificate,
    *,
    when: datetime,
    extra: Sequence[x509.Certificate] = (),
) -> tuple[bytes, bytes, bytes]:
    """DER of digestAlgorithms, certificates [0] and signerInfos of a SignedData whose
    content's SHA-256 is ``digest``: the pieces a streaming writer puts around the content."""
    signed_data = _signed_data(digest, key, cert, when, extra, None)
    return (
        bytes(signed_data["digest_algorithms"].dump()),
        bytes(signed_data["certificates"].dump()),
        bytes(signed_data["signer_infos"].dump()),
    )


def load_signed_data(info: cms.ContentInfo) -> cms.SignedData:
    if info["content_type"].dotted != OID_SIGNED_DATA:
        raise CryptoError(MALFORMED, "not a SignedData")
    signed_data: cms.SignedData = info["content"]
    return signed_data


__all__ = [
    "OID_DATA",
    "SignatureCheck",
    "check_signature",
    "load_signed_data",
    "sign",
    "signed_data_parts",
]
