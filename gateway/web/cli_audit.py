"""``rogatory audit ...``: export, verify, receipts, checkpoints and consistency.

Standalone: ``python -m gateway.web.cli_audit --help``. Exit codes: 0 verified,
1 verification failed (one line per problem), 2 usage or configuration error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from sqlalchemy import Connection, create_engine

from gateway.audit import ledger
from gateway.audit.bundle import verify_proof_bundle
from gateway.audit.errors import AuditError, VerificationError
from gateway.audit.verify import Report

EXIT_FAILED = 1
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _load_public_key(path: str) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        _fail(f"error: cannot read log public key {path}: {type(exc).__name__}")
    if not isinstance(key, Ed25519PublicKey):
        _fail(f"error: {path} is not an Ed25519 public key")
    return key


def _load_private_key(path: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        _fail(f"error: cannot read log key {path}: {type(exc).__name__}")
    if not isinstance(key, Ed25519PrivateKey):
        _fail(f"error: {path} is not an Ed25519 private key")
    return key


@contextmanager
def _transaction(database_url: str | None) -> Iterator[Connection]:
    if not database_url:
        _fail("error: set --database-url or DATABASE_URL")
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _report(report: Report) -> None:
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
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="PEM Ed25519 public key of the log.",
)


@click.group("audit")
def audit() -> None:
    """Inspect and verify the Merkle audit log."""


@audit.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@database_option
def export_command(file: str, database_url: str | None) -> None:
    """Write the whole log (entries, checkpoints) as JSON lines to FILE."""
    with _transaction(database_url) as conn, open(file, "w", encoding="utf-8") as fh:
        count = ledger.export(conn, fh)
    click.echo(f"exported {count} entries to {file}")


@audit.command("verify")
@click.option("--export", "export_file", type=click.Path(exists=True, dir_okay=False))
@public_key_option
@database_option
def verify_command(export_file: str | None, log_public_key: str, database_url: str | None) -> None:
    """Recompute every hash and check every checkpoint, of the database or an export."""
    key = _load_public_key(log_public_key)
    try:
        if export_file:
            with open(export_file, encoding="utf-8") as fh:
                report = ledger.verify_export(fh, key)
        else:
            with _transaction(database_url) as conn:
                report = ledger.verify_database(conn, key)
    except AuditError as exc:
        _fail(f"FAILED: {exc.code}: {exc.detail}", EXIT_FAILED)
    _report(report)


@audit.command("verify-receipt")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@public_key_option
def verify_receipt_command(file: str, log_public_key: str) -> None:
    """Check one receipt (entry + tlog-proof bundle) with only the log public key."""
    key = _load_public_key(log_public_key)
    try:
        receipt = json.loads(Path(file).read_text(encoding="utf-8"))
        entry, proof = receipt["entry"].encode("utf-8"), receipt["proof"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        _fail("FAILED: malformed-receipt: not a rogatory-audit-receipt/v1 JSON file", EXIT_FAILED)
    try:
        verify_proof_bundle(proof, entry, key)
    except VerificationError as exc:
        _fail(f"FAILED: {exc.code}: {exc.detail}", EXIT_FAILED)
    click.echo(f"OK: entry {receipt.get('index')} is included in the signed log")


@audit.command("receipt")
@click.argument("index", type=int)
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@public_key_option
@database_option
def receipt_command(index: int, file: str, log_public_key: str, database_url: str | None) -> None:
    """Write the receipt of entry INDEX (against the latest checkpoint) to FILE."""
    key = _load_public_key(log_public_key)
    try:
        with _transaction(database_url) as conn:
            receipt = ledger.receipt(conn, index, key)
    except AuditError as exc:
        _fail(f"error: {exc.code}: {exc.detail}")
    Path(file).write_text(json.dumps(receipt, sort_keys=True) + "\n", encoding="utf-8")
    click.echo(f"receipt for entry {index} written to {file}")


@audit.command("checkpoint")
@click.option(
    "--log-key",
    "log_key",
    envvar="ROGATORY_LOG_KEY",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="PEM Ed25519 private key of the log.",
)
@click.option("--origin", envvar="ROGATORY_LOG_ORIGIN", required=True, help="Log origin line.")
@database_option
def checkpoint_command(log_key: str, origin: str, database_url: str | None) -> None:
    """Sign a checkpoint of the current tree now and print it."""
    key = _load_private_key(log_key)
    with _transaction(database_url) as conn:
        note = ledger.sign_checkpoint(conn, key, origin)
    click.echo(note, nl=False)


@audit.command("consistency")
@click.argument("old_checkpoint_file", type=click.Path(exists=True, dir_okay=False))
@public_key_option
@database_option
def consistency_command(
    old_checkpoint_file: str, log_public_key: str, database_url: str | None
) -> None:
    """Prove the log still extends OLD_CHECKPOINT_FILE (a checkpoint a counterpart kept)."""
    key = _load_public_key(log_public_key)
    old_text = Path(old_checkpoint_file).read_text(encoding="utf-8")
    try:
        with _transaction(database_url) as conn:
            old, new = ledger.check_consistency_with(conn, old_text, key)
    except AuditError as exc:
        _fail(f"INCONSISTENT: {exc.code}: {exc.detail}", EXIT_FAILED)
    click.echo(f"OK: size {old.size} is consistent with the latest checkpoint of size {new.size}")


if __name__ == "__main__":
    audit()
