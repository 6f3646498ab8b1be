"""``rogatory audit`` commands run as real processes against SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from audit_support import ORIGIN, make_entry
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from sqlalchemy import Engine, update

from gateway.audit import ledger
from gateway.persistence.audit_tables import audit_leaf

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def key_files(tmp_path: Path) -> tuple[Path, Path]:
    key = Ed25519PrivateKey.generate()
    private = tmp_path / "log.key"
    public = tmp_path / "log.pub"
    private.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "gateway.web.cli_audit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_checkpoint_receipt_export_verify_and_consistency(
    engine: Engine, db_url: str, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    private, public = key_files
    with engine.begin() as conn:
        ledger.append_many(conn, [make_entry(i) for i in range(9)])
    first = run(db_url, "checkpoint", "--log-key", str(private), "--origin", ORIGIN)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"{ORIGIN}\n9\n")
    old_checkpoint = tmp_path / "old.checkpoint"
    old_checkpoint.write_text(first.stdout)
    with engine.begin() as conn:
        ledger.append_many(conn, [make_entry(i) for i in range(9, 14)])
    assert run(db_url, "checkpoint", "--log-key", str(private), "--origin", ORIGIN).returncode == 0

    receipt = tmp_path / "receipt.json"
    made = run(db_url, "receipt", "11", str(receipt), "--log-public-key", str(public))
    assert made.returncode == 0, made.stderr
    checked = run(db_url, "verify-receipt", str(receipt), "--log-key", str(public))
    assert (checked.returncode, checked.stdout.strip()) == (
        0,
        "OK: entry 11 is included in the signed log",
    )
    forged = json.loads(receipt.read_text())
    forged["entry"] = make_entry(12).encode().decode()
    receipt.write_text(json.dumps(forged))
    rejected = run(db_url, "verify-receipt", str(receipt), "--log-key", str(public))
    assert rejected.returncode == 1
    assert "inclusion-mismatch" in rejected.stderr

    consistent = run(db_url, "consistency", str(old_checkpoint), "--log-public-key", str(public))
    assert consistent.returncode == 0, consistent.stderr
    assert "size 9 is consistent" in consistent.stdout

    export_file = tmp_path / "log.jsonl"
    assert run(db_url, "export", str(export_file)).returncode == 0
    from_export = run(
        db_url, "verify", "--export", str(export_file), "--log-public-key", str(public)
    )
    assert from_export.stdout.strip() == "OK: 14 entries, 2 checkpoints verified"
    live = run(db_url, "verify", "--log-public-key", str(public))
    assert (live.returncode, live.stdout.strip()) == (0, "OK: 14 entries, 2 checkpoints verified")

    with engine.begin() as conn:
        conn.execute(
            update(audit_leaf).where(audit_leaf.c.idx == 6).values(entry=make_entry(99).encode())
        )
    broken = run(db_url, "verify", "--log-public-key", str(public))
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[0].startswith("entry 6: changed:")


def test_verify_refuses_a_wrong_log_key(
    engine: Engine, db_url: str, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    private, _ = key_files
    with engine.begin() as conn:
        ledger.append_many(conn, [make_entry(i) for i in range(3)])
    assert run(db_url, "checkpoint", "--log-key", str(private), "--origin", ORIGIN).returncode == 0
    other = tmp_path / "other.pub"
    other.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    result = run(db_url, "verify", "--log-public-key", str(other))
    assert result.returncode == 1
    assert "checkpoint_forged" in result.stdout


def test_missing_database_url_is_a_usage_error(key_files: tuple[Path, Path]) -> None:
    _, public = key_files
    result = run("", "verify", "--log-public-key", str(public))
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
