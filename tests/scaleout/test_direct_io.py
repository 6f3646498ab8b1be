"""Large files around the page cache (gateway/persistence/direct_io.py): the bytes are
exactly those written or stored, whatever the piece sizes; a large file really bypasses
the cache (fincore, util-linux) and a small one never switches O_DIRECT on; a file
system refusing O_DIRECT, or a platform without it, gets the page cache; a write error
(a full disk: a real 2 MiB tmpfs) is raised and never swallowed; a reader closed early
stops its thread."""

from __future__ import annotations

import errno
import os
import random
import subprocess
import threading
from pathlib import Path

import pytest

from gateway.persistence import direct_io
from gateway.persistence.direct_io import ALIGN, BLOCK, LARGE, DirectReader, DirectWriter
from gateway.persistence.object_backends import FilesystemObjects

SIZES = [0, 1, ALIGN - 1, ALIGN, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + ALIGN + 7]


def _write(path: Path, data: bytes, seed: int) -> DirectWriter:
    pieces = random.Random(seed)
    writer = DirectWriter(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    at = 0
    while at < len(data):
        step = pieces.choice([1, 7, ALIGN, 65_536, BLOCK, BLOCK + 5])
        assert writer.write(data[at : at + step]) == len(data[at : at + step])
        at += step
    return writer


def _cached_bytes(path: Path) -> int:
    """How much of ``path`` is in the page cache (fincore: resident pages x page size)."""
    out = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


@pytest.mark.parametrize("size", SIZES)
def test_the_bytes_written_are_the_bytes_on_disk(tmp_path, size):
    data = os.urandom(size)
    with _write(tmp_path / "f", data, seed=size):
        pass
    assert (tmp_path / "f").read_bytes() == data


def test_a_large_file_bypasses_the_page_cache_and_a_small_one_never_switches(tmp_path):
    large, small = tmp_path / "large", tmp_path / "small"
    writer = _write(large, os.urandom(8 * BLOCK + 100), seed=1)
    assert writer.direct, "a full block was written without O_DIRECT"
    writer.close()
    assert not writer.direct
    # only the unaligned tail went through the page cache
    assert _cached_bytes(large) <= ALIGN
    tiny = _write(small, os.urandom(BLOCK - 1), seed=2)
    assert not tiny.direct
    tiny.close()
    assert _cached_bytes(small) > 0


def test_without_o_direct_the_page_cache_is_used_and_the_bytes_are_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(direct_io, "O_DIRECT", 0)
    data = os.urandom(4 * BLOCK + 3)
    writer = _write(tmp_path / "f", data, seed=3)
    assert not writer.direct
    writer.close()
    assert (tmp_path / "f").read_bytes() == data
    assert _cached_bytes(tmp_path / "f") >= 4 * BLOCK


def test_a_file_system_taking_the_flag_but_refusing_the_write_gets_the_page_cache(
    tmp_path, monkeypatch
):
    """The kernel boundary is stood in for: an O_DIRECT write answered EINVAL once (some
    FUSE file systems do this) is written again without O_DIRECT."""
    real_write, refused = os.write, []

    def write(descriptor: int, data: bytes) -> int:
        if threading.current_thread().name == "direct-write" and not refused:
            refused.append(len(data))
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(descriptor, data)

    monkeypatch.setattr(direct_io.os, "write", write)
    data = os.urandom(3 * BLOCK + 11)
    _write(tmp_path / "f", data, seed=4).close()
    assert refused == [BLOCK]
    assert (tmp_path / "f").read_bytes() == data


@pytest.fixture
def full_disk(tmp_path):
    """A real 2 MiB tmpfs (root: CI and dev machines run the suite as root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=True)


def test_a_full_disk_is_raised_and_the_descriptor_closed(full_disk):
    writer = DirectWriter(os.open(full_disk / "f", os.O_WRONLY | os.O_CREAT, 0o600))

    def fill_and_close() -> None:
        try:
            for _ in range(6):
                writer.write(os.urandom(BLOCK))
        finally:
            writer.close()  # raises the helper thread's error if write did not

    with pytest.raises(OSError, match="No space left") as raised:
        fill_and_close()
    assert raised.value.errno == errno.ENOSPC
    writer.close()  # idempotent, and the descriptor is gone
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(writer.fileno())


@pytest.mark.parametrize("size", [0, 1, BLOCK, LARGE + ALIGN + 3])
@pytest.mark.parametrize("piece", [1000, BLOCK, -1])
def test_the_reader_gives_back_the_file_whatever_the_read_size(tmp_path, size, piece):
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    got = bytearray()
    with DirectReader(tmp_path / "f") as reader:
        while part := reader.read(piece):
            assert len(part) <= piece or piece < 0
            got += part
    assert bytes(got) == data


def test_a_reader_closed_early_stops_its_thread(tmp_path):
    (tmp_path / "f").write_bytes(os.urandom(LARGE))
    before = threading.active_count()
    reader = DirectReader(tmp_path / "f")
    assert reader.read(10)
    reader.close()
    assert threading.active_count() == before
    with pytest.raises(FileNotFoundError):
        DirectReader(tmp_path / "missing")


def test_a_large_stored_object_round_trips_through_direct_reads_and_writes(tmp_path):
    store = FilesystemObjects(tmp_path)
    data = os.urandom(LARGE + 12_345)
    writer = store.writer("ef-large")
    for at in range(0, len(data), 300_000):
        writer.write(data[at : at + 300_000])
    writer.finish()
    assert _cached_bytes(store.path("ef-large")) <= ALIGN
    with store.open("ef-large") as stored:
        assert isinstance(stored, DirectReader)
        assert stored.read(-1) == data
