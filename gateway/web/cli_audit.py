"""``rogatory audit ...``: export, verify, receipts, checkpoints, consistency, witnesses.

Under ``rogatory`` the database, the log key and the origin default to the configured
data directory (its keyring's ``audit_key``, origin ``<gateway_id>/log``); standalone
(``python -m gateway.web.cli_audit --help``) they must be given. Exit codes: 0 verified,
1 verification failed (one line per problem), 2 usage or configuration error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from gateway.config import Settings
from gateway.services import audit_tools
from gateway.services.audit_tools import AuditToolError, VerifyResult

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

EXIT_FAILED = 1
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _load_public_key(path: str) -> Ed25519PublicKey:
    try:
        return audit_tools.load_log_public_key(path)
    except AuditToolError as exc:
        _fail(f"error: {exc.detail}")


def _load_private_key(path: str) -> Ed25519PrivateKey:
    try:
        return audit_tools.load_log_private_key(path)
    except AuditToolError as exc:
        _fail(f"error: {exc.detail}")


def _configured() -> Settings | None:
    """The settings of the enclosing ``rogatory`` command, None when run standalone."""
    from gateway.web.cli import Context  # cli.py loads this module lazily: no cycle

    context = click.get_current_context().find_object(Context)
    return None if context is None else context.settings


def _configured_log_key(option: str) -> Ed25519PrivateKey:
    settings = _configured()
    if settings is None:
        _fail(f"error: give {option} (or run it as 'rogatory audit' with a data directory)")
    from gateway.runtime.keyring import load_keyring

    return load_keyring(settings.keys_dir).log_key


def _public_key(path: str | None) -> Ed25519PublicKey:
    if path:
        return _load_public_key(path)
    return _configured_log_key("--log-public-key").public_key()


def _database_url(database_url: str | None) -> str:
    if database_url:
        return database_url
    settings = _configured()
    if settings is None:
        _fail("error: set --database-url or DATABASE_URL")
    return settings.database_url


def _report(report: VerifyResult) -> None:
    if report.ok:
        click.echo(
            f"OK: {report.entries} entries, {report.checkpoints_verified} checkpoints verified"
        )
        return
    for problem in report.problems:
        click.echo(problem.line())
    if report.problems_total > len(report.problems):
        click.echo(f"... {report.problems_total - len(report.problems)} more problems")
    click.echo(f"FAILED: {report.problems_total} problems in {report.entries} entries", err=True)
    sys.exit(EXIT_FAILED)


database_option = click.option(
    "--database-url",
    envvar="DATABASE_URL",
    show_envvar=True,
    help="SQLAlchemy URL of the gateway database.",
)
public_key_option = click.option(
    "--log-public-key",
    "--log-key",
    "log_public_key",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM Ed25519 public key of the log (default: the configured keyring's).",
)


@click.group("audit")
def audit() -> None:
    """Inspect and verify the Merkle audit log."""


@audit.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@database_option
def export_command(file: str, database_url: str | None) -> None:
    """Write the whole log (entries, checkpoints) as JSON lines to FILE."""
    with open(file, "w", encoding="utf-8") as fh:
        count = audit_tools.export_log(_database_url(database_url), fh)
    click.echo(f"exported {count} entries to {file}")


@audit.command("verify")
@click.option("--export", "export_file", type=click.Path(exists=True, dir_okay=False))
@public_key_option
@database_option
def verify_command(
    export_file: str | None, log_public_key: str | None, database_url: str | None
) -> None:
    """Recompute every hash and check every checkpoint and witness cosignature."""
    key = _public_key(log_public_key)
    try:
        if export_file:
            report = audit_tools.verify_log(key, export_file=export_file)
        else:
            report = audit_tools.verify_log(key, database_url=_database_url(database_url))
    except AuditToolError as exc:
        _fail(f"FAILED: {exc.code}: {exc.detail}", EXIT_FAILED)
    _report(report)
    for line in report.cosignatures:
        click.echo(line)


@audit.command("verify-receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@public_key_option
def verify_receipt_command(file: str, log_public_key: str | None) -> None:
    """Check receipts with only the log public key.

    FILE is a receipt from 'rogatory audit receipt', one evidence item of
    GET /api/v1/requests/{id}/receipts, or that endpoint's whole JSON answer.
    """
    key = _public_key(log_public_key)
    try:
        checks = audit_tools.verify_receipts(Path(file).read_text(encoding="utf-8"), key)
    except (OSError, UnicodeDecodeError):
        _fail(f"error: cannot read {file}")
    except AuditToolError as exc:
        _fail(f"FAILED: {exc.code}: {exc.detail}", EXIT_FAILED)
    for check in checks:
        click.echo(check.line(), err=not check.ok)
    if not all(check.ok for check in checks):
        sys.exit(EXIT_FAILED)


@audit.command("receipt")
@click.argument("index", type=int)
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@public_key_option
@database_option
def receipt_command(
    index: int, file: str, log_public_key: str | None, database_url: str | None
) -> None:
    """Write the receipt of entry INDEX (against the latest checkpoint) to FILE."""
    key = _public_key(log_public_key)
    try:
        receipt = audit_tools.receipt(_database_url(database_url), index, key)
    except AuditToolError as exc:
        _fail(f"error: {exc.code}: {exc.detail}")
    Path(file).write_text(json.dumps(receipt, sort_keys=True) + "\n", encoding="utf-8")
    click.echo(f"receipt for entry {index} written to {file}")


@audit.command("checkpoint")
@click.option(
    "--log-key",
    "log_key",
    envvar="ROGATORY_LOG_KEY",
    type=click.Path(exists=True, dir_okay=False),
    help="PEM Ed25519 private key of the log (default: the configured keyring's).",
)
@click.option(
    "--origin",
    envvar="ROGATORY_LOG_ORIGIN",
    help="Log origin line (default: '<gateway_id>/log' of the configuration).",
)
@database_option
def checkpoint_command(log_key: str | None, origin: str | None, database_url: str | None) -> None:
    """Sign a checkpoint of the current tree now and print it."""
    key = _load_private_key(log_key) if log_key else _configured_log_key("--log-key")
    if not origin:
        settings = _configured()
        if settings is None:
            _fail("error: give --origin (or run it as 'rogatory audit')")
        origin = f"{settings.gateway_id}/log"
    note = audit_tools.sign_checkpoint(_database_url(database_url), key, origin)
    click.echo(note, nl=False)


@audit.command("consistency")
@click.argument("old_checkpoint_file", type=click.Path(exists=True, dir_okay=False))
@public_key_option
@database_option
def consistency_command(
    old_checkpoint_file: str, log_public_key: str | None, database_url: str | None
) -> None:
    """Prove the log still extends OLD_CHECKPOINT_FILE (a checkpoint a counterpart kept)."""
    key = _public_key(log_public_key)
    old_text = Path(old_checkpoint_file).read_text(encoding="utf-8")
    try:
        old_size, new_size = audit_tools.check_consistency(
            _database_url(database_url), old_text, key
        )
    except AuditToolError as exc:
        _fail(f"INCONSISTENT: {exc.code}: {exc.detail}", EXIT_FAILED)
    click.echo(f"OK: size {old_size} is consistent with the latest checkpoint of size {new_size}")


@audit.command("add-witness")
@click.argument("authority")
@click.argument("name")
@click.argument("pubkey_file", type=click.Path(exists=True, dir_okay=False))
@database_option
def add_witness_command(
    authority: str, name: str, pubkey_file: str, database_url: str | None
) -> None:
    """Register NAME (PEM Ed25519 public key) as a checkpoint witness of AUTHORITY."""
    key = _load_public_key(pubkey_file)
    try:
        audit_tools.add_witness(_database_url(database_url), authority, name, key)
    except AuditToolError as exc:
        _fail(f"error: {exc.code}: {exc.detail}")
    click.echo(f"witness {name} registered for {authority}")


if __name__ == "__main__":
    audit()
