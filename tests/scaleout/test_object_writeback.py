"""A filesystem object's staging file is synced early while it is written (the disk works
while the stream goes on); `finish` still fsyncs it whole, and an early sync's failure is
not swallowed (the kernel may report a write-back error only once). What an early sync
made durable leaves the page cache, never more."""

from __future__ import annotations

import errno
import itertools
import os

import pytest

from gateway.persistence import object_backends
from gateway.persistence.object_backends import FilesystemObjects

MIB = 1024 * 1024


def test_a_staging_file_is_synced_early_and_finished_whole(tmp_path, monkeypatch):
    synced: list[int] = []

    def recording_sync(descriptor: int) -> None:
        synced.append(os.fstat(descriptor).st_size)
        os.fsync(descriptor)

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


def test_only_what_an_early_sync_made_durable_leaves_the_page_cache(tmp_path, monkeypatch):
    synced: list[int] = []
    dropped: list[tuple[int, int]] = []

    def recording_sync(descriptor: int) -> None:
        os.fsync(descriptor)
        synced.append(os.fstat(descriptor).st_size)

    def recording_drop(descriptor: int, start: int, end: int) -> None:
        assert synced, "pages dropped before any sync"
        assert end <= synced[-1], "pages dropped beyond what the last sync covered"
        dropped.append((start, end))

    monkeypatch.setattr(object_backends, "WRITEBACK_STEP", MIB)
    monkeypatch.setattr(object_backends, "_fdatasync", recording_sync)
    monkeypatch.setattr(object_backends, "_drop_cached", recording_drop)
    store = FilesystemObjects(tmp_path)
    writer = store.writer("ef-object")
    data = os.urandom(6 * MIB + 5)
    for at in range(0, len(data), 128 * 1024):
        writer.write(data[at : at + 128 * 1024])
    writer.finish()
    assert dropped, "nothing left the page cache"
    assert dropped[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(dropped))  # contiguous
    with store.open("ef-object") as stored:
        assert stored.read() == data


def test_a_failed_early_sync_drops_nothing_from_the_page_cache(tmp_path, monkeypatch):
    dropped: list[tuple[int, int]] = []

    def failing_sync(descriptor: int) -> None:
        raise OSError(errno.EIO, "write-back failed")

    monkeypatch.setattr(object_backends, "WRITEBACK_STEP", MIB)
    monkeypatch.setattr(object_backends, "_fdatasync", failing_sync)
    monkeypatch.setattr(object_backends, "_drop_cached", lambda *span: dropped.append(span))
    writer = FilesystemObjects(tmp_path).writer("gh-object")
    for _ in range(3):
        writer.write(os.urandom(MIB))
    with pytest.raises(OSError, match="write-back failed"):
        writer.finish()
    writer.discard()
    assert dropped == []
