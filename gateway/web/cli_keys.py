"""``keys`` CLI group: development PKI, certificate expiry checks, KEK rotation."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gateway.crypto import expiring_certificates
from gateway.crypto.devpki import make_dev_pki
from gateway.web.cli import Context, pass_context


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


@keys.command("rotate-kek")
@click.option(
    "--new-kek",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Base64 32-byte key file, mode 0600.",
)
@pass_context
def rotate_kek_command(ctx: Context, new_kek: Path) -> None:
    """Re-wrap every data key under a new KEK, then make it <keys_dir>/kek.b64.

    The old file is kept as kek.b64.retired-<date> (0600). Restart serve and workers.
    """
    from gateway.crypto.at_rest import FileKek
    from gateway.crypto.keyfiles import write_private_file
    from gateway.persistence.blobs import BlobStore
    from gateway.persistence.db import make_engine
    from gateway.runtime.container import KEK_FILE, load_kek
    from gateway.services.key_rotation import rotate_kek

    settings = ctx.settings
    if os.environ.get("ROGATORY_KEK"):
        raise click.ClickException("the KEK comes from ROGATORY_KEK: rotate it where that is set")
    try:
        replacement = FileKek.from_file(new_kek)
    except (ValueError, PermissionError) as exc:
        raise click.ClickException(f"--new-kek: {exc}") from None
    current = settings.keys_dir / KEK_FILE
    staged = current.with_name(KEK_FILE + ".next")  # survives a crash between the steps
    write_private_file(staged, new_kek.read_bytes())
    engine = make_engine(settings.database_url)
    try:
        count = rotate_kek(
            engine, BlobStore(settings.data_dir, load_kek(settings)), replacement, actor="admin:cli"
        )
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    retired = _retired_name(current)
    current.rename(retired)
    staged.replace(current)
    click.echo(
        f"{count} data keys re-wrapped under {replacement.key_id}; old KEK kept as {retired.name}"
    )


def _retired_name(current: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    candidate = current.with_name(f"{current.name}.retired-{stamp}")
    serial = 1
    while candidate.exists():
        serial += 1
        candidate = current.with_name(f"{current.name}.retired-{stamp}.{serial}")
    return candidate


def _register_import() -> None:
    from gateway.web.cli_keys_import import import_group

    keys.add_command(import_group)


_register_import()
