"""Small objects (at most INLINE_LIMIT bytes, prepared from bytes in memory) are kept in the
database whatever the store: encrypted before the write transaction, their ciphertext
inserted with their rows, durable when that transaction commits, readable by every node,
and never moved by `objects migrate`."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from durability_support import record_fsyncs_and_renames
from foundation_support import accept, sealed_submission

from gateway.crypto.errors import InvalidEnvelope
from gateway.domain.errors import NotFound
from gateway.persistence.blobs import INLINE_LIMIT, BlobStore, PreparedObject, commit_prepared
from gateway.persistence.db import make_engine, transaction
from gateway.persistence.object_backends import DatabaseObjects
from gateway.persistence.object_tables import inline_objects, object_chunks
from gateway.persistence.tables import stored_objects
from gateway.runtime.container import Runtime, build_runtime, load_kek


@pytest.fixture
def runtime(make_settings) -> Iterator[Runtime]:
    built = build_runtime(make_settings())
    yield built
    built.close()


def _prepare_form(runtime: Runtime, data: bytes) -> PreparedObject:
    return runtime.blobs.prepare(
        request_id=None, kind="form", name="f.json", media_type="x/y", data=data
    )


def _files(root) -> list:
    return [path for path in (root / "objects").rglob("*") if path.is_file()]


def _inline_rows(engine: sa.Engine) -> dict[str, bytes]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(inline_objects.c.object_id, inline_objects.c.data))
        return {object_id: bytes(data) for object_id, data in rows}


def test_a_small_object_is_written_with_its_rows_and_a_larger_one_as_a_file(runtime, monkeypatch):
    blobs = runtime.blobs
    secret = b"TOP-SECRET " * (INLINE_LIMIT // 11 + 1)
    small, limit, large = secret[:100], secret[:INLINE_LIMIT], os.urandom(INLINE_LIMIT + 1)
    assert len(limit) == INLINE_LIMIT
    events = record_fsyncs_and_renames(monkeypatch)
    prepared = blobs.prepare_many(
        request_id=None,
        items=[
            ("form", "small.json", "application/json", small),
            ("form", "limit.json", "application/json", limit),
            ("attachment", "large.bin", "application/octet-stream", large),
        ],
    )
    synced = [path for operation, path in events if operation == "fsync"]
    assert [path for path in synced if path.endswith(".tmp")] != [], "the large one: a file"
    assert len([path for path in synced if path.endswith(".tmp")]) == 1, synced
    assert len(_files(runtime.settings.data_dir)) == 1
    assert _inline_rows(runtime.engine) == {}, "nothing reaches the database before commit"

    with transaction(runtime.engine) as conn:
        stored = commit_prepared(conn, prepared)
    rows = _inline_rows(runtime.engine)
    assert set(rows) == {stored[0].id, stored[1].id}
    assert all(b"TOP-SECRET" not in data for data in rows.values()), "ciphertext only"
    with runtime.engine.connect() as conn:
        assert [blobs.read(conn, one.id) for one in stored] == [small, limit, large]
        assert b"".join(blobs.open_plaintext(conn, stored[1].id)) == limit


def test_a_small_object_whose_transaction_rolls_back_leaves_nothing(runtime):
    prepared = _prepare_form(runtime, b"{}")

    def failing_step() -> None:
        with transaction(runtime.engine) as conn:
            commit_prepared(conn, [prepared])
            raise RuntimeError("the write step failed after inserting the rows")

    with pytest.raises(RuntimeError):
        failing_step()
    assert _inline_rows(runtime.engine) == {}
    assert _files(runtime.settings.data_dir) == []
    with runtime.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(stored_objects)).scalar()
        assert count == 0
        with pytest.raises(NotFound):
            runtime.blobs.read(conn, prepared.staged.id)


def test_shredding_a_small_object_deletes_its_key_and_its_ciphertext(runtime):
    with transaction(runtime.engine) as conn:
        stored = runtime.blobs.record(conn, _prepare_form(runtime, b"secret"))
    assert list(_inline_rows(runtime.engine)) == [stored.id]
    with transaction(runtime.engine) as conn:
        runtime.blobs.shred(conn, stored.id)
    assert _inline_rows(runtime.engine) == {}
    with runtime.engine.connect() as conn, pytest.raises(NotFound):
        runtime.blobs.read(conn, stored.id)


def test_intake_writes_no_file_for_a_small_submission_and_a_file_for_a_large_attachment(
    runtime,
):
    settings = runtime.settings
    large = os.urandom(INLINE_LIMIT + 10)
    first = accept(runtime, sealed_submission(settings), flush=False)
    assert _files(settings.data_dir) == [], "signed request and form: inline"
    second = accept(
        runtime,
        sealed_submission(settings, attachments=[("scan.bin", "image/png", large)]),
        flush=False,
    )
    with runtime.engine.connect() as conn:
        objects = {request: runtime.blobs.list(conn, request) for request in (first, second)}
        kinds = {one.kind: one for one in objects[second]}
        assert runtime.blobs.read(conn, kinds["attachment"].id) == large
    rows = _inline_rows(runtime.engine)
    assert {one.kind for one in objects[first]} == {"signed-request", "form"}
    assert {one.id for one in objects[first]} <= set(rows)
    # the second's signed request carries the attachment: both are files, its form not
    as_files = {kinds["attachment"].id, kinds["signed-request"].id}
    assert {path.stem for path in _files(settings.data_dir)} == as_files
    assert kinds["form"].id in rows
    assert not as_files & set(rows)


@pytest.mark.postgres
def test_on_postgresql_small_objects_are_rows_of_the_recording_transaction_every_node_reads(
    make_settings, fresh_postgres_url, tmp_path
):
    """With the postgresql store, a small object costs no transaction of its own (the
    chunk writer commits one per object); another node, with its own data directory and
    either store, reads it."""
    node_a = make_settings(database_url=fresh_postgres_url, object_store="postgresql")
    runtime = build_runtime(node_a)
    try:
        request_id = accept(runtime, sealed_submission(node_a), flush=False)
        with runtime.engine.connect() as conn:
            form = runtime.blobs.find(conn, request_id, "form")
            assert form is not None
            expected = runtime.blobs.read(conn, form.id)
            chunks = conn.execute(sa.select(sa.func.count()).select_from(object_chunks)).scalar()
        assert chunks == 0
        assert form.id in _inline_rows(runtime.engine)
    finally:
        runtime.close()
    engine = make_engine(fresh_postgres_url)
    try:
        for backend in (DatabaseObjects(engine), None):  # None: node B's filesystem store
            node_b = BlobStore(tmp_path / "node-b", load_kek(node_a), backend)
            with engine.connect() as conn:
                assert node_b.read(conn, form.id) == expected
    finally:
        engine.dispose()


def test_a_small_objects_ciphertext_is_bound_to_its_id(runtime):
    """Two inline rows swapped (a tampered database) do not decrypt as each other."""
    blobs = runtime.blobs
    prepared = blobs.prepare_many(
        request_id=None,
        items=[("form", "a", "x/y", b"first"), ("form", "b", "x/y", b"second")],
    )
    with transaction(runtime.engine) as conn:
        first, second = commit_prepared(conn, prepared)
    rows = _inline_rows(runtime.engine)
    with transaction(runtime.engine) as conn:
        for object_id, other in ((first.id, second.id), (second.id, first.id)):
            conn.execute(
                inline_objects.update()
                .where(inline_objects.c.object_id == object_id)
                .values(data=rows[other])
            )
    with runtime.engine.connect() as conn:
        for one in (first, second):
            with pytest.raises(InvalidEnvelope):
                blobs.read(conn, one.id)
