"""Unpacking a delivery package's ZIP on the client, in one pass over its bytes.

The packager writes ``manifest.json`` first, then every file it lists, in that order,
uncompressed (``packaging.write_package_zip``). So the archive can be unpacked as it
arrives, without the central directory: each local header is followed by the member's
bytes, whose size the header or, for streamed members (a data descriptor follows), the
manifest gives. A streamed ``manifest.json`` (a data descriptor, no size) ends at the
first descriptor whose size and CRC-32 match what precedes it.

Decrypted documents are private: every file is created 0600 (folders 0700), only inside
the target folder, never through a symbolic link, never over an existing file's link.
Files are streamed to hidden partial names, fsynced and renamed into place only by ``commit``,
which the caller calls once the package's signature verified and every file matched its
manifest hash (SHA-256, end to end; the members' CRC-32 adds nothing to that and is not
recomputed); on any refusal ``discard`` leaves nothing new behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import struct
import threading
import uuid
import zlib
from pathlib import Path, PurePosixPath
from typing import Any, Final, Protocol

from gateway.domain.file_names import file_name_problem
from gateway.persistence.direct_io import DirectWriter, fsync_path

MANIFEST_NAME: Final = "manifest.json"
MAX_MANIFEST: Final = 16 * 1024 * 1024
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)  # 0 where not offered (Windows)
MAX_DIRECTORY: Final = 16 * 1024 * 1024
_PIECE: Final = 1024 * 1024
_SCAN: Final = 64 * 1024
_QUEUE_DEPTH: Final = 4  # pieces (at most about 1 MiB each) between the two threads
_LOCAL: Final = b"PK\x03\x04"
_DESCRIPTOR: Final = b"PK\x07\x08"
_CENTRAL: Final = b"PK\x01\x02"
_END: Final = b"PK\x05\x06"
_LOCAL_HEADER: Final = struct.Struct("<HHHHHIIIHH")
_ZIP64_EXTRA: Final = 0x0001
_ZIP64_MARK: Final = 0xFFFFFFFF  # the size is in the ZIP64 extra field
_FLAG_ENCRYPTED: Final = 0x0001
_FLAG_DESCRIPTOR: Final = 0x0008
_FLAG_UTF8: Final = 0x0800
_STORED: Final = 0
_MALFORMED: Final = (ValueError, KeyError, TypeError, struct.error)  # in JSON or ZIP fields


class PackageRefused(Exception):
    """The archive is damaged, incomplete or unsafe; ``str()`` is one line for the user."""


class _Source(Protocol):
    def read(self, size: int, /) -> bytes | memoryview: ...


class _Reader:
    """Exact and piecewise reads over a source whose reads may come back short."""

    def __init__(self, source: _Source) -> None:
        self._source = source
        self._rest: memoryview = memoryview(b"")

    def take(self, most: int) -> memoryview:
        """Up to ``most`` (at least one) next bytes, without a copy; empty at the end."""
        if not self._rest:
            self._rest = memoryview(self._source.read(max(most, _PIECE))).cast("B")
        piece, self._rest = self._rest[:most], self._rest[most:]
        return piece

    def unread(self, data: bytes | bytearray) -> None:
        self._rest = memoryview(bytes(data) + self._rest.tobytes())

    def exact(self, size: int) -> bytes:
        parts = []
        while size:
            piece = self.take(size)
            if not piece:
                raise PackageRefused("the package archive is damaged or incomplete")
            parts.append(piece)
            size -= len(piece)
        return b"".join(parts)


class _PrivateOutput:
    """Files written 0600 under ``root`` (folders 0700) as hidden partials, renamed into
    place by ``commit``; ``discard`` removes the partials and the folders it created."""

    def __init__(self) -> None:
        self.root = Path()
        self._partials: list[tuple[Path, Path]] = []
        self._folders: list[Path] = []

    def folder(self, path: Path) -> Path:
        if not path.exists():
            path.mkdir(parents=True, mode=0o700)
            self._folders.append(path)
        return path.resolve()

    def open(self, relative: Path) -> DirectWriter:
        """A new partial file for ``root / relative`` (a large one written around the page
        cache, see direct_io)."""
        path = self.root / relative
        for folder in reversed(path.parents):
            if folder == self.root or self.root not in folder.parents:
                continue
            if not folder.exists() and not folder.is_symlink():
                folder.mkdir(mode=0o700)
                self._folders.append(folder)
            if folder.is_symlink() or not folder.resolve().is_relative_to(self.root):
                raise PackageRefused(f"refusing to write outside {self.root}: {path}")
        if not path.parent.resolve().is_relative_to(self.root):
            raise PackageRefused(f"refusing to write outside {self.root}: {path}")
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
        descriptor = os.open(partial, flags, 0o600)
        self._partials.append((partial, path))
        return DirectWriter(descriptor)

    def commit(self) -> None:
        """Each file fsynced, renamed into place, then the folders holding the new names
        (and the folders created) fsynced: on disk before the pull reports or acknowledges."""
        for partial, _final in self._partials:
            fsync_path(partial, os.O_RDWR | _NOFOLLOW)
        for partial, final in self._partials:
            if final.is_symlink():
                raise PackageRefused(f"refusing to replace a symbolic link: {final}")
            partial.replace(final)  # rename() replaces a link itself, never its target
        folders = [final.parent for _partial, final in self._partials]
        folders += [folder.parent for folder in self._folders]
        if os.name != "nt":  # a Windows directory cannot be opened to be flushed
            for directory in dict.fromkeys(folders):  # each once, in order
                fsync_path(directory, os.O_RDONLY | _NOFOLLOW)
        self._partials.clear()

    def discard(self) -> None:
        for partial, _ in self._partials:
            partial.unlink(missing_ok=True)
        for folder in reversed(self._folders):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _damaged(detail: str = "") -> PackageRefused:
    return PackageRefused("the package archive is damaged or incomplete" + detail)


def _safe_name(raw: object) -> PurePosixPath:
    name = PurePosixPath(str(raw))
    unsafe = [p for p in name.parts if p in {".", ".."} or file_name_problem(p)]
    if name.is_absolute() or not name.parts or unsafe:
        raise PackageRefused(f"unsafe file name in package: {name}")
    return name


class _LocalEntry:
    """One local file header: the member's name, and its size when the header gives it."""

    def __init__(self, reader: _Reader) -> None:
        fields = _LOCAL_HEADER.unpack(reader.exact(_LOCAL_HEADER.size))
        _version, self.flags, method, _time, _date, self.crc, size, _, name_size, extra_size = (
            fields
        )
        raw_name = reader.exact(name_size)
        extra = reader.exact(extra_size)
        if method != _STORED or self.flags & _FLAG_ENCRYPTED:
            raise _damaged(" (a member is compressed or encrypted)")
        self.name = raw_name.decode("utf-8" if self.flags & _FLAG_UTF8 else "cp437")
        self.streamed = bool(self.flags & _FLAG_DESCRIPTOR)
        self.zip64 = _zip64_present(extra)
        self.size: int | None = None if self.streamed else size
        if self.zip64 and size == _ZIP64_MARK and not self.streamed:
            self.size = struct.unpack_from("<Q", extra, self.zip64)[0]

    def end(self, reader: _Reader, size: int) -> None:
        """Read the data descriptor of a streamed member; its size must be ``size``."""
        if not self.streamed:
            return
        first = reader.exact(4)
        if first == _DESCRIPTOR:
            first = reader.exact(4)
        if self.zip64:
            sizes = struct.unpack("<QQ", reader.exact(16))
        else:
            sizes = struct.unpack("<II", reader.exact(8))
        if sizes != (size, size):
            raise _damaged(f" ({self.name}: its data descriptor disagrees)")


