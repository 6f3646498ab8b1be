"""RecipientInfo handling: parse, match to our keys, unwrap the content key; and build.

Unwrap failures never surface on their own: the caller receives a random key and
a failure note, so a bad OAEP block, a bad AES wrap and a bad GCM tag all end in
the same opaque ``InvalidEnvelope`` raised after content decryption.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms, keys
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap

from gateway.crypto import _primitives
from gateway.crypto._asn1 import (
    ECDH_SCHEME_HASHES,
    OID_AES256_WRAP,
    OID_ECDH_STD_SHA256KDF,
    OID_RSAES_OAEP,
    OID_RSAES_PKCS1V15,
    WRAP_KEY_SIZES,
    KeyWrapAlgorithm,
)
from gateway.crypto.errors import MALFORMED, UNSUPPORTED_ALGORITHM, CryptoError
from gateway.crypto.model import RecipientKey

_OAEP_HASHES = frozenset({"sha256", "sha384", "sha512"})


@dataclass(frozen=True)
class RecipientRef:
    """How a RecipientInfo names its recipient: issuer+serial or subject key identifier."""

    issuer_der: bytes | None
    serial: int | None
    key_identifier: bytes | None

    def matches(self, cert: x509.Certificate) -> bool:
        if self.key_identifier is not None:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                return False
            return ski.value.digest == self.key_identifier
        return self.issuer_der == cert.issuer.public_bytes() and self.serial == cert.serial_number


@dataclass(frozen=True)
class ParsedRecipient:
    """One (recipient, wrapped key) pair with its algorithm, extracted from the ASN.1."""

    ref: RecipientRef
    encrypted_key: bytes
    kind: str  # "rsa-oaep", "rsa-pkcs1v15", "ecdh", "other"
    hash_name: str = ""
    unsupported_reason: str = ""
    originator_point: bytes = b""
    wrap_algorithm_der: bytes = b""
    kek_size: int = 0
    ukm: bytes | None = None


def _ref_from_ktri_rid(rid: cms.RecipientIdentifier) -> RecipientRef:
    if rid.name == "issuer_and_serial_number":
        return RecipientRef(rid.chosen["issuer"].dump(), rid.chosen["serial_number"].native, None)
    return RecipientRef(None, None, rid.chosen.native)


def _ref_from_kari_rid(rid: cms.KeyAgreementRecipientIdentifier) -> RecipientRef:
    if rid.name == "issuer_and_serial_number":
        return RecipientRef(rid.chosen["issuer"].dump(), rid.chosen["serial_number"].native, None)
    return RecipientRef(None, None, rid.chosen["subject_key_identifier"].native)


def _parse_ktri(ktri: cms.KeyTransRecipientInfo) -> ParsedRecipient:
    ref = _ref_from_ktri_rid(ktri["rid"])
    encrypted_key = ktri["encrypted_key"].native
    algorithm = ktri["key_encryption_algorithm"]
    oid = algorithm["algorithm"].dotted
    if oid == OID_RSAES_PKCS1V15:
        return ParsedRecipient(
            ref, encrypted_key, "rsa-pkcs1v15", unsupported_reason="RSA PKCS#1 v1.5"
        )
    if oid != OID_RSAES_OAEP:
        return ParsedRecipient(
            ref, encrypted_key, "other", unsupported_reason=f"key transport {oid}"
        )
    params = algorithm["parameters"]
    hash_name = params["hash_algorithm"]["algorithm"].native
    mgf = params["mask_gen_algorithm"]
    mgf_hash = mgf["parameters"]["algorithm"].native if mgf["algorithm"].native == "mgf1" else None
    label = params["p_source_algorithm"]["parameters"].native
    if hash_name not in _OAEP_HASHES or mgf_hash != hash_name or label:
        reason = f"OAEP with {hash_name}/{mgf_hash} and label {bool(label)}"
        return ParsedRecipient(ref, encrypted_key, "other", unsupported_reason=reason)
    return ParsedRecipient(ref, encrypted_key, "rsa-oaep", hash_name=hash_name)


def _parse_kari(kari: cms.KeyAgreeRecipientInfo) -> list[ParsedRecipient]:
    originator = kari["originator"]
    if originator.name != "originator_key":
        raise CryptoError(MALFORMED, "ECDH originator is not an ephemeral public key")
    point = originator.chosen["public_key"].native
    if not isinstance(point, bytes):
        raise CryptoError(MALFORMED, "ECDH originator key is not a point")
    ukm = kari["ukm"].native
    algorithm = kari["key_encryption_algorithm"]
    scheme = algorithm["algorithm"].dotted
    hash_name = ECDH_SCHEME_HASHES.get(scheme, "")
    wrap_der = algorithm["parameters"].dump() if hash_name else b""
    wrap_oid = KeyWrapAlgorithm.load(wrap_der)["algorithm"].dotted if wrap_der else ""
    kek_size = WRAP_KEY_SIZES.get(wrap_oid, 0)
    reason = "" if kek_size else f"key agreement {scheme} with wrap {wrap_oid or '-'}"
    return [
        ParsedRecipient(
            _ref_from_kari_rid(rek["rid"]),
            rek["encrypted_key"].native,
            "ecdh" if kek_size else "other",
            hash_name=hash_name,
            unsupported_reason=reason,
            originator_point=point,
            wrap_algorithm_der=wrap_der,
            kek_size=kek_size,
            ukm=ukm,
        )
        for rek in kari["recipient_encrypted_keys"]
    ]


def parse_recipient_infos(infos: cms.RecipientInfos) -> list[ParsedRecipient]:
    """Extract every recipient; raises asn1crypto's ValueError/TypeError on bad ASN.1."""
    parsed: list[ParsedRecipient] = []
    for info in infos:
        if info.name == "ktri":
            parsed.append(_parse_ktri(info.chosen))
        elif info.name == "kari":
            parsed.extend(_parse_kari(info.chosen))
    return parsed


