"""What `rogatory audit ...` does, as services: the CLI parses options and prints.

Every operation opens the given database for one transaction. Failures raise
`AuditToolError` with a stable code and detail (the CLI maps them to its exit codes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from sqlalchemy import Connection

from gateway.audit import ledger, witnesses
from gateway.audit.errors import AuditError, VerificationError
from gateway.audit.receipt_check import ReceiptCheck, check_receipts
from gateway.audit.verify import Problem
from gateway.domain.errors import NotFound
from gateway.persistence import authorities_store
from gateway.persistence.db import make_engine


class AuditToolError(Exception):
    """An audit operation failed: ``code`` and ``detail`` say why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class VerifyResult:
    entries: int
    checkpoints_verified: int
    problems: list[Problem] = field(default_factory=list)
    problems_total: int = 0
    cosignatures: list[str] = field(default_factory=list)  # one line per cosignature

    @property
    def ok(self) -> bool:
        return self.problems_total == 0


def load_log_public_key(path: str) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise AuditToolError(
            "bad-key", f"cannot read log public key {path}: {type(exc).__name__}"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditToolError("bad-key", f"{path} is not an Ed25519 public key")
    return key


def load_log_private_key(path: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise AuditToolError(
            "bad-key", f"cannot read log key {path}: {type(exc).__name__}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditToolError("bad-key", f"{path} is not an Ed25519 private key")
    return key


@contextmanager
def _transaction(database_url: str) -> Iterator[Connection]:
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def export_log(database_url: str, fh: IO[str]) -> int:
    with _transaction(database_url) as conn:
        return ledger.export(conn, fh)


def _result(report: Any, cosignature_checks: list[witnesses.CosignatureCheck]) -> VerifyResult:
    for check in cosignature_checks:
        if not check.ok:
            report.add("cosignature_invalid", None, cosignature_line(check))
    return VerifyResult(
        report.entries,
        report.checkpoints_verified,
        list(report.problems),
        report.problems_total,
        [cosignature_line(check) for check in cosignature_checks],
    )


def verify_log(
    key: Ed25519PublicKey, *, database_url: str | None = None, export_file: str | None = None
) -> VerifyResult:
    """Recompute every hash, check every checkpoint and witness cosignature."""
    try:
        if export_file:
            with open(export_file, encoding="utf-8") as fh:
                return _result(ledger.verify_export(fh, key), [])
        if database_url is None:
            raise AuditToolError("usage", "give a database or an export file")
        with _transaction(database_url) as conn:
            report = ledger.verify_database(conn, key)
            return _result(report, witnesses.review(conn))
    except AuditError as exc:
        raise AuditToolError(exc.code, exc.detail) from None


def cosignature_line(check: witnesses.CosignatureCheck) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(check.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    who = f"{check.witness_name} ({check.authority_id or 'unregistered'})"
    verdict = "cosigned" if check.ok else f"NOT verified ({check.detail})"
    return f"checkpoint {check.checkpoint_size}: {verdict} by {who} at {moment}"


def verify_receipts(text: str, key: Ed25519PublicKey) -> list[ReceiptCheck]:
    try:
        return check_receipts(text, key)
    except VerificationError as exc:
        raise AuditToolError(exc.code, exc.detail) from None


def receipt(database_url: str, index: int, key: Ed25519PublicKey) -> dict[str, Any]:
    try:
        with _transaction(database_url) as conn:
            return ledger.receipt(conn, index, key)
    except AuditError as exc:
        raise AuditToolError(exc.code, exc.detail) from None


def sign_checkpoint(database_url: str, key: Ed25519PrivateKey, origin: str) -> str:
    with _transaction(database_url) as conn:
        return ledger.sign_checkpoint(conn, key, origin)


def check_consistency(database_url: str, old_text: str, key: Ed25519PublicKey) -> tuple[int, int]:
    """(old size, latest size) when the log still extends the old checkpoint."""
    try:
        with _transaction(database_url) as conn:
            old, new = ledger.check_consistency_with(conn, old_text, key)
    except AuditError as exc:
        raise AuditToolError(exc.code, exc.detail) from None
    return old.size, new.size


def add_witness(database_url: str, authority: str, name: str, key: Ed25519PublicKey) -> None:
    try:
        with _transaction(database_url) as conn:
            authorities_store.get(conn, authority)
            witnesses.register(conn, authority, name, key)
    except NotFound as exc:
        raise AuditToolError(exc.code, exc.message) from None
    except AuditError as exc:
        raise AuditToolError(exc.code, exc.detail) from None
