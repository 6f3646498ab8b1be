"""Backup and restore drill: restore into a fresh data directory, verify the audit log,
let a counterpart pull a request made before the backup; a tampered backup is refused."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from pathlib import Path

import pytest
from ops_support import REPO, Cli
from werkzeug.serving import make_server

from gateway.config import Settings, load_settings
from gateway.runtime.container import build_runtime
from gateway.web.app import create_app

sys.path.insert(0, str(REPO / "tests" / "exchange"))
from exchange_support import MADRID, Gateway, register_clients
from live_gateway import RecordingSender


@contextmanager
def serving(settings: Settings, clients: dict | None = None) -> Iterator[Gateway]:  # type: ignore[type-arg]
    runtime = build_runtime(settings)
    runtime.sender = RecordingSender()  # type: ignore[assignment]
    app = create_app(settings, runtime=runtime)
    app.config["ROGATORY_RATE_PER_SECOND"] = 1000.0
    app.config["ROGATORY_RATE_BURST"] = 1000
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    if "public_url" in {spec.name for spec in fields(Settings)}:  # token audience (issue 15)
        runtime.settings = replace(settings, public_url=f"http://127.0.0.1:{server.server_port}")  # type: ignore[call-arg]
    pki = settings.keys_dir / "dev-pki"
    try:
        yield Gateway(
            settings,
            runtime,
            f"http://127.0.0.1:{server.server_port}",
            pki,
            clients or register_clients(runtime, pki),
            app,
        )
    finally:
        server.shutdown()
        thread.join(timeout=5)
        runtime.engine.dispose()


@pytest.fixture
def backed_up(
    make_settings: Callable[..., Settings], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Settings, Path, str, dict]:  # type: ignore[type-arg]
    settings = make_settings()
    with serving(settings) as gateway:
        request_id = gateway.new_available_request()
        clients = gateway.clients
    backup = tmp_path / "backup"
    code, out, err = Cli(settings.data_dir, capsys)("backup", backup)
    assert code == 0, err
    assert "backup complete" in out
    return settings, backup, request_id, clients


def test_restore_into_a_fresh_directory_verifies_and_serves_old_requests(
    backed_up: tuple[Settings, Path, str, dict],  # type: ignore[type-arg]
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings, backup, request_id, clients = backed_up
    assert not list(backup.rglob("kek.b64*"))
    assert b"PRIVATE KEY" not in b"".join(p.read_bytes() for p in backup.rglob("*") if p.is_file())
    fresh = Cli(tmp_path / "fresh", capsys)
    code, out, err = fresh("restore", backup, "--kek", settings.keys_dir / "kek.b64")
    assert code == 0, out + err
    assert "audit log verified" in out
    code, out, err = fresh("audit", "verify")
    assert code == 0, out + err
    with serving(fresh.settings, clients) as restored, restored.http(MADRID) as madrid:
        inbox = madrid.get("/api/v1/inbox").json()
        assert request_id in json.dumps(inbox)
        lease = madrid.post(f"/api/v1/inbox/{request_id}/lease")
        assert lease.status_code == 201, lease.text
        package = madrid.get(
            f"/api/v1/requests/{request_id}/package",
            headers={"Lease-Token": lease.json()["lease_token"]},
        )
        assert package.status_code == 200, package.text
        assert len(package.content) > 1000


def _tamper_object(backup: Path) -> None:
    target = next(backup.glob("objects/*/*.enc"))
    data = bytearray(target.read_bytes())
    data[-1] ^= 1
    target.write_bytes(bytes(data))


def _tamper_manifest(backup: Path) -> None:
    manifest = json.loads((backup / "manifest.json").read_text())
    victim = next(name for name in manifest["files"] if name.startswith("objects/"))
    (backup / victim).write_bytes(b"forged")
    manifest["files"][victim] = {
        "size": 6,
        "sha256": hashlib.sha256(b"forged").hexdigest(),
    }
    (backup / "manifest.json").write_text(json.dumps(manifest))


def _tamper_database(backup: Path) -> None:
    with (backup / "database.sqlite3").open("ab") as database:
        database.write(b"\0")


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (_tamper_object, "changed since the backup was made"),
        (_tamper_manifest, "does not match manifest.mac"),
        (_tamper_database, "changed since the backup was made"),
    ],
)
def test_a_tampered_backup_is_refused_and_nothing_is_restored(
    backed_up: tuple[Settings, Path, str, dict],  # type: ignore[type-arg]
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Callable[[Path], None],
    expected: str,
) -> None:
    settings, backup, _, _ = backed_up
    tampered = tmp_path / "tampered"
    shutil.copytree(backup, tampered)
    tamper(tampered)
    fresh = Cli(tmp_path / "fresh", capsys)
    code, _, err = fresh("restore", tampered, "--kek", settings.keys_dir / "kek.b64")
    assert code == 2
    assert err.startswith("error[backup-refused]: ")
    assert expected in err
    assert not (fresh.keys_dir / "keyring.json").exists()
    assert not (fresh.data_dir / "rogatory.sqlite3").exists()


def test_restore_refuses_another_kek_and_a_used_directory(
    backed_up: tuple[Settings, Path, str, dict],  # type: ignore[type-arg]
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings, backup, _, _ = backed_up
    other = tmp_path / "other.b64"
    other.write_text("A" * 43 + "=\n")
    other.chmod(0o600)
    code, _, err = Cli(tmp_path / "a", capsys)("restore", backup, "--kek", other)
    assert code == 2
    assert "was made under KEK" in err
    code, _, err = Cli(settings.data_dir, capsys)("restore", backup)
    assert code == 2
    assert "restore into a fresh one" in err or "already holds" in err


@pytest.mark.postgres
def test_postgresql_backup_restores_through_pg_dump(
    make_settings: Callable[..., Settings],
    fresh_postgres_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uuid

    import psycopg

    settings = make_settings(database_url=fresh_postgres_url)
    with serving(settings) as gateway:
        request_id = gateway.new_available_request()
    backup = tmp_path / "pg-backup"
    monkeypatch.setenv("DATABASE_URL", fresh_postgres_url)
    code, _, err = Cli(settings.data_dir, capsys)("backup", backup)
    assert code == 0, err
    assert (backup / "database.pgdump").exists()
    admin = fresh_postgres_url.rsplit("/", 1)[0] + "/test"
    name = f"rogatory_restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        target = fresh_postgres_url.rsplit("/", 1)[0] + f"/{name}"
        monkeypatch.setenv("DATABASE_URL", target)
        fresh = Cli(tmp_path / "fresh", capsys)
        code, out, err = fresh("restore", backup, "--kek", settings.keys_dir / "kek.b64")
        assert code == 0, out + err
        assert "audit log verified" in out
        restored = load_settings(
            {"DATABASE_URL": target}, overrides={"data_dir": str(fresh.data_dir)}
        )
        with serving(restored, gateway.clients) as again, again.http(MADRID) as madrid:
            assert request_id in json.dumps(madrid.get("/api/v1/inbox").json())
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
