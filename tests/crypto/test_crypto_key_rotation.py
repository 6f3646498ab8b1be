"""`rogatory keys rotate-kek`: one transaction re-wraps every data key; the old KEK retires."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from process_support import settings_env
from upload_support import audit_events

from gateway.config import Settings
from gateway.crypto import InvalidEnvelope
from gateway.crypto.at_rest import FileKek
from gateway.crypto.keyfiles import write_private_file
from gateway.persistence.db import transaction
from gateway.persistence.tables import data_keys
from gateway.runtime.container import build_runtime


def _rotate(settings: Settings, new_kek: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "rotate-kek", "--new-kek", str(new_kek)],
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _store_objects(settings: Settings) -> dict[str, bytes]:
    runtime = build_runtime(settings)
    contents = {f"note-{i}.txt": os.urandom(1000 + i * 70_000) for i in range(4)}
    with transaction(runtime.engine) as conn:
        ids = {
            runtime.blobs.put(
                conn, request_id=None, kind="test", name=name, media_type="text/plain", data=data
            ).id: data
            for name, data in contents.items()
        }
    runtime.close()
    return ids


def _new_kek_file(tmp_path: Path) -> tuple[Path, bytes]:
    raw = base64.b64encode(os.urandom(32)) + b"\n"
    path = tmp_path / "new-kek.b64"
    write_private_file(path, raw)
    return path, raw


def test_rotation_rewraps_every_data_key_and_retires_the_old_kek(make_settings, tmp_path):
    settings = make_settings()
    stored = _store_objects(settings)
    kek_file = settings.keys_dir / "kek.b64"
    old_raw = kek_file.read_bytes()
    old_kek = FileKek.from_file(kek_file)
    new_file, new_raw = _new_kek_file(tmp_path)

    result = _rotate(settings, new_file)
    assert result.returncode == 0, result.stderr
    (retired,) = settings.keys_dir.glob("kek.b64.retired-*")
    assert retired.read_bytes() == old_raw
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    assert kek_file.read_bytes() == new_raw
    assert stat.S_IMODE(kek_file.stat().st_mode) == 0o600
    assert not (settings.keys_dir / "kek.b64.next").exists()

    runtime = build_runtime(settings)
    try:
        with transaction(runtime.engine) as conn:
            assert {oid: runtime.blobs.read(conn, oid) for oid in stored} == stored
            wrapped = conn.execute(sa.select(data_keys.c.kek_id, data_keys.c.wrapped_key)).all()
    finally:
        runtime.close()
    assert len(wrapped) >= len(stored)
    assert {kek_id for kek_id, _ in wrapped} == {FileKek.from_file(new_file).key_id}
    for _, blob in wrapped:
        with pytest.raises(InvalidEnvelope):
            old_kek.unwrap(bytes(blob))
    assert (None, "key_rotation") in audit_events(settings)


def test_new_kek_readable_by_others_is_refused_and_nothing_changes(make_settings, tmp_path):
    settings = make_settings()
    stored = _store_objects(settings)
    kek_file = settings.keys_dir / "kek.b64"
    before = kek_file.read_bytes()
    loose = tmp_path / "loose-kek.b64"
    loose.write_bytes(base64.b64encode(os.urandom(32)))
    loose.chmod(0o644)
    result = _rotate(settings, loose)
    assert result.returncode != 0
    assert "--new-kek" in result.stderr
    assert kek_file.read_bytes() == before
    assert not list(settings.keys_dir.glob("kek.b64.*"))
    runtime = build_runtime(settings)
    with transaction(runtime.engine) as conn:
        assert {oid: runtime.blobs.read(conn, oid) for oid in stored} == stored
    runtime.close()
    assert (None, "key_rotation") not in audit_events(settings)
