"""Certificate expiry alerts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cryptography import x509


def expiring_certificates(
    certs: Iterable[x509.Certificate], now: datetime, within: timedelta = timedelta(days=30)
) -> list[x509.Certificate]:
    """Certificates already expired or expiring before ``now + within``, soonest first."""
    horizon = now + within
    due = [cert for cert in certs if cert.not_valid_after_utc <= horizon]
    return sorted(due, key=lambda cert: cert.not_valid_after_utc)
