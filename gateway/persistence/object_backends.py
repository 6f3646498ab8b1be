"""Where encrypted objects' ciphertext lives: the data directory, or the database.

Both backends hold the same bytes (an at-rest v1 stream whose AAD is the object id), so
moving an object between them is a byte copy that needs no key. Neither buffers an
object: writers take pieces as the encryptor produces them, readers hand them back one
piece at a time.

- ``filesystem`` (embedded default): one file per object under ``<data>/objects``,
  written to a staging file (synced early, piece by piece, on a helper thread), fsynced
  and renamed into place.
- ``postgresql``: rows of ``object_chunks`` (at most PIECE_SIZE bytes each), inserted in
  one transaction of the writer's own connection and committed (WAL-synced) by
  ``finish``; every gateway and worker node that reaches the database reads them.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gateway.domain.errors import NotFound
from gateway.persistence.direct_io import LARGE, DirectReader, DirectWriter, fsync_path
from gateway.persistence.object_tables import object_chunks

PIECE_SIZE = 1024 * 1024
READ_AHEAD_PIECES = 4
WRITEBACK_STEP = 64 * 1024 * 1024  # bytes written between two early syncs of a staging file


class CiphertextWriter(Protocol):
    def write(self, data: bytes) -> int: ...

    def finish(self) -> None:
        """Make the object durable and readable under its id."""

    def discard(self) -> None:
        """Remove whatever was written (idempotent; also after finish)."""


class ObjectBackend(Protocol):
    name: str

    def writer(self, object_id: str) -> CiphertextWriter: ...

    def open(self, object_id: str) -> BinaryIO:
        """The object's ciphertext as a readable stream (close it); NotFound if absent."""
        ...

    def exists(self, object_id: str) -> bool: ...

    def delete(self, object_id: str) -> None: ...


class FilesystemObjects:
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, object_id: str) -> Path:
        return self.root / "objects" / object_id[:2] / f"{object_id}.enc"

    def writer(self, object_id: str) -> CiphertextWriter:
        staging = self.root / "objects" / "staging" / f"{object_id}.tmp"
        return _FileWriter(staging, self.path(object_id))

    def open(self, object_id: str) -> BinaryIO:
        path = self.path(object_id)
        try:
            if path.stat().st_size >= LARGE:
                return DirectReader(path)  # type: ignore[return-value]  # read/close/with
            return open(path, "rb")
        except FileNotFoundError:
            raise NotFound(f"object {object_id}: no ciphertext in the filesystem store") from None

    def exists(self, object_id: str) -> bool:
        return self.path(object_id).is_file()

    def delete(self, object_id: str) -> None:
        self.path(object_id).unlink(missing_ok=True)


class _FileWriter:
    """A staging file, fsynced and renamed into place by ``finish``.

    A large object goes around the page cache (``direct_io``): its blocks are on the disk
    as they are written, and ``finish``'s fsync (the durability point, unchanged) flushes
    the disk's cache and the file's size. A file written through the cache (a small one,
    or on a file system refusing ``O_DIRECT``) is synced early instead: every
    WRITEBACK_STEP bytes a helper thread starts an fdatasync of what is written so far, so
    ``finish`` waits for the tail only, not for gigabytes at once. An early sync's failure
    is raised by ``finish``: the kernel may report it only once.
    """

    def __init__(self, staging: Path, final: Path) -> None:
        self._staging, self._final = staging, final
        self._file = _create(staging)  # closed by finish/discard
        self._placed = False  # fsynced, closed and renamed; its directory not yet fsynced
        self._unsynced = 0
        self._syncing: threading.Thread | None = None
        self._sync_error: OSError | None = None

    def write(self, data: bytes) -> int:
        written = self._file.write(data)
        if self._file.direct:  # around the page cache: nothing for an early sync to do
            return written
        self._unsynced += written
        if self._unsynced >= WRITEBACK_STEP and not (self._syncing and self._syncing.is_alive()):
            self._file.flush()
            self._unsynced = 0
            self._syncing = threading.Thread(
                target=self._early_sync, name="object-writeback", daemon=True
            )
            self._syncing.start()
        return written

    def _early_sync(self) -> None:
        try:
            _fdatasync(self._file.fileno())
        except OSError as exc:
            self._sync_error = exc

    def _settle(self) -> None:
        """Wait for an early sync in flight (it uses the file's descriptor)."""
        if self._syncing is not None:
            self._syncing.join()
            self._syncing = None

    def finish(self) -> None:
        finish_together([self])

    def _place(self) -> Path | None:
        """fsync the bytes, close and rename into place; the directory whose fsync makes
        the new name durable (None when that was done already)."""
        if self._file.closed:
            return self._final.parent if self._placed else None
        self._file.flush()
        self._settle()
        if self._sync_error is not None:
            raise self._sync_error
        os.fsync(self._file.fileno())
        self._file.close()
        try:
            self._staging.replace(self._final)
        except FileNotFoundError:  # the first object of its directory
            self._final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._staging.replace(self._final)
        self._placed = True
        return self._final.parent

    def discard(self) -> None:
        self._settle()
        if not self._file.closed:
            # flushing the buffer fails again on a full disk: remove the file all the same
            with contextlib.suppress(OSError):
                self._file.close()
        self._staging.unlink(missing_ok=True)
        self._final.unlink(missing_ok=True)


_fdatasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


def finish_together(writers: list[CiphertextWriter]) -> None:
    """``finish`` several writers: each file fsynced and renamed into place, then each
    directory they went to fsynced once (objects of one directory share that fsync), so
    every new name is as durable as with one ``finish`` each."""
    directories: list[Path] = []
    for writer in writers:
        if not isinstance(writer, _FileWriter):
            writer.finish()
            continue
        directory = writer._place()
        if directory is not None and directory not in directories:
            directories.append(directory)
    for directory in directories:
        # the new names are durable too, not only the bytes
        fsync_path(directory, os.O_RDONLY | os.O_DIRECTORY)
    for writer in writers:
        if isinstance(writer, _FileWriter):
            writer._placed = False  # durable: a later finish has nothing left to do


def _create(path: Path) -> DirectWriter:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        return DirectWriter(os.open(path, flags, 0o600))
    except FileNotFoundError:  # the staging directory does not exist yet
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return DirectWriter(os.open(path, flags, 0o600))


class DatabaseObjects:
    name = "postgresql"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def writer(self, object_id: str) -> CiphertextWriter:
        return _ChunkWriter(self.engine, object_id)

    def open(self, object_id: str) -> BinaryIO:
        if not self.exists(object_id):
            raise NotFound(f"object {object_id} has no ciphertext in the database store")
        return _ChunkReader(self.engine, object_id)

    def exists(self, object_id: str) -> bool:
        query = sa.select(object_chunks.c.seq).where(
            object_chunks.c.object_id == object_id, object_chunks.c.seq == 0
        )
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def delete(self, object_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(object_chunks.delete().where(object_chunks.c.object_id == object_id))


class _ChunkWriter:
    """Pieces go to the database as they fill, inside one transaction committed by finish:
    a crash or discard before that leaves no row behind."""

    def __init__(self, engine: Engine, object_id: str) -> None:
        self._engine = engine
        self._id = object_id
        self._buffer = bytearray()
        self._seq = 0
        self._conn: Connection | None = engine.connect()
        self._transaction = self._conn.begin()
        self._finished = False

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= PIECE_SIZE:
            self._insert(bytes(self._buffer[:PIECE_SIZE]))
            del self._buffer[:PIECE_SIZE]
        return len(data)

    def _insert(self, piece: bytes) -> None:
        assert self._conn is not None, "writer already finished"  # noqa: S101
        self._conn.execute(
            object_chunks.insert().values(object_id=self._id, seq=self._seq, data=piece)
        )
        self._seq += 1

    def finish(self) -> None:
        if self._finished:
            return
        if self._buffer or self._seq == 0:
            self._insert(bytes(self._buffer))
            self._buffer.clear()
        self._transaction.commit()
        self._close()
        self._finished = True

    def discard(self) -> None:
        self._buffer.clear()
        if self._conn is not None:
            self._transaction.rollback()
            self._close()
        if self._finished:
            DatabaseObjects(self._engine).delete(self._id)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _ChunkReader(io.RawIOBase):
    """Reads READ_AHEAD_PIECES rows at a time, each batch on a short-lived connection, so
    a slow consumer never holds a database connection or transaction open."""

    def __init__(self, engine: Engine, object_id: str) -> None:
        super().__init__()
        self._engine = engine
        self._id = object_id
        self._next_seq = 0
        self._pieces: Iterator[bytes] = iter(())
        self._current = memoryview(b"")
        self._exhausted = False

    def readable(self) -> bool:
        return True

    def _fetch(self) -> bool:
        if self._exhausted:
            return False
        query = (
            sa.select(object_chunks.c.seq, object_chunks.c.data)
            .where(object_chunks.c.object_id == self._id, object_chunks.c.seq >= self._next_seq)
            .order_by(object_chunks.c.seq)
            .limit(READ_AHEAD_PIECES)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        pieces = []
        for seq, data in rows:
            if seq != self._next_seq:  # a missing row is corruption, never a short object
                raise NotFound(f"object {self._id}: ciphertext piece {self._next_seq} missing")
            pieces.append(bytes(data))
            self._next_seq += 1
        if len(rows) < READ_AHEAD_PIECES:
            self._exhausted = True
        self._pieces = iter(pieces)
        return bool(pieces)

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not len(self._current):
            piece = next(self._pieces, None)
            if piece is None:
                if not self._fetch():
                    return 0
                continue
            self._current = memoryview(piece)
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size


def make_backend(kind: str, root: Path, engine: Engine) -> ObjectBackend:
    if kind == "postgresql":
        return DatabaseObjects(engine)
    return FilesystemObjects(root)


def copy_ciphertext(source: BinaryIO, writer: CiphertextWriter) -> int:
    """Copy one object's ciphertext piece by piece; returns the bytes copied."""
    copied = 0
    while piece := source.read(PIECE_SIZE):
        writer.write(piece)
        copied += len(piece)
    return copied
