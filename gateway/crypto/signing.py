"""CMS SignedData: ``sign`` (attached, openssl-shaped) and the signature half of verification."""

from __future__ import annotations

import functools
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

from gateway.crypto import _der
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


# The fixed parts of the SignedData ``sign`` writes, DER-encoded once.
_OID_DATA: Final = bytes(core.ObjectIdentifier(OID_DATA).dump())
_OID_SIGNED_DATA: Final = bytes(core.ObjectIdentifier(OID_SIGNED_DATA).dump())
_SHA256: Final = bytes(algos.DigestAlgorithm({"algorithm": "sha256"}).dump())
_DIGEST_ALGORITHMS: Final = _der.tlv(_der.SET, _SHA256)
_RSA_SIGNATURE: Final = bytes(  # rsaEncryption, as openssl writes it
    algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"}).dump()
)
_ECDSA_SIGNATURE: Final = bytes(algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump())
_VERSION_1: Final = bytes(core.Integer(1).dump())
_SHA256_HASH: Final = hashes.SHA256()
_PKCS1V15: Final = padding.PKCS1v15()
_ECDSA_SHA256: Final = ec.ECDSA(_SHA256_HASH)  # ECDSA() imports on every construction


def _attribute_der(name: str, value: bytes) -> bytes:
    oid = bytes(cms.CMSAttributeType(name).dump())
    return _der.tlv(_der.SEQUENCE, oid, _der.tlv(_der.SET, value))


_CONTENT_TYPE_ATTRIBUTE: Final = _attribute_der("content_type", _OID_DATA)
_SIGNING_TIME_HEAD: Final = bytes(cms.CMSAttributeType("signing_time").dump())
_MESSAGE_DIGEST_HEAD: Final = bytes(cms.CMSAttributeType("message_digest").dump())


@dataclass(frozen=True)
class _SignerParts:
    """DER that depends only on the signer's certificate and the certificates sent along."""

    certificates: bytes  # certificates [0] IMPLICIT CertificateSet
    signer_id: bytes  # IssuerAndSerialNumber


@functools.lru_cache(maxsize=16)
def _signer_parts(cert: x509.Certificate, extra: tuple[x509.Certificate, ...]) -> _SignerParts:
    ders = [c.public_bytes(serialization.Encoding.DER) for c in (cert, *extra)]
    issuer = asn1_x509.Certificate.load(ders[0])["tbs_certificate"]["issuer"].dump()
    serial = core.Integer(cert.serial_number).dump()
    return _SignerParts(
        certificates=_der.tlv(_der.CONTEXT_0, *sorted(ders)),  # DER sorts a SET OF
        signer_id=_der.tlv(_der.SEQUENCE, issuer, serial),
    )


def _time_der(when: datetime) -> bytes:
    """RFC 5652 Time: UTCTime for 1950 through 2049, GeneralizedTime otherwise."""
    if 1950 <= when.year <= 2049:
        return _der.tlv(_der.UTC_TIME, when.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    text = f"{when.year:04d}{when:%m%d%H%M%S}Z"
    return _der.tlv(_der.GENERALIZED_TIME, text.encode("ascii"))


def _sign_bytes(key: SigningPrivateKey, data: bytes) -> tuple[bytes, bytes]:
    """Signature algorithm identifier and signature of ``data`` (SHA-256)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return _RSA_SIGNATURE, key.sign(data, _PKCS1V15, _SHA256_HASH)
    return _ECDSA_SIGNATURE, key.sign(data, _ECDSA_SHA256)


def _signer_infos(digest: bytes, key: SigningPrivateKey, sid: bytes, when: datetime) -> bytes:
    """SignerInfos holding one SignerInfo over a content whose SHA-256 is ``digest``
    (id-data, signed attributes content-type, signing-time, message-digest)."""
    when = when.astimezone(UTC).replace(microsecond=0)
    signing_time = _der.tlv(_der.SEQUENCE, _SIGNING_TIME_HEAD, _der.tlv(_der.SET, _time_der(when)))
    message_digest = _der.tlv(
        _der.SEQUENCE,
        _MESSAGE_DIGEST_HEAD,
        _der.tlv(_der.SET, _der.tlv(_der.OCTET_STRING, digest)),
    )
    # DER orders SET OF by encoding; the signature covers the attributes as a SET OF.
    attributes = b"".join(sorted((_CONTENT_TYPE_ATTRIBUTE, signing_time, message_digest)))
    algorithm, signature = _sign_bytes(key, _der.tlv(_der.SET, attributes))
    signer_info = _der.tlv(
        _der.SEQUENCE,
        _VERSION_1,
        sid,
        _SHA256,
        _der.tlv(_der.CONTEXT_0, attributes),  # signedAttrs [0] IMPLICIT
        algorithm,
        _der.tlv(_der.OCTET_STRING, signature),
    )
    return _der.tlv(_der.SET, signer_info)


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
    parts = _signer_parts(cert, tuple(extra_certs))
    encap = _der.wrap(
        _der.SEQUENCE,
        [_OID_DATA, *_der.wrap(_der.CONTEXT_0, _der.wrap(_der.OCTET_STRING, [content]))],
    )
    signed_data = _der.wrap(
        _der.SEQUENCE,
        [
            _VERSION_1,
            _DIGEST_ALGORITHMS,
            *encap,
            parts.certificates,
            _signer_infos(hashlib.sha256(content).digest(), key, parts.signer_id, when),
        ],
    )
    info = _der.wrap(_der.SEQUENCE, [_OID_SIGNED_DATA, *_der.wrap(_der.CONTEXT_0, signed_data)])
    return b"".join(info)


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
    parts = _signer_parts(cert, tuple(extra))
    signer_infos = _signer_infos(digest, key, parts.signer_id, when)
    return _DIGEST_ALGORITHMS, parts.certificates, signer_infos


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
