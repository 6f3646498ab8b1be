"""``keys`` CLI group: development PKI, certificate expiry checks, KEK rotation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from gateway.web.cli import Context, pass_context


@click.group("keys")
def keys() -> None:
    """Manage gateway keys and certificates."""


@keys.command("dev-pki")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def dev_pki(directory: Path) -> None:
    """Create a throwaway development PKI in DIRECTORY (never use it in production)."""
    from gateway.runtime.setup import create_dev_pki

    written, manifest = create_dev_pki(directory)
    click.echo(f"development PKI written to {written} (see {manifest.name})")


@keys.command("check")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--days", default=30, show_default=True, help="Alert window in days.")
def check(directory: Path, days: int) -> None:
    """Alert on certificates in DIRECTORY (*.pem) expired or expiring within --days."""
    from gateway.services.certificate_maintenance import expiring_in_directory

    due = expiring_in_directory(directory, within=timedelta(days=days))
    if not due:
        click.echo(f"no certificate expires within {days} days")
        return
    for name, subject, remaining in due:
        state = "EXPIRED" if remaining < 0 else f"expires in {remaining} days"
        click.echo(f"{name}: {subject}: {state}")
    raise SystemExit(1)


@keys.command("rotate-kek")
@click.option(
    "--new-kek",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Base64 32-byte key file, mode 0600: becomes <keys_dir>/kek.b64.",
)
@click.option("--to-token", is_flag=True, help="Move the KEK into the PKCS#11 token.")
@click.option("--pkcs11-library", default=None, help="PKCS#11 module (setting pkcs11_library).")
@click.option("--token-label", default=None, help="Token label (setting pkcs11_token_label).")
@click.option("--key-label", default=None, help="AES key label (setting pkcs11_key_label).")
@pass_context
def rotate_kek_command(
    ctx: Context,
    new_kek: Path | None,
    to_token: bool,
    pkcs11_library: str | None,
    token_label: str | None,
    key_label: str | None,
) -> None:
    """Re-wrap every data key under a new KEK: a file (--new-kek) or a token (--to-token).

    File -> token, token -> file, or a new key of the same kind. The old KEK file or
    token description is kept as *.retired-<date>. Restart serve and workers.
    """
    from gateway.runtime.kek_rotation import rotate_to_file, rotate_to_token

    settings = ctx.settings
    if (new_kek is None) == (not to_token):
        raise click.UsageError("give exactly one of --new-kek FILE or --to-token")
    if new_kek is not None:
        lines = rotate_to_file(settings, new_kek)
    else:
        lines = rotate_to_token(
            settings, library=pkcs11_library, token_label=token_label, key_label=key_label
        )
    for line in lines:
        click.echo(line)


def _register_import() -> None:
    from gateway.web.cli_keys_import import import_group

    keys.add_command(import_group)


_register_import()
