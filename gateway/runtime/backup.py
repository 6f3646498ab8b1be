"""`rogatory backup DEST` / `rogatory restore SRC`: a consistent, tamper-evident copy.

A backup is a directory::

    manifest.json     format, time, database kind, KEK id, every file's size + SHA-256,
                      the MAC key and the keys' data key, both wrapped by the KEK
    manifest.mac      HMAC-SHA256 of manifest.json under the MAC key
    database.sqlite3  SQLite online backup API (a consistent snapshot while serving)
    database.pgdump   or `pg_dump --format=custom` of PostgreSQL
    keys.tar.enc      the keys directory (keyring, certificates, private keys, CRLs)
                      as a tar, encrypted at rest under a data key the KEK wraps
    objects/...       the encrypted object store, as is (ciphertext only)

The KEK itself is never in the backup: keep it (or the HSM token holding it) apart.
Without it nothing in the backup can be read or checked, and a backup whose files,
manifest or MAC were changed is refused before anything is restored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gateway.config import Settings
from gateway.crypto import at_rest
from gateway.crypto.errors import InvalidEnvelope
from gateway.crypto.keyfiles import write_private_file
from gateway.domain.errors import DomainError
from gateway.persistence.db import make_engine
from gateway.runtime.container import KEK_FILE, load_kek

BACKUP_FORMAT = "rogatory-backup/1"
MANIFEST, MAC = "manifest.json", "manifest.mac"
SQLITE_FILE, PG_FILE, KEYS_FILE = "database.sqlite3", "database.pgdump", "keys.tar.enc"
KEYS_AAD = b"rogatory backup keys v1"


class BackupRefused(DomainError):
    code = "backup-refused"


@dataclass(frozen=True)
class RestoreReport:
    files: int
    objects: int
    audit_entries: int
    audit_problems: list[str]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _libpq_url(url: str) -> str:
    """postgresql+psycopg://... -> postgresql://... (what pg_dump understands)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else url


def _is_kek_file(name: str) -> bool:
    return name == KEK_FILE or name.startswith(KEK_FILE + ".")


