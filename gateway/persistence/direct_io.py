"""Large files read and written around the page cache (``O_DIRECT``, aligned buffers).

Moving gigabytes through the page cache is the dearest part of a large transfer on the
virtual machines we run on: every page the kernel hands out for the cache is memory the
host may have to supply again. Measured on the 2-core VM, 2 GiB in 1 to 4 MiB pieces:
a buffered write costs 1.0 to 5.0 s of CPU, an ``O_DIRECT`` one 0.12 s; a buffered read of a
file not in the cache costs 3.4 s of CPU, an ``O_DIRECT`` one 0.12 s (both at 1.7 to 2.2 GB/s).
Databases bypass the cache for the same reason.

- ``DirectWriter`` takes pieces of any size. A file's first BLOCK bytes are held back:
  a small file never reaches ``O_DIRECT`` and is written with one ``write`` at ``close``.
  Once a block is full, ``O_DIRECT`` is switched on and full blocks go to the disk on a
  helper thread while the caller fills the next; ``close`` writes the aligned rest the same
  way and the unaligned tail through the page cache.
- ``DirectReader`` reads a file in aligned blocks on a helper thread, BLOCKS_AHEAD ahead.
- On a file system that refuses ``O_DIRECT`` (``EINVAL``), or a platform without it, both
  fall back to plain reads and writes through the page cache; nothing else changes.

Durability is the caller's, as before: ``O_DIRECT`` alone neither flushes the device's
write cache nor records the file's size, so a writer's file is still fsynced.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import queue
import threading
from pathlib import Path
from types import TracebackType
from typing import Self

BLOCK = 1024 * 1024  # a multiple of every logical block size (512 B, 4 KiB)
ALIGN = 4096
BLOCKS_AHEAD = 2  # blocks queued between the helper thread and the caller
LARGE = 8 * BLOCK  # DirectReader is worth its thread from this size on
O_DIRECT: int = getattr(os, "O_DIRECT", 0)  # 0: not offered here (macOS, Windows)


class _Closing:
    """``with`` closes the file."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class DirectWriter(_Closing):
    """A write-only file over ``descriptor`` (owned, closed by ``close``)."""

    def __init__(self, descriptor: int) -> None:
        self._fd = descriptor
        self._small: bytearray | None = bytearray()  # what a small file holds: no block yet
        self._buffer: mmap.mmap | None = None  # the aligned block being filled
        self._fill = 0
        self._handed = 0  # bytes handed to the kernel so far
        self._direct = False  # O_DIRECT switched on (after the first full block)
        self._refused = O_DIRECT == 0  # O_DIRECT refused or not offered: page cache only
        self._queue: queue.Queue[tuple[mmap.mmap, int] | None] = queue.Queue(BLOCKS_AHEAD)
        self._free: queue.Queue[mmap.mmap] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None
        self.closed = False

    @property
    def direct(self) -> bool:
        """Whether bytes go around the page cache (so early syncs have nothing to do)."""
        return self._direct

    def fileno(self) -> int:
        return self._fd

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        size = len(view)
        if self._small is not None:
            if len(self._small) + size < BLOCK:
                self._small += view
                return size
            held, self._small = self._small, None  # a large file: blocks from here on
            self._buffer = mmap.mmap(-1, BLOCK)
            self._take(memoryview(held))
        self._take(view)
        return size

    def _take(self, view: memoryview) -> None:
        while view:
            if self._buffer is None:
                raise ValueError("write to a closed file")
            take = min(BLOCK - self._fill, len(view))
            self._buffer[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == BLOCK:
                self._pass_on(BLOCK)

    def flush(self) -> None:
        """Hand everything written so far to the kernel (the helper thread done, the
        unaligned tail through the page cache); a write error is raised here."""
        self._raise_error()
        if self._small is not None:
            if self._small:
                _write_all(self._fd, memoryview(self._small))
                self._handed += len(self._small)
                self._small = bytearray()
            return
        if self._buffer is None:
            raise ValueError("flush of a closed file")
        if self._direct:
            aligned = self._fill - self._fill % ALIGN
            if aligned:
                tail = self._buffer[aligned : self._fill]
                self._pass_on(aligned)
                self._buffer[: len(tail)] = tail
                self._fill = len(tail)
            self._stop()
            self._raise_error()
            _set_direct(self._fd, on=False)
            self._direct = False
        if self._fill:
            _write_all(self._fd, memoryview(self._buffer)[: self._fill])
            self._handed += self._fill
            self._fill = 0

    def _pass_on(self, length: int) -> None:
        """Write ``length`` bytes of the current buffer (all of it, or an aligned part)."""
        self._raise_error()
        assert self._buffer is not None  # noqa: S101
        if not self._direct and not self._refused and self._handed % ALIGN == 0:
            self._direct = _set_direct(self._fd, on=True)
            self._refused = not self._direct
        self._handed += length
        if not self._direct:
            _write_all(self._fd, memoryview(self._buffer)[:length])
            self._fill = 0
            return
        if self._thread is None:
            for _ in range(BLOCKS_AHEAD - self._free.qsize()):  # made once per file
                self._free.put(mmap.mmap(-1, BLOCK))
            self._thread = threading.Thread(target=self._drain, name="direct-write", daemon=True)
            self._thread.start()
        self._queue.put((self._buffer, length))
        self._buffer, self._fill = self._free.get(), 0

    def _drain(self) -> None:
        while (item := self._queue.get()) is not None:
            buffer, length = item
            if self._error is None:
                try:
                    _write_all(self._fd, memoryview(buffer)[:length])
                except OSError as exc:
                    if exc.errno == errno.EINVAL and _set_direct(self._fd, on=False):
                        # the file system took the flag but refuses the writes; the
                        # failed write wrote nothing: the page cache from here on
                        try:
                            _write_all(self._fd, memoryview(buffer)[:length])
                        except OSError as again:
                            self._error = again.with_traceback(None)
                    else:
                        self._error = exc.with_traceback(None)  # its frames hold buffers
            self._free.put(buffer)

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """``flush`` and close the descriptor (closed even when ``flush`` raises)."""
        if self.closed:
            return
        try:
            self.flush()
        finally:
            self.closed = True
            self._stop()
            self._release()
            os.close(self._fd)

    def _stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _release(self) -> None:
        self._small = None
        buffers = [self._buffer] if self._buffer is not None else []
        while not self._free.empty():
            buffers.append(self._free.get_nowait())
        for buffer in buffers:
            # a view still held (by a traceback on its way up) keeps it open until freed
            with contextlib.suppress(BufferError):
                buffer.close()
        self._buffer = None


class DirectReader(_Closing):
    """A read-only file whose blocks are read ``O_DIRECT`` ahead of the caller."""

    def __init__(self, path: Path) -> None:
        try:
            self._fd = os.open(path, os.O_RDONLY | O_DIRECT)  # FileNotFoundError as open()
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self._fd = os.open(path, os.O_RDONLY)
        self._queue: queue.Queue[tuple[mmap.mmap, int] | OSError] = queue.Queue(BLOCKS_AHEAD)
        self._free: queue.Queue[mmap.mmap] = queue.Queue()
        for _ in range(BLOCKS_AHEAD + 1):
            self._free.put(mmap.mmap(-1, BLOCK))
        self._stopping = False
        self._current: tuple[mmap.mmap, int] | None = None
        self._at = 0
        self._eof = False
        self.closed = False
        self._thread = threading.Thread(target=self._read_ahead, name="direct-read", daemon=True)
        self._thread.start()

    def _read_ahead(self) -> None:
        fallback = False
        while not self._stopping:
            buffer = self._free.get()
            if self._stopping:
                break
            try:
                length = os.readv(self._fd, [buffer])
            except OSError as exc:
                if exc.errno != errno.EINVAL or fallback:
                    self._queue.put(exc)
                    return
                fallback = True  # O_DIRECT refused by this file system: the page cache
                _set_direct(self._fd, on=False)
                self._free.put(buffer)
                continue
            self._queue.put((buffer, length))
            if length == 0:
                return

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative); b"" at the end."""
        if size < 0:
            parts = []
            while part := self.read(BLOCK):
                parts.append(part)
            return b"".join(parts)
        while not self._eof:
            if self._current is None:
                item = self._queue.get()
                if isinstance(item, OSError):
                    self._eof = True
                    raise item
                self._current, self._at = item, 0
                if item[1] == 0:
                    self._eof = True
                    break
            buffer, length = self._current
            if self._at < length:
                part = buffer[self._at : min(length, self._at + size)]
                self._at += len(part)
                return part
            self._free.put(buffer)
            self._current = None
        return b""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stopping = True
        self._free.put(mmap.mmap(-1, ALIGN))  # wakes a thread waiting for a free buffer
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
        self._thread.join()
        os.close(self._fd)


def _set_direct(descriptor: int, *, on: bool) -> bool:
    """Switch ``O_DIRECT`` on or off; False when the file system refuses it."""
    flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
    try:
        fcntl.fcntl(descriptor, fcntl.F_SETFL, flags | O_DIRECT if on else flags & ~O_DIRECT)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        return False
    return True


def fsync_path(path: Path, flags: int) -> None:
    """Open ``path`` with ``flags`` (a directory: ``O_RDONLY | O_DIRECTORY``), fsync it,
    close it: a closed file's bytes, or a directory's new names, made durable."""
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_all(descriptor: int, view: memoryview) -> None:
    while view:
        written = os.write(descriptor, view)
        view = view[written:]
