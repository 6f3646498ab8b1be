"""Encrypted object store: every object has its own data key, wrapped by the KEK.

Files hold only ciphertext. Deleting an object's data key row destroys the object
(crypto-shredding); rotating the KEK re-wraps data keys and leaves files untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.crypto import at_rest
from gateway.domain.errors import NotFound
from gateway.persistence.tables import data_keys, stored_objects


@dataclass(frozen=True)
class StoredObject:
    id: str
    request_id: str | None
    kind: str
    name: str
    media_type: str
    size: int
    sha256: str


class StagedObject:
    """An object being written: encrypted under a fresh data key, to a staging file.

    The data key lives only in memory until ``commit`` stores it (wrapped) with the
    object's row, so a staging file that is discarded, or left behind by a crash, is
    unreadable noise. Nothing is buffered: each ``write`` is encrypted and written.
    """

    def __init__(self, store: BlobStore, object_id: str, description: dict[str, str | None]):
        self.id = object_id
        self._store = store
        self._description = description
        self._data_key = at_rest.new_data_key()
        self._final = store._path(object_id)
        self._staging = store.root / "objects" / "staging" / f"{object_id}.tmp"
        self._staging.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._file = open(self._staging, "wb")  # noqa: SIM115  (closed by commit/discard)
        try:
            self._encryptor = at_rest.StreamEncryptor(
                self._file, self._data_key, aad=object_id.encode()
            )
        except BaseException:  # e.g. disk full writing the header: leave no 0-byte file
            with contextlib.suppress(OSError):
                self._file.close()
            self._staging.unlink(missing_ok=True)
            raise

    def write(self, data: bytes) -> None:
        self._encryptor.write(data)

    @property
    def size(self) -> int:
        return self._encryptor.plaintext_size

    def finish(self) -> None:
        """Seal the last chunk, fsync and move into place; no database work (idempotent).

        Callers may finish before opening their write transaction, so the disk work never
        holds the database's write lock.
        """
        if self._file.closed:
            return
        self._encryptor.finish()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._staging.replace(self._final)

    def commit(self, conn: Connection, *, sha256: str) -> StoredObject:
        """Seal the last chunk, fsync, move into place and record it in ``conn``'s transaction.

        ``sha256`` is the plaintext's hash as computed by whoever fed ``write``.
        """
        self.finish()
        d = self._description
        stored = StoredObject(
            self.id,
            d["request_id"],
            str(d["kind"]),
            str(d["name"]),
            str(d["media_type"]),
            self.size,
            sha256,
        )
        conn.execute(stored_objects.insert().values(**stored.__dict__))
        kek = self._store.kek
        conn.execute(
            data_keys.insert().values(
                object_id=self.id, kek_id=kek.key_id, wrapped_key=kek.wrap(self._data_key)
            )
        )
        return stored

    def discard(self) -> None:
        """Forget the data key and remove whatever reached the disk (idempotent)."""
        self._data_key = b""
        if not self._file.closed:
            # flushing the buffer fails again on a full disk: remove the file all the same
            with contextlib.suppress(OSError):
                self._file.close()
        self._staging.unlink(missing_ok=True)
        self._final.unlink(missing_ok=True)


@dataclass
class PreparedObject:
    """An object already on disk (encrypted, synced), awaiting its rows in a transaction."""

    staged: StagedObject
    sha256: str

    def commit(self, conn: Connection) -> StoredObject:
        return self.staged.commit(conn, sha256=self.sha256)

    def discard(self) -> None:
        self.staged.discard()


class BlobStore:
    def __init__(self, root: Path, kek: at_rest.Kek) -> None:
        self.root = root
        self.kek = kek

    def put(
        self,
        conn: Connection,
        *,
        request_id: str | None,
        kind: str,
        name: str,
        media_type: str,
        data: bytes | BinaryIO,
    ) -> StoredObject:
        """Encrypt and store; the same (request, kind, name) again returns the first object."""
        existing = self.find(conn, request_id, kind, name)
        if existing is not None:
            return existing
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        staged = self.stage(request_id=request_id, kind=kind, name=name, media_type=media_type)
        digest = hashlib.sha256()
        try:
            while block := source.read(at_rest.DEFAULT_CHUNK_SIZE):
                digest.update(block)
                staged.write(block)
            return staged.commit(conn, sha256=digest.hexdigest())
        except BaseException:
            staged.discard()
            raise

    def prepare(
        self, *, request_id: str | None, kind: str, name: str, media_type: str, data: bytes
    ) -> PreparedObject:
        """Encrypt and write `data` now; record it later with `PreparedObject.commit(conn)`."""
        staged = self.stage(request_id=request_id, kind=kind, name=name, media_type=media_type)
        try:
            staged.write(data)
            staged.finish()
        except BaseException:
            staged.discard()
            raise
        return PreparedObject(staged, hashlib.sha256(data).hexdigest())

    def stage(
        self, *, request_id: str | None, kind: str, name: str, media_type: str
    ) -> StagedObject:
        """Start writing a new object piecewise (see StagedObject); commit or discard it."""
        description = {
            "request_id": request_id,
            "kind": kind,
            "name": name,
            "media_type": media_type,
        }
        return StagedObject(self, str(uuid.uuid4()), description)

    def find(
        self, conn: Connection, request_id: str | None, kind: str, name: str | None = None
    ) -> StoredObject | None:
        query = sa.select(stored_objects).where(
            stored_objects.c.request_id == request_id, stored_objects.c.kind == kind
        )
        if name is not None:
            query = query.where(stored_objects.c.name == name)
        row = conn.execute(query.order_by(stored_objects.c.name).limit(1)).mappings().first()
        return _object(row) if row else None

    def list(
        self, conn: Connection, request_id: str, kind: str | None = None
    ) -> list[StoredObject]:
        query = sa.select(stored_objects).where(stored_objects.c.request_id == request_id)
        if kind is not None:
            query = query.where(stored_objects.c.kind == kind)
        rows = conn.execute(query.order_by(stored_objects.c.kind, stored_objects.c.name))
        return [_object(row) for row in rows.mappings()]

    def read(self, conn: Connection, object_id: str) -> bytes:
        sink = io.BytesIO()
        self.read_into(conn, object_id, sink)
        return sink.getvalue()

    def read_into(self, conn: Connection, object_id: str, sink: BinaryIO) -> int:
        data_key = self._data_key(conn, object_id)
        with open(self._path(object_id), "rb") as source:
            return at_rest.decrypt_stream(source, sink, data_key, aad=object_id.encode())

    def shred(self, conn: Connection, object_id: str) -> None:
        """Destroy an object: without its data key the ciphertext is noise."""
        conn.execute(data_keys.delete().where(data_keys.c.object_id == object_id))
        self._path(object_id).unlink(missing_ok=True)

    def rewrap(self, conn: Connection, new_kek: at_rest.Kek) -> int:
        """Re-wrap every data key under `new_kek`; returns how many were re-wrapped."""
        count = 0
        for object_id, wrapped in self._wrapped_keys(conn):
            conn.execute(
                data_keys.update()
                .where(data_keys.c.object_id == object_id)
                .values(kek_id=new_kek.key_id, wrapped_key=new_kek.wrap(self.kek.unwrap(wrapped)))
            )
            count += 1
        self.kek = new_kek
        return count

    def _wrapped_keys(self, conn: Connection) -> Iterator[tuple[str, bytes]]:
        rows = conn.execute(sa.select(data_keys.c.object_id, data_keys.c.wrapped_key)).all()
        for object_id, wrapped in rows:
            yield object_id, bytes(wrapped)

    def _data_key(self, conn: Connection, object_id: str) -> bytes:
        wrapped = conn.execute(
            sa.select(data_keys.c.wrapped_key).where(data_keys.c.object_id == object_id)
        ).scalar()
        if wrapped is None:
            raise NotFound(f"object {object_id} does not exist or was destroyed")
        return self.kek.unwrap(bytes(wrapped))

    def _path(self, object_id: str) -> Path:
        return self.root / "objects" / object_id[:2] / f"{object_id}.enc"


def _object(row: sa.RowMapping) -> StoredObject:
    return StoredObject(
        row["id"],
        row["request_id"],
        row["kind"],
        row["name"],
        row["media_type"],
        row["size"],
        row["sha256"],
    )
