"""ASN.1 definitions asn1crypto 1.5.1 lacks: RFC 5084 GCM parameters, RFC 5753 ECDH.

Kept as separate spec classes (no patching of asn1crypto's global OID maps); the
unknown parameters arrive as ``Any`` and are re-parsed with these specs.
"""

from __future__ import annotations

from typing import Final

from asn1crypto import core

OID_DATA: Final = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA: Final = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA: Final = "1.2.840.113549.1.7.3"
OID_AUTH_ENVELOPED_DATA: Final = "1.2.840.113549.1.9.16.1.23"

OID_AES128_GCM: Final = "2.16.840.1.101.3.4.1.6"
OID_AES192_GCM: Final = "2.16.840.1.101.3.4.1.26"
OID_AES256_GCM: Final = "2.16.840.1.101.3.4.1.46"
GCM_KEY_SIZES: Final = {OID_AES128_GCM: 16, OID_AES192_GCM: 24, OID_AES256_GCM: 32}
CBC_KEY_SIZES: Final = {
    "2.16.840.1.101.3.4.1.2": 16,
    "2.16.840.1.101.3.4.1.22": 24,
    "2.16.840.1.101.3.4.1.42": 32,
}

OID_RSAES_PKCS1V15: Final = "1.2.840.113549.1.1.1"
OID_RSAES_OAEP: Final = "1.2.840.113549.1.1.7"

OID_AES128_WRAP: Final = "2.16.840.1.101.3.4.1.5"
OID_AES192_WRAP: Final = "2.16.840.1.101.3.4.1.25"
OID_AES256_WRAP: Final = "2.16.840.1.101.3.4.1.45"
WRAP_KEY_SIZES: Final = {OID_AES128_WRAP: 16, OID_AES192_WRAP: 24, OID_AES256_WRAP: 32}

# RFC 5753 / SEC 1 key agreement schemes -> hash name of their X9.63 KDF. On the prime
# curves we accept (cofactor 1) standard and cofactor ECDH give the same shared secret.
ECDH_SCHEME_HASHES: Final = {
    "1.3.133.16.840.63.0.2": "sha1",  # dhSinglePass-stdDH-sha1kdf-scheme (openssl default)
    "1.3.132.1.11.0": "sha224",
    "1.3.132.1.11.1": "sha256",
    "1.3.132.1.11.2": "sha384",
    "1.3.132.1.11.3": "sha512",
    "1.3.133.16.840.63.0.3": "sha1",  # dhSinglePass-cofactorDH-sha1kdf-scheme
    "1.3.132.1.14.0": "sha224",
    "1.3.132.1.14.1": "sha256",
    "1.3.132.1.14.2": "sha384",
    "1.3.132.1.14.3": "sha512",
}
OID_ECDH_STD_SHA256KDF: Final = "1.3.132.1.11.1"


class GcmParameters(core.Sequence):  # type: ignore[misc]
    """RFC 5084 GCMParameters."""

    _fields = [  # noqa: RUF012 - asn1crypto's declarative spec
        ("aes_nonce", core.OctetString),
        ("aes_icvlen", core.Integer, {"default": 12}),
    ]


class KeyWrapAlgorithm(core.Sequence):  # type: ignore[misc]
    """AlgorithmIdentifier of the key-wrap algorithm inside an ECDH scheme's parameters."""

    _fields = [  # noqa: RUF012
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class EccCmsSharedInfo(core.Sequence):  # type: ignore[misc]
    """RFC 5753 ECC-CMS-SharedInfo, the X9.63 KDF's SharedInfo."""

    _fields = [  # noqa: RUF012
        ("key_info", core.Any),
        ("entity_u_info", core.OctetString, {"explicit": 0, "optional": True}),
        ("supp_pub_info", core.OctetString, {"explicit": 2}),
    ]
