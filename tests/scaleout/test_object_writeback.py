"""A filesystem object's staging file written through the page cache (a file system
refusing O_DIRECT, stood in for by a platform without it) is synced early while it is
written (the disk works while the stream goes on); `finish` still fsyncs it whole, and an
early sync's failure is not swallowed (the kernel may report a write-back error only
once). Written around the cache (direct_io), there is nothing to sync early."""

from __future__ import annotations

import errno
import os

import pytest

from gateway.persistence import direct_io, object_backends
from gateway.persistence.object_backends import FilesystemObjects

MIB = 1024 * 1024


def test_a_staging_file_is_synced_early_and_finished_whole(tmp_path, monkeypatch):
    synced: list[int] = []

    def recording_sync(descriptor: int) -> None:
        synced.append(os.fstat(descriptor).st_size)
        os.fsync(descriptor)

    monkeypatch.setattr(direct_io, "O_DIRECT", 0)
    monkeypatch.setattr(object_backends, "WRITEBACK_STEP", MIB)
    monkeypatch.setattr(object_backends, "_fdatasync", recording_sync)
    store = FilesystemObjects(tmp_path)
    writer = store.writer("ab-object")
    data = os.urandom(5 * MIB + 3)
    for at in range(0, len(data), 256 * 1024):
        writer.write(data[at : at + 256 * 1024])
    writer.finish()
    assert synced, "no early sync while writing"
    assert all(0 < size <= len(data) for size in synced)
    with store.open("ab-object") as stored:
        assert stored.read() == data
    assert list((tmp_path / "objects" / "staging").iterdir()) == []


def test_an_early_sync_failure_fails_finish_and_discard_leaves_nothing(tmp_path, monkeypatch):
    def failing_sync(descriptor: int) -> None:
        raise OSError(errno.EIO, "write-back failed")

    monkeypatch.setattr(direct_io, "O_DIRECT", 0)
    monkeypatch.setattr(object_backends, "WRITEBACK_STEP", MIB)
    monkeypatch.setattr(object_backends, "_fdatasync", failing_sync)
    store = FilesystemObjects(tmp_path)
    writer = store.writer("cd-object")
    for _ in range(3):
        writer.write(os.urandom(MIB))
    with pytest.raises(OSError, match="write-back failed"):
        writer.finish()
    writer.discard()
    assert not store.exists("cd-object")
    assert list((tmp_path / "objects" / "staging").iterdir()) == []


def test_written_around_the_page_cache_nothing_is_synced_early(tmp_path, monkeypatch):
    synced: list[int] = []
    monkeypatch.setattr(object_backends, "WRITEBACK_STEP", MIB)
    monkeypatch.setattr(object_backends, "_fdatasync", lambda fd: synced.append(fd))
    store = FilesystemObjects(tmp_path)
    writer = store.writer("ef-object")
    data = os.urandom(5 * MIB + 3)
    writer.write(data)
    writer.finish()
    assert synced == []
    with store.open("ef-object") as stored:
        assert stored.read() == data