def _zip64_present(extra: bytes) -> int:
    """The offset of the ZIP64 extra field's data in ``extra`` (0: there is none)."""
    at = 0
    while at + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, at)
        if tag == _ZIP64_EXTRA:
            return at + 4
        at += 4 + size
    return 0


def _streamed_manifest(reader: _Reader) -> bytes:
    """A manifest written with a data descriptor: it ends where a descriptor's size and
    CRC-32 match the bytes before it."""
    data, at = bytearray(), 0
    while len(data) <= MAX_MANIFEST:
        piece = reader.take(_SCAN)
        if not piece:
            raise _damaged()
        data += piece
        while (at := data.find(_DESCRIPTOR, at)) >= 0 and at + 16 <= len(data):
            crc, compressed, size = struct.unpack_from("<III", data, at + 4)
            if compressed == size == at and crc == zlib.crc32(data[:at]):
                reader.unread(data[at + 16 :])
                return bytes(data[:at])
            at += 1
        at = max(0, len(data) - 3) if at < 0 else at
    raise _damaged(" (manifest too large)")


def _copy_member(reader: _Reader, out: DirectWriter, size: int) -> str:
    """Stream ``size`` bytes of a member to ``out``; their SHA-256."""
    digest = hashlib.sha256()
    while size:
        piece = reader.take(min(size, _PIECE))
        if not piece:
            raise _damaged()
        digest.update(piece)
        out.write(piece)
        size -= len(piece)
    return digest.hexdigest()


def unzip(source: _Source, output: _PrivateOutput, target: Path) -> dict[str, Any]:
    """Unpack the package ZIP read from ``source`` into partials for ``target``; the manifest.

    Raises ``PackageRefused`` for a damaged, incomplete or unsafe archive, or a file that
    does not match the manifest.
    """
    reader = _Reader(source)
    if reader.exact(4) != _LOCAL:
        raise _damaged()
    entry = _LocalEntry(reader)
    if entry.name != MANIFEST_NAME:
        raise _damaged(" (no manifest first)")
    if entry.size is None:
        manifest_json = _streamed_manifest(reader)
    elif entry.size <= MAX_MANIFEST:
        manifest_json = reader.exact(entry.size)
    else:
        raise _damaged(" (manifest too large)")
    manifest: dict[str, Any] = json.loads(manifest_json)
    files = manifest["files"]
    names = [_safe_name(item["name"]) for item in files]
    output.root = output.folder(target)
    with output.open(Path(MANIFEST_NAME)) as handle:
        handle.write(manifest_json)
    for item, name in zip(files, names, strict=True):
        if reader.exact(4) != _LOCAL:
            raise _damaged(f" ({name} is missing)")
        entry = _LocalEntry(reader)
        size = int(item["size"])
        if entry.name != str(name) or entry.size not in (None, size):
            raise PackageRefused(f"{name} does not match the manifest")
        with output.open(Path(*name.parts)) as handle:
            digest = _copy_member(reader, handle, size)
        entry.end(reader, size)
        if digest != item["sha256"]:
            raise PackageRefused(f"{name} does not match the manifest")
    _check_directory(reader, [MANIFEST_NAME, *map(str, names)])
    return manifest


