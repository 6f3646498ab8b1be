"""``keys import`` CLI group: bring the operator's own PKI into the keys directory."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import click

from gateway.runtime.key_import import KeyImporter
from gateway.web.cli import Context, pass_context

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _echo(lines: Iterable[str]) -> None:
    for line in lines:
        click.echo(line)


def _importer(ctx: Context) -> KeyImporter:
    return KeyImporter(ctx.settings.keys_dir)


def _password() -> bytes | None:
    """An encrypted PKCS#8 key's password comes from the environment, never argv."""
    value = os.environ.get("ROGATORY_IMPORT_PASSWORD")
    return value.encode() if value else None


@click.group("import")
def import_group() -> None:
    """Import keys, certificates and CRLs (checked, modes set, keyring.json updated)."""


@import_group.command("intake")
@click.option("--key", "keys", type=_FILE, multiple=True, required=True, help="PEM private key.")
@click.option("--cert", "certs", type=_FILE, multiple=True, required=True, help="Its certificate.")
@click.option("--replace", is_flag=True, help="Drop the intake keys configured before.")
@pass_context
def intake(
    ctx: Context,
    keys: tuple[Path, ...],
    certs: tuple[Path, ...],
    replace: bool,
) -> None:
    """Intake decryption keys (RSA or EC), --key/--cert pairs in order; several for rollover.

    Without --replace they are added after the ones configured (the first stays the one
    senders encrypt to); keep an old key until nothing sent to it is in flight.
    """
    if len(keys) != len(certs):
        raise click.UsageError("give one --cert per --key")
    _echo(
        _importer(ctx).intake(
            list(zip(keys, certs, strict=True)), replace=replace, password=_password()
        )
    )


@import_group.command("seal")
@click.option("--key", type=_FILE, required=True, help="PEM private key (RSA or EC).")
@click.option(
    "--cert", type=_FILE, required=True, help="Seal certificate (PEM, may carry its chain)."
)
@click.option(
    "--chain", type=_FILE, multiple=True, help="Intermediate certificates up to the root."
)
@pass_context
def seal(ctx: Context, key: Path, cert: Path, chain: tuple[Path, ...]) -> None:
    """The seal key that signs delivery packages, evidences and receipts, with its chain."""
    _echo(_importer(ctx).seal(key, cert, list(chain), password=_password()))


@import_group.command("audit-key")
@click.option("--key", type=_FILE, required=True, help="Ed25519 PEM private key.")
@pass_context
def audit_key(ctx: Context, key: Path) -> None:
    """The Ed25519 key that signs the audit log's checkpoints."""
    _echo(_importer(ctx).audit_key(key, password=_password()))


@import_group.command("anchors")
@click.argument("bundles", type=_FILE, nargs=-1, required=True)
@pass_context
def anchors(ctx: Context, bundles: tuple[Path, ...]) -> None:
    """Trust anchors: every CA certificate of every PEM bundle given."""
    _echo(_importer(ctx).cas(list(bundles), role="anchors"))


@import_group.command("intermediates")
@click.argument("bundles", type=_FILE, nargs=-1, required=True)
@pass_context
def intermediates(ctx: Context, bundles: tuple[Path, ...]) -> None:
    """Intermediate CAs (each must be issued by an anchor or another intermediate)."""
    _echo(_importer(ctx).cas(list(bundles), role="intermediates"))


@import_group.command("crl")
@click.argument("crls", type=_FILE, nargs=-1)
@click.option("--url", "urls", multiple=True, help="Extra URL to refresh CRLs from.")
@pass_context
def crl(ctx: Context, crls: tuple[Path, ...], urls: tuple[str, ...]) -> None:
    """CRLs in PEM or DER, each signed by an imported anchor or intermediate.

    The worker refreshes them hourly from the distribution points the CA certificates
    name, and from every --url given here.
    """
    if not crls and not urls:
        raise click.UsageError("give CRL files, --url, or both")
    importer = _importer(ctx)
    if crls:
        _echo(importer.crls(list(crls)))
    if urls:
        _echo(importer.crl_urls(list(urls)))


@import_group.command("kek")
@click.argument("kek_file", type=_FILE)
@pass_context
def kek(ctx: Context, kek_file: Path) -> None:
    """A KEK file (32 bytes, base64) when there is none yet (else use rotate-kek)."""
    _echo(_importer(ctx).kek(kek_file))
