"""CMS AuthEnvelopedData (RFC 5083, AES-GCM per RFC 5084) and legacy EnvelopedData.

``decrypt_envelope`` accepts what ``openssl cms -encrypt -aes-256-gcm`` emits
(RSA-OAEP or ECDH recipients); ``encrypt_envelope`` emits the same shape.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from asn1crypto import cms, core
from cryptography import x509
from cryptography.exceptions import InvalidTag

from gateway.crypto import _primitives
from gateway.crypto._asn1 import (
    CBC_KEY_SIZES,
    GCM_KEY_SIZES,
    OID_AES256_GCM,
    OID_AUTH_ENVELOPED_DATA,
    OID_DATA,
    OID_ENVELOPED_DATA,
    OID_SIGNED_DATA,
    GcmParameters,
)
from gateway.crypto.der_guard import check_ber_structure
from gateway.crypto.errors import MALFORMED, UNSUPPORTED_ALGORITHM, CryptoError, InvalidEnvelope
from gateway.crypto.model import RecipientKey
from gateway.crypto.recipients import (
    ParsedRecipient,
    build_recipient_info,
    parse_recipient_infos,
    unwrap_content_key,
)

DEFAULT_MAX_ENVELOPE_SIZE: Final = 64 * 1024 * 1024
# What asn1crypto and cryptography's lazy X.509 parsing raise on hostile encodings.
ASN1_ERRORS: Final = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
_INNER_CONTENT_TYPES: Final = frozenset({OID_DATA, OID_SIGNED_DATA})
GCM_NONCE_SIZE: Final = 12


@dataclass(frozen=True)
class ContentCipher:
    """The content-encryption algorithm: AES-GCM (nonce, tag length) or legacy AES-CBC (iv)."""

    mode: str  # "gcm" | "cbc"
    key_size: int
    nonce: bytes
    tag_length: int = 16


@dataclass(frozen=True)
class ParsedEnvelope:
    recipients: list[ParsedRecipient]
    cipher: ContentCipher
    ciphertext: bytes
    mac: bytes
    aad: bytes


def parse_content_cipher(algorithm: core.Sequence, *, allow_cbc: bool) -> ContentCipher:
    """Map an EncryptionAlgorithm to a ContentCipher, refusing everything not AES-GCM/CBC."""
    oid = algorithm["algorithm"].dotted
    if oid in GCM_KEY_SIZES:
        params = GcmParameters.load(algorithm["parameters"].dump())
        nonce = params["aes_nonce"].native
        tag_length = params["aes_icvlen"].native
        if len(nonce) != GCM_NONCE_SIZE or not 12 <= tag_length <= 16:
            raise CryptoError(UNSUPPORTED_ALGORITHM, "GCM nonce must be 12 bytes, ICV 12..16")
        return ContentCipher("gcm", GCM_KEY_SIZES[oid], nonce, tag_length)
    if oid in CBC_KEY_SIZES and allow_cbc:
        iv = algorithm["parameters"].native
        if not isinstance(iv, bytes) or len(iv) != 16:
            raise CryptoError(MALFORMED, "CBC IV must be 16 bytes")
        return ContentCipher("cbc", CBC_KEY_SIZES[oid], iv)
    raise CryptoError(UNSUPPORTED_ALGORITHM, f"content encryption {oid}")


def _retag_as_set(tagged: core.Asn1Value) -> bytes:
    """DER of an IMPLICIT [n] SET OF attributes with its universal SET tag restored."""
    return bytes(core.SetOf(contents=tagged.contents).dump())


def _parse(data: bytes, *, allow_legacy_cbc: bool) -> ParsedEnvelope:
    info = cms.ContentInfo.load(data)
    content_type = info["content_type"].dotted
    if content_type == OID_ENVELOPED_DATA and not allow_legacy_cbc:
        raise CryptoError(UNSUPPORTED_ALGORITHM, "legacy EnvelopedData is not enabled")
    if content_type not in (OID_AUTH_ENVELOPED_DATA, OID_ENVELOPED_DATA):
        raise CryptoError(MALFORMED, f"outer content type {content_type} is not an envelope")
    envelope = info["content"]
    authenticated = content_type == OID_AUTH_ENVELOPED_DATA
    if authenticated and envelope["version"].native != "v0":
        raise CryptoError(MALFORMED, "AuthEnvelopedData version must be 0")
    eci = envelope["auth_encrypted_content_info" if authenticated else "encrypted_content_info"]
    if eci["content_type"].dotted not in _INNER_CONTENT_TYPES:
        raise CryptoError(MALFORMED, "inner content type is neither data nor signedData")
    cipher = parse_content_cipher(eci["content_encryption_algorithm"], allow_cbc=not authenticated)
    if (cipher.mode == "gcm") != authenticated:
        raise CryptoError(UNSUPPORTED_ALGORITHM, "cipher does not fit the envelope type")
    encrypted = eci["encrypted_content"]
    if isinstance(encrypted, core.Void):
        raise CryptoError(MALFORMED, "detached encrypted content")
    ciphertext = encrypted.native
    mac = envelope["mac"].native if authenticated else b""
    aad = b""
    if authenticated and not isinstance(envelope["auth_attrs"], core.Void):
        aad = _retag_as_set(envelope["auth_attrs"])
    if authenticated and len(mac) != cipher.tag_length:
        raise CryptoError(MALFORMED, "MAC length differs from the declared ICV length")
    return ParsedEnvelope(
        recipients=parse_recipient_infos(envelope["recipient_infos"]),
        cipher=cipher,
        ciphertext=ciphertext,
        mac=mac,
        aad=aad,
    )


def decrypt_envelope(
    data: bytes,
    recipient_keys: Sequence[RecipientKey],
    *,
    allow_legacy_cbc: bool = False,
    max_size: int = DEFAULT_MAX_ENVELOPE_SIZE,
) -> bytes:
    """Decrypt an AuthEnvelopedData (or, if allowed, AES-CBC EnvelopedData) to its content.

    Every decryption failure raises the same ``InvalidEnvelope``; structure problems
    raise ``CryptoError(malformed)``, refused algorithms ``unsupported-algorithm``.
    """
    return decrypt_envelope_mode(
        data, recipient_keys, allow_legacy_cbc=allow_legacy_cbc, max_size=max_size
    )[0]


def decrypt_envelope_mode(
    data: bytes,
    recipient_keys: Sequence[RecipientKey],
    *,
    allow_legacy_cbc: bool = False,
    max_size: int = DEFAULT_MAX_ENVELOPE_SIZE,
) -> tuple[bytes, str]:
    """`decrypt_envelope`, also saying which content cipher was used ("gcm" | "cbc")."""
    check_ber_structure(data, max_size=max_size)
    try:
        parsed = _parse(data, allow_legacy_cbc=allow_legacy_cbc)
    except ASN1_ERRORS as exc:
        raise CryptoError(MALFORMED, f"envelope ASN.1: {type(exc).__name__}") from None
    content_key, failure = unwrap_content_key(
        parsed.recipients, recipient_keys, parsed.cipher.key_size
    )
    cipher = parsed.cipher
    try:
        if cipher.mode == "gcm":
            plaintext = _primitives.gcm_decrypt(
                content_key, cipher.nonce, parsed.ciphertext, parsed.mac, parsed.aad
            )
        else:
            plaintext = _primitives.cbc_decrypt(content_key, cipher.nonce, parsed.ciphertext)
    except (InvalidTag, ValueError) as exc:
        failure = failure or f"content decryption failed: {type(exc).__name__}"
        plaintext = b""
    if failure:
        raise InvalidEnvelope(failure)
    return plaintext, cipher.mode


def gcm_algorithm(nonce: bytes) -> cms.EncryptionAlgorithm:
    params = GcmParameters({"aes_nonce": nonce, "aes_icvlen": 16})
    return cms.EncryptionAlgorithm({"algorithm": OID_AES256_GCM, "parameters": params})


def encrypt_envelope(content: bytes, recipients: Sequence[x509.Certificate]) -> bytes:
    """AuthEnvelopedData, AES-256-GCM, the content key wrapped for every recipient."""
    if not recipients:
        raise ValueError("at least one recipient certificate is required")
    content_key = os.urandom(32)
    nonce = os.urandom(GCM_NONCE_SIZE)
    ciphertext, tag = _primitives.gcm_encrypt(content_key, nonce, content)
    auth_enveloped = cms.AuthEnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [build_recipient_info(cert, content_key) for cert in recipients],
            "auth_encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": gcm_algorithm(nonce),
                "encrypted_content": ciphertext,
            },
            "mac": tag,
        }
    )
    info = cms.ContentInfo(
        {"content_type": "authenticated_enveloped_data", "content": auth_enveloped}
    )
    return bytes(info.dump())
