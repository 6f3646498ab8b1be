"""Value types exchanged with the crypto core's callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

RecipientPrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
SigningPrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class RecipientKey:
    """A decryption key together with the certificate senders encrypt to."""

    private_key: RecipientPrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class TrustConfig:
    """What a signer chain is checked against."""

    anchors: list[x509.Certificate]
    intermediates: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    allow_stale_crl: bool = False
    max_skew: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class VerifiedContent:
    """The content of a SignedData whose signature, chain and freshness were checked."""

    content: bytes
    content_type: str
    signer: x509.Certificate
    chain: list[x509.Certificate]
    signing_time: datetime
    signed_data_der: bytes


@dataclass(frozen=True)
class StreamResult:
    """Digest and size of an attachment decrypted by ``open_attachment_stream``."""

    sha256_hex: str
    size: int


@dataclass(frozen=True)
class VerifiedStream:
    """A streamed SignedData whose signature, digest, chain and freshness were checked;
    its content went to the caller's sink (``size`` bytes)."""

    content_type: str
    size: int
    signer: x509.Certificate
    chain: list[x509.Certificate]
    signing_time: datetime
