"""``keys`` CLI group: development PKI and certificate expiry checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gateway.crypto import expiring_certificates
from gateway.crypto.devpki import make_dev_pki


@click.group("keys")
def keys() -> None:
    """Manage gateway keys and certificates."""


@keys.command("dev-pki")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def dev_pki(directory: Path) -> None:
    """Create a throwaway development PKI in DIRECTORY (never use it in production)."""
    pki = make_dev_pki(directory)
    click.echo(f"development PKI written to {pki.directory} (see {pki.manifest.name})")


@keys.command("check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--days", default=30, show_default=True, help="Alert window in days.")
def check(directory: Path, days: int) -> None:
    """Alert on certificates in DIRECTORY (*.pem) expired or expiring within --days."""
    now = datetime.now(UTC)
    named: dict[bytes, tuple[str, x509.Certificate]] = {}
    for path in sorted(directory.glob("*.pem")):
        try:
            certs = x509.load_pem_x509_certificates(path.read_bytes())
        except ValueError:
            continue  # public keys, CRLs and other PEM files are not certificates
        for cert in certs:
            named[cert.fingerprint(hashes.SHA256())] = (path.name, cert)
    due = expiring_certificates([cert for _, cert in named.values()], now, timedelta(days=days))
    if not due:
        click.echo(f"no certificate expires within {days} days")
        return
    file_of = {id(cert): name for name, cert in named.values()}
    for cert in due:
        remaining = (cert.not_valid_after_utc - now).days
        state = "EXPIRED" if remaining < 0 else f"expires in {remaining} days"
        click.echo(f"{file_of[id(cert)]}: {cert.subject.rfc4514_string()}: {state}")
    raise SystemExit(1)
