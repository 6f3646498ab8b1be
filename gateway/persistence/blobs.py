"""Encrypted object store: every object has its own data key, wrapped by the KEK.

Files hold only ciphertext. Deleting an object's data key row destroys the object
(crypto-shredding); rotating the KEK re-wraps data keys and leaves files untouched.
"""

from __future__ import annotations

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


class _HashingReader(io.RawIOBase):
    """Counts and hashes plaintext as the encryptor pulls it through."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._source.read(len(buffer))
        if not chunk:
            return 0
        buffer[: len(chunk)] = chunk
        self.digest.update(chunk)
        self.size += len(chunk)
        return len(chunk)


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
        object_id = str(uuid.uuid4())
        data_key = at_rest.new_data_key()
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        reader = _HashingReader(source)
        path = self._path(object_id)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_suffix(".tmp")
        with open(temporary, "wb") as sink:
            at_rest.encrypt_stream(
                io.BufferedReader(reader), sink, data_key, aad=object_id.encode()
            )
            sink.flush()
            os.fsync(sink.fileno())
        temporary.replace(path)
        stored = StoredObject(
            object_id, request_id, kind, name, media_type, reader.size, reader.digest.hexdigest()
        )
        conn.execute(stored_objects.insert().values(**stored.__dict__))
        conn.execute(
            data_keys.insert().values(
                object_id=object_id, kek_id=self.kek.key_id, wrapped_key=self.kek.wrap(data_key)
            )
        )
        return stored

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