def _tar_keys(keys_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(keys_dir.rglob("*")):
            relative = path.relative_to(keys_dir)
            if _is_kek_file(relative.name) or not (path.is_file() or path.is_dir()):
                continue
            archive.add(path, arcname=str(relative), recursive=False)
    return buffer.getvalue()


def create_backup(settings: Settings, dest: Path) -> Iterator[str]:
    """Write a backup of the data directory into the new directory ``dest``."""
    kek = load_kek(settings)
    if dest.exists() and any(dest.iterdir()):
        raise BackupRefused(f"{dest} exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    if settings.embedded_database:
        database = dest / SQLITE_FILE
        source = sqlite3.connect(_sqlite_path(settings.database_url))
        target = sqlite3.connect(database)
        try:
            source.backup(target)  # consistent even while the gateway writes
        finally:
            target.close()
            source.close()
    else:
        database = dest / PG_FILE
        subprocess.run(  # noqa: S603
            ["pg_dump", "--format=custom", "--no-owner", "--file", str(database),  # noqa: S607
             _libpq_url(settings.database_url)],
            check=True, capture_output=True, timeout=3600,
        )  # fmt: skip
    yield f"database: {database.name}"
    # after the database: every object it names was written before its row committed
    objects = settings.data_dir / "objects"
    copied = 0
    for path in sorted(objects.rglob("*.enc")) if objects.is_dir() else []:
        relative = path.relative_to(settings.data_dir)
        if relative.parts[1] == "staging":
            continue
        (dest / relative).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy2(path, dest / relative)
        copied += 1
    yield f"objects: {copied} encrypted files"
    keys_key = at_rest.new_data_key()
    (dest / KEYS_FILE).write_bytes(
        at_rest.encrypt_bytes(_tar_keys(settings.keys_dir), keys_key, aad=KEYS_AAD)
    )
    yield "keys: keys directory encrypted under the KEK (the KEK itself is not in the backup)"
    mac_key = os.urandom(32)
    files = {
        str(path.relative_to(dest)): {"size": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(dest.rglob("*"))
        if path.is_file()
    }
    manifest = {
        "format": BACKUP_FORMAT,
        "created": datetime.now(UTC).isoformat(),
        "database": "sqlite" if settings.embedded_database else "postgresql",
        "kek_id": kek.key_id,
        "mac_key": base64.b64encode(kek.wrap(mac_key)).decode(),
        "keys_key": base64.b64encode(kek.wrap(keys_key)).decode(),
        "files": files,
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    (dest / MANIFEST).write_bytes(body)
    (dest / MAC).write_text(hmac.new(mac_key, body, hashlib.sha256).hexdigest() + "\n")
    yield f"backup complete: {len(files)} files in {dest}, sealed under KEK {kek.key_id}"


def _checked_manifest(source: Path, kek: at_rest.Kek) -> tuple[dict[str, Any], bytes]:
    try:
        body = (source / MANIFEST).read_bytes()
        mac = (source / MAC).read_text().strip()
        manifest = json.loads(body)
    except (OSError, ValueError):
        raise BackupRefused(f"{source} is not a Rogatory backup (no readable manifest)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise BackupRefused(f"{source}: not a {BACKUP_FORMAT} backup")
    if manifest.get("kek_id") != kek.key_id:
        raise BackupRefused(
            f"the backup was made under KEK {manifest.get('kek_id')}, this KEK is {kek.key_id}"
        )
    try:
        mac_key = kek.unwrap(base64.b64decode(manifest["mac_key"]))
    except (InvalidEnvelope, KeyError, ValueError):
        raise BackupRefused("the backup's MAC key does not unwrap: tampered") from None
    expected = hmac.new(mac_key, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        raise BackupRefused("manifest.json does not match manifest.mac: tampered")
    for name, entry in manifest["files"].items():
        path = source / name
        if ".." in Path(name).parts or not path.is_file():
            raise BackupRefused(f"{name}: missing from the backup")
        if path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            raise BackupRefused(f"{name}: changed since the backup was made: tampered")
    return manifest, body


def _require_fresh(settings: Settings) -> None:
    objects = settings.data_dir / "objects"
    if objects.is_dir() and any(objects.rglob("*.enc")):
        raise BackupRefused(f"{settings.data_dir} already holds objects: restore into a fresh one")
    if (settings.keys_dir / "keyring.json").exists():
        raise BackupRefused(f"{settings.keys_dir} already holds a keyring")
    engine = make_engine(settings.database_url)
    try:
        tables = sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupRefused("the configured database is not empty: restore into a fresh one")


def _extract_keys(data: bytes, keys_dir: Path) -> None:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        archive.extractall(keys_dir, filter="data")  # refuses absolute paths, links out


def install_kek(settings: Settings, kek_file: Path) -> None:
    """Put the KEK the backup was made under into the fresh keys directory (0600)."""
    settings.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = settings.keys_dir / KEK_FILE
    if target.exists() and target.read_bytes() != kek_file.read_bytes():
        raise BackupRefused(f"{target} exists and holds another KEK")
    write_private_file(target, kek_file.read_bytes())


def restore_backup(settings: Settings, source: Path) -> RestoreReport:
    """Check the whole backup first, then restore it into a fresh data directory."""
    kek = load_kek(settings)
    manifest, _ = _checked_manifest(source, kek)
    _require_fresh(settings)
    keys_key = kek.unwrap(base64.b64decode(manifest["keys_key"]))
    keys_tar = at_rest.decrypt_bytes((source / KEYS_FILE).read_bytes(), keys_key, aad=KEYS_AAD)
    _extract_keys(keys_tar, settings.keys_dir)
    if manifest["database"] == "sqlite":
        if not settings.embedded_database:
            raise BackupRefused("the backup holds a SQLite database; configure sqlite:///")
        target = _sqlite_path(settings.database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / SQLITE_FILE, target)
    else:
        if settings.embedded_database:
            raise BackupRefused("the backup holds a PostgreSQL dump; configure postgresql://")
        subprocess.run(  # noqa: S603
            ["pg_restore", "--no-owner", "--single-transaction", "--dbname",  # noqa: S607
             _libpq_url(settings.database_url), str(source / PG_FILE)],
            check=True, capture_output=True, timeout=3600,
        )  # fmt: skip
    objects = 0
    for name in manifest["files"]:
        if name.startswith("objects/"):
            target = settings.data_dir / name
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copy2(source / name, target)
            objects += 1
    entries, problems = _verify_audit_log(settings)
    return RestoreReport(len(manifest["files"]), objects, entries, problems)


def _verify_audit_log(settings: Settings) -> tuple[int, list[str]]:
    """The restored audit log, recomputed and checked against its signed checkpoints."""
    from gateway.audit import ledger
    from gateway.persistence.audit_tables import audit_leaf
    from gateway.runtime.keyring import load_keyring

    public_key = load_keyring(settings.keys_dir).log_key.public_key()
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(audit_leaf)).scalar_one()
            report = ledger.verify_database(conn, public_key)
    finally:
        engine.dispose()
    return int(count), [] if report.ok else [problem.line() for problem in report.problems]