def _key_fits(recipient: ParsedRecipient, key: RecipientKey) -> bool:
    if recipient.kind.startswith("rsa"):
        return isinstance(key.private_key, rsa.RSAPrivateKey)
    if recipient.kind == "ecdh":
        return isinstance(key.private_key, ec.EllipticCurvePrivateKey)
    return True


def _unwrap(recipient: ParsedRecipient, key: RecipientKey) -> bytes:
    private_key = key.private_key
    if recipient.kind == "rsa-oaep" and isinstance(private_key, rsa.RSAPrivateKey):
        return _primitives.rsa_oaep_unwrap(
            private_key, recipient.encrypted_key, recipient.hash_name
        )
    if recipient.kind == "ecdh" and isinstance(private_key, ec.EllipticCurvePrivateKey):
        return _primitives.ecdh_unwrap(
            private_key,
            recipient.originator_point,
            hash_name=recipient.hash_name,
            wrap_algorithm_der=recipient.wrap_algorithm_der,
            kek_size=recipient.kek_size,
            ukm=recipient.ukm,
            encrypted_key=recipient.encrypted_key,
        )
    raise ValueError("recipient algorithm does not fit the key type")


def unwrap_content_key(
    recipients: Sequence[ParsedRecipient], keys_: Sequence[RecipientKey], key_size: int
) -> tuple[bytes, str]:
    """Return (content key, failure note). On failure the key is random and the note non-empty.

    Raises ``unsupported-algorithm`` only when every recipient addressed to us uses an
    algorithm we refuse; that decision rests on public header fields alone.
    """
    matching = [
        (recipient, key)
        for recipient in recipients
        for key in keys_
        if recipient.ref.matches(key.certificate) and _key_fits(recipient, key)
    ]
    usable = [(r, k) for r, k in matching if not r.unsupported_reason]
    if matching and not usable:
        raise CryptoError(UNSUPPORTED_ALGORITHM, matching[0][0].unsupported_reason)
    failure = "" if usable else "no recipient info addressed to our keys"
    for recipient, key in usable:
        try:
            content_key = _unwrap(recipient, key)
        except (ValueError, InvalidUnwrap) as exc:
            failure = f"{recipient.kind} unwrap failed: {type(exc).__name__}"
            continue
        if len(content_key) == key_size:
            return content_key, ""
        failure = f"{recipient.kind} unwrapped a {len(content_key)}-byte key"
    return os.urandom(key_size), failure


def _issuer_and_serial(cert: x509.Certificate) -> cms.IssuerAndSerialNumber:
    return cms.IssuerAndSerialNumber(
        {
            "issuer": cms.Name.load(cert.issuer.public_bytes()),
            "serial_number": cert.serial_number,
        }
    )


def build_recipient_info(cert: x509.Certificate, content_key: bytes) -> cms.RecipientInfo:
    """RSA-OAEP-SHA256 key transport or ECDH (sha256 KDF, AES-256 wrap), like openssl."""
    public_key = cert.public_key()
    if isinstance(public_key, rsa.RSAPublicKey):
        sha256 = {"algorithm": "sha256"}
        ktri = cms.KeyTransRecipientInfo(
            {
                "version": "v0",
                "rid": cms.RecipientIdentifier(
                    name="issuer_and_serial_number", value=_issuer_and_serial(cert)
                ),
                "key_encryption_algorithm": {
                    "algorithm": "rsaes_oaep",
                    "parameters": {
                        "hash_algorithm": sha256,
                        "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": sha256},
                    },
                },
                "encrypted_key": _primitives.rsa_oaep_wrap(public_key, content_key),
            }
        )
        return cms.RecipientInfo(name="ktri", value=ktri)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        wrap_der = KeyWrapAlgorithm({"algorithm": OID_AES256_WRAP}).dump()
        point, wrapped = _primitives.ecdh_wrap(
            public_key, content_key, hash_name="sha256", wrap_algorithm_der=wrap_der, kek_size=32
        )
        kari = cms.KeyAgreeRecipientInfo(
            {
                "version": "v3",
                "originator": cms.OriginatorIdentifierOrKey(
                    name="originator_key",
                    value=keys.PublicKeyInfo(
                        {"algorithm": {"algorithm": "ec"}, "public_key": point}
                    ),
                ),
                "key_encryption_algorithm": {
                    "algorithm": OID_ECDH_STD_SHA256KDF,
                    "parameters": KeyWrapAlgorithm.load(wrap_der),
                },
                "recipient_encrypted_keys": [
                    {
                        "rid": cms.KeyAgreementRecipientIdentifier(
                            name="issuer_and_serial_number", value=_issuer_and_serial(cert)
                        ),
                        "encrypted_key": wrapped,
                    }
                ],
            }
        )
        return cms.RecipientInfo(name="kari", value=kari)
    raise CryptoError(UNSUPPORTED_ALGORITHM, f"recipient key type {type(public_key).__name__}")