def _check_directory(reader: _Reader, names: list[str]) -> None:
    """The central directory must follow, list ``names`` in order and end the archive."""
    directory = bytearray(reader.exact(4))
    if directory != _CENTRAL:
        raise _damaged(" (a member the manifest does not list)")
    while piece := reader.take(_PIECE):
        directory += piece
        if len(directory) > MAX_DIRECTORY:
            raise _damaged(" (central directory too large)")
    listed, at = [], 0
    while directory[at : at + 4] == _CENTRAL and at + 46 <= len(directory):
        flags = struct.unpack_from("<H", directory, at + 8)[0]
        name_size, extra_size, comment_size = struct.unpack_from("<HHH", directory, at + 28)
        raw = bytes(directory[at + 46 : at + 46 + name_size])
        listed.append(raw.decode("utf-8" if flags & _FLAG_UTF8 else "cp437"))
        at += 46 + name_size + extra_size + comment_size
    end = directory.rfind(_END)
    if listed != names or end < at or len(directory) - end < 22:
        raise _damaged(" (central directory)")
    comment_size = struct.unpack_from("<H", directory, end + 20)[0]
    if end + 22 + comment_size != len(directory):
        raise _damaged(" (central directory)")


def unpack_package(archive: bytes | Path, target: Path) -> dict[str, Any]:
    """Write the package's files under ``target``, checking each against the manifest;
    every file is renamed into place only when all matched (see the module docstring)."""
    output = _PrivateOutput()
    try:
        with contextlib.ExitStack() as stack:
            if isinstance(archive, bytes):
                source: _Source = _BytesSource(archive)
            else:
                source = stack.enter_context(archive.open("rb"))
            manifest = unzip(source, output, target)
        output.commit()
    except _MALFORMED:
        output.discard()
        raise PackageRefused("the package archive is damaged or incomplete") from None
    except BaseException:
        output.discard()
        raise
    return manifest


class _BytesSource:
    def __init__(self, data: bytes) -> None:
        self._data, self._at = memoryview(data), 0

    def read(self, size: int) -> memoryview:
        piece = self._data[self._at : self._at + size]
        self._at += len(piece)
        return piece


class StreamingUnpacker:
    """The package ZIP unpacked on a thread of its own as ``write`` hands its bytes on.

    ``write`` never raises (a failure is kept for ``close``) and never blocks for long:
    after a failure the rest is read and dropped. The bytes handed on are
    UNAUTHENTICATED until the caller verified the package: ``close`` only waits and
    reports; ``commit`` renames the files into place; ``discard`` removes them.
    """

    def __init__(self, target: Path) -> None:
        self._target = target
        self._queue: queue.Queue[bytes | memoryview | None] = queue.Queue(_QUEUE_DEPTH)
        self._output = _PrivateOutput()
        self._manifest: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._pending = memoryview(b"")
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="package-unzip", daemon=True)
        self._thread.start()

    def write(self, data: bytes | memoryview) -> None:
        """Hand ``data`` on; it must not change afterwards (views of immutable bytes)."""
        if data:
            self._queue.put(data)

    def read(self, size: int) -> bytes | memoryview:
        """The unzip thread's source: the next piece handed on (empty at the end)."""
        if not self._pending and not self._ended:
            piece = self._queue.get()
            if piece is None:
                self._ended = True
            else:
                self._pending = memoryview(piece).cast("B")
        piece, self._pending = self._pending[:size], self._pending[size:]
        return piece

    def _run(self) -> None:
        try:
            self._manifest = unzip(self, self._output, self._target)
        except _MALFORMED:
            self._error = _damaged()
        except BaseException as exc:  # re-raised on the caller's thread by close()
            self._error = exc
        finally:
            while not self._ended:  # the central directory, or all after a failure
                self._pending = memoryview(b"")
                self.read(_PIECE)

    def close(self) -> dict[str, Any]:
        """Wait for the end of the archive; its manifest, or the failure."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._manifest is None:
            raise _damaged()
        return self._manifest

    def commit(self) -> None:
        self._output.commit()

    def discard(self) -> None:
        """Stop (if still running) and remove every partial file and new folder."""
        if self._thread.is_alive():
            with contextlib.suppress(BaseException):
                self.close()
        self._output.discard()


__all__ = [
    "MANIFEST_NAME",
    "PackageRefused",
    "StreamingUnpacker",
    "unpack_package",
    "unzip",
]
