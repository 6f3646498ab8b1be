"""CRLs fetched from the network: where to get them, and whether to believe one.

Pure functions (no I/O): the refresh job downloads, these decide. A CRL replaces the
cached one only when its issuer signed it, it is current, and it is not older than
what we already have (a replayed old CRL could hide a revocation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from cryptography import x509

from gateway.crypto.errors import MALFORMED, SIGNATURE_INVALID, STALE, CryptoError

MAX_CRL_SIZE = 16 * 1024 * 1024


def crl_distribution_points(certs: Iterable[x509.Certificate]) -> list[str]:
    """The http(s) CRL distribution point URLs named by ``certs``, first seen first."""
    urls: list[str] = []
    for cert in certs:
        try:
            points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        except x509.ExtensionNotFound:
            continue
        for point in points:
            for name in point.full_name or ():
                if isinstance(name, x509.UniformResourceIdentifier):
                    url = name.value
                    if url.startswith(("http://", "https://")) and url not in urls:
                        urls.append(url)
    return urls


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL in DER (as RFC 5280 publishes it) or PEM."""
    if len(data) > MAX_CRL_SIZE:
        raise CryptoError(MALFORMED, "CRL larger than allowed")
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError:
        raise CryptoError(MALFORMED, "not a CRL") from None


def accept_crl(
    crl: x509.CertificateRevocationList,
    issuers: Sequence[x509.Certificate],
    *,
    now: datetime,
    cached: x509.CertificateRevocationList | None = None,
    max_skew: timedelta = timedelta(minutes=10),
) -> x509.Certificate:
    """Check ``crl`` before it may replace ``cached``; returns the issuer that signed it."""
    issuer = next(
        (
            cert
            for cert in issuers
            if cert.subject == crl.issuer and crl.is_signature_valid(cert.public_key())  # type: ignore[arg-type]
        ),
        None,
    )
    if issuer is None:
        raise CryptoError(SIGNATURE_INVALID, "CRL not signed by a known issuer")
    if crl.last_update_utc > now + max_skew:
        raise CryptoError(STALE, "CRL issued in the future")
    if crl.next_update_utc is None or crl.next_update_utc <= now:
        raise CryptoError(STALE, "CRL is past its nextUpdate")
    older = cached is not None and (
        _crl_number(crl) < _crl_number(cached) or crl.last_update_utc < cached.last_update_utc
    )
    if older and cached is not None and cached.issuer == crl.issuer:
        raise CryptoError(STALE, "CRL is older than the cached one")
    return issuer


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    try:
        return int(crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number)
    except x509.ExtensionNotFound:
        return -1
