"""Encrypted objects in PostgreSQL (ROGATORY_OBJECT_STORE=postgresql) and `objects migrate`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tracemalloc

import psycopg
import pytest
import sqlalchemy as sa
from process_support import REPO, settings_env

from gateway.config import ConfigError, load_settings
from gateway.domain.errors import NotFound
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import make_engine, transaction
from gateway.persistence.object_backends import DatabaseObjects, FilesystemObjects
from gateway.persistence.object_tables import object_chunks
from gateway.runtime.container import build_runtime, load_kek

MIB = 1024 * 1024
pytestmark = pytest.mark.postgres


class _Hashing:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def _pattern(index: int) -> bytes:
    return hashlib.sha256(str(index).encode()).digest() * (MIB // 32)


def test_postgresql_store_keeps_only_ciphertext_rows_that_another_node_reads(
    make_settings, fresh_postgres_url, tmp_path
):
    node_a = make_settings(database_url=fresh_postgres_url, object_store="postgresql")
    runtime = build_runtime(node_a)
    assert isinstance(runtime.blobs.backend, DatabaseObjects)
    secret = b"TOP-SECRET witness statement " * 200_000  # 5.8 MB, several chunk rows
    with transaction(runtime.engine) as conn:
        stored = runtime.blobs.put(
            conn,
            request_id=None,
            kind="evidence",
            name="w.txt",
            media_type="text/plain",
            data=secret,
        )
    runtime.close()
    assert not any((node_a.data_dir / "objects").rglob("*.enc")), "ciphertext reached the disk"
    with psycopg.connect(fresh_postgres_url) as conn:
        rows = conn.execute(
            "SELECT seq, data FROM object_chunks WHERE object_id = %s ORDER BY seq", [stored.id]
        ).fetchall()
    assert len(rows) >= 6
    assert all(b"TOP-SECRET" not in bytes(data) for _, data in rows)
    # node B: another data directory on another machine, same database and KEK
    engine = make_engine(fresh_postgres_url)
    node_b = BlobStore(tmp_path / "node-b", load_kek(node_a), DatabaseObjects(engine))
    with transaction(engine) as conn:
        assert node_b.read(conn, stored.id) == secret
    engine.dispose()


def test_postgresql_objects_stream_in_and_out_in_bounded_memory(make_settings, fresh_postgres_url):
    settings = make_settings(database_url=fresh_postgres_url, object_store="postgresql")
    runtime = build_runtime(settings)
    blobs = runtime.blobs
    size, expected = 64 * MIB, hashlib.sha256()
    tracemalloc.start()
    try:
        staged = blobs.stage(request_id=None, kind="evidence", name="big", media_type="x/y")
        for index in range(size // MIB):
            piece = _pattern(index)
            expected.update(piece)
            staged.write(piece)
        with transaction(runtime.engine) as conn:
            stored = staged.commit(conn, sha256=expected.hexdigest())
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        sink = _Hashing()
        with transaction(runtime.engine) as conn:
            blobs.read_into(conn, stored.id, sink)  # type: ignore[arg-type]
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        runtime.close()
    print(
        f"\n64 MiB object: peak {write_peak / MIB:.1f} MiB writing, {read_peak / MIB:.1f} reading"
    )
    assert (sink.size, sink.digest.hexdigest()) == (size, expected.hexdigest())
    assert write_peak < 16 * MIB
    assert read_peak < 16 * MIB


def test_a_discarded_object_leaves_no_chunk_rows(make_settings, fresh_postgres_url):
    settings = make_settings(database_url=fresh_postgres_url, object_store="postgresql")
    runtime = build_runtime(settings)
    staged = runtime.blobs.stage(request_id=None, kind="evidence", name="x", media_type="x/y")
    staged.write(os.urandom(3 * MIB))
    staged.discard()
    with runtime.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(object_chunks)).scalar()
    try:
        assert count == 0
        with pytest.raises(NotFound):
            DatabaseObjects(runtime.engine).open(staged.id)
    finally:
        runtime.close()


def _rogatory(settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=REPO,
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_objects_migrate_moves_every_object_and_refuses_a_copy_that_does_not_verify(
    make_settings, fresh_postgres_url
):
    settings = make_settings(database_url=fresh_postgres_url)  # filesystem store
    runtime = build_runtime(settings)
    contents = {f"doc-{i}": os.urandom(MIB * i + 17) for i in range(4)}
    ids = {}
    with transaction(runtime.engine) as conn:
        for name, data in contents.items():
            ids[name] = runtime.blobs.put(
                conn, request_id=None, kind="evidence", name=name, media_type="x/y", data=data
            ).id
    small = runtime.blobs.prepare(  # kept inline in the database: neither store's
        request_id=None, kind="form", name="form.json", media_type="x/y", data=b'{"a": 1}'
    )
    with transaction(runtime.engine) as conn:
        inline_id = runtime.blobs.record(conn, small).id
    runtime.close()
    files = FilesystemObjects(settings.data_dir)

    moved = _rogatory(settings, "objects", "migrate", "--to", "postgresql", "--remove-source")
    assert moved.returncode == 0, moved.stderr
    assert "4 objects copied and verified from filesystem to postgresql" in moved.stdout
    assert not any(files.exists(object_id) for object_id in ids.values())
    again = _rogatory(settings, "objects", "migrate", "--to", "postgresql")
    assert "0 objects copied and verified" in again.stdout
    assert "4 already there" in again.stdout
    assert "1 small objects are kept in the database whatever the store" in again.stdout

    pg = build_runtime(
        load_settings(settings_env(settings) | {"ROGATORY_OBJECT_STORE": "postgresql"})
    )
    with transaction(pg.engine) as conn:
        for name, object_id in ids.items():
            assert pg.blobs.read(conn, object_id) == contents[name]
        assert pg.blobs.read(conn, inline_id) == b'{"a": 1}'
        # one flipped byte in one stored piece
        conn.execute(
            sa.text(
                "UPDATE object_chunks SET data = set_byte(data, 10, get_byte(data, 10) # 255) "
                "WHERE object_id = :id AND seq = 1"
            ).bindparams(id=ids["doc-2"])
        )
    pg.close()
    back = _rogatory(settings, "objects", "migrate", "--to", "filesystem", "--remove-source")
    assert back.returncode == 2
    assert "error[objects-not-migrated]: 1 objects did not verify" in back.stderr
    assert f"FAILED {ids['doc-2']}: copy-does-not-verify" in back.stdout
    assert not files.exists(ids["doc-2"]), "an unverified copy stayed in the target"
    assert all(files.exists(ids[name]) for name in ("doc-0", "doc-1", "doc-3"))
    audit = _rogatory(settings, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_postgresql_object_store_needs_a_postgresql_database(tmp_path):
    with pytest.raises(ConfigError, match="object_store"):
        load_settings(
            {"ROGATORY_OBJECT_STORE": "postgresql"}, overrides={"data_dir": str(tmp_path)}
        )
    with pytest.raises(ConfigError, match="object_store"):
        load_settings({"ROGATORY_OBJECT_STORE": "s3"}, overrides={"data_dir": str(tmp_path)})
