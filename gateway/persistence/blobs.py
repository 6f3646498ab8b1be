"""Encrypted object store: every object has its own data key, wrapped by the KEK.

Files (or object_chunks rows, see object_backends) hold only ciphertext. Deleting an
object's data key row destroys the object (crypto-shredding); rotating the KEK re-wraps
data keys and leaves the ciphertext untouched.

Small objects prepared from bytes in memory (at most INLINE_LIMIT bytes: a submission's
signed request and form, receipts, translations) are kept in the database whatever the
store (``inline_objects``): their ciphertext is inserted with the object's rows, in the
transaction that records them, and is durable when it commits. A file per object would
cost an inode, an fsync and a share of a directory fsync, and an inode costs up to 1 ms
of kernel CPU on a file system whose block groups are nearly full (README, "Durability").
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.crypto import at_rest
from gateway.domain.errors import NotFound
from gateway.persistence.object_backends import FilesystemObjects, ObjectBackend, finish_together
from gateway.persistence.object_tables import inline_objects
from gateway.persistence.tables import data_keys, stored_objects

INLINE_LIMIT = 64 * 1024  # plaintext bytes: a prepared object this small is kept inline


@dataclass(frozen=True)
class StoredObject:
    id: str
    request_id: str | None
    kind: str
    name: str
    media_type: str
    size: int
    sha256: str


class _InlineCiphertext:
    """The ciphertext of an inline object, kept in memory until its rows are inserted."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def finish(self) -> None:
        """Nothing to sync: the row is durable with the transaction that inserts it."""

    def discard(self) -> None:
        self.data = bytearray()


class StagedObject:
    """An object being written: encrypted under a fresh data key, to a staging file (or,
    ``inline``, to memory, to be inserted with its rows).

    The data key lives only in memory until ``commit`` stores it (wrapped) with the
    object's row, so a staging file that is discarded, or left behind by a crash, is
    unreadable noise. Nothing is buffered: each ``write`` is encrypted and written.
    """

    def __init__(
        self,
        store: BlobStore,
        object_id: str,
        description: dict[str, str | None],
        *,
        inline: bool = False,
    ) -> None:
        self.id = object_id
        self._store = store
        self._description = description
        self._data_key = at_rest.new_data_key()
        self._inline = _InlineCiphertext() if inline else None
        self._sink = store.backend.writer(object_id) if self._inline is None else self._inline
        self._finished = False
        try:
            self._encryptor = at_rest.StreamEncryptor(
                self._sink,  # type: ignore[arg-type]  (a write-only sink is all it needs)
                self._data_key,
                aad=object_id.encode(),
            )
        except BaseException:  # e.g. disk full writing the header: leave no 0-byte file
            self._sink.discard()
            raise

    def write(self, data: bytes) -> None:
        self._encryptor.write(data)

    @property
    def size(self) -> int:
        return self._encryptor.plaintext_size

    def finish(self) -> None:
        """Seal the last chunk and make the ciphertext durable; no work in the caller's
        database transaction (idempotent).

        Callers may finish before opening their write transaction, so the disk work never
        holds the database's write lock.
        """
        finish_staged([self])

    def commit(self, conn: Connection, *, sha256: str) -> StoredObject:
        """Seal the last chunk, fsync, move into place and record it in ``conn``'s transaction
        (inline: insert its ciphertext there too).

        ``sha256`` is the plaintext's hash as computed by whoever fed ``write``.
        """
        return _record_staged(conn, [(self, sha256)])[0]

    @property
    def description(self) -> dict[str, str | None]:
        return self._description

    def stored(self, sha256: str) -> StoredObject:
        d = self._description
        return StoredObject(
            self.id,
            d["request_id"],
            str(d["kind"]),
            str(d["name"]),
            str(d["media_type"]),
            self.size,
            sha256,
        )

    def wrapped_key_row(self) -> dict[str, object]:
        kek = self._store.kek
        return {"object_id": self.id, "kek_id": kek.key_id, "wrapped_key": kek.wrap(self._data_key)}

    def discard(self) -> None:
        """Forget the data key and remove whatever reached the disk (idempotent)."""
        self._data_key = b""
        self._sink.discard()


def finish_staged(staged: Sequence[StagedObject]) -> None:
    """``finish`` several objects: each sealed and synced, their directories fsynced
    once each (object_backends.finish_together); as durable as one ``finish`` each."""
    pending = [one for one in staged if not one._finished]
    for one in pending:
        one._encryptor.finish()
    finish_together([one._sink for one in pending])
    for one in pending:
        one._finished = True


@dataclass
class PreparedObject:
    """An object already encrypted and on disk (synced), or held in memory if inline,
    awaiting its rows in a transaction."""

    staged: StagedObject
    sha256: str

    @property
    def kind(self) -> str:
        return str(self.staged.description["kind"])

    def commit(self, conn: Connection) -> StoredObject:
        return self.staged.commit(conn, sha256=self.sha256)

    def discard(self) -> None:
        self.staged.discard()


def commit_prepared(conn: Connection, prepared: list[PreparedObject]) -> list[StoredObject]:
    """Record several prepared objects in ``conn``'s transaction: one insert per table."""
    return _record_staged(conn, [(item.staged, item.sha256) for item in prepared])


def _record_staged(
    conn: Connection, objects: Sequence[tuple[StagedObject, str]]
) -> list[StoredObject]:
    """Finish (sync) the objects, then insert their rows, an inline object's ciphertext
    with them, in ``conn``'s transaction: one insert per table. (staged object, sha256)"""
    finish_staged([staged for staged, _sha256 in objects])
    stored = [staged.stored(sha256) for staged, sha256 in objects]
    inline = [
        {"object_id": staged.id, "data": bytes(staged._inline.data)}
        for staged, _sha256 in objects
        if staged._inline is not None
    ]
    if stored:
        conn.execute(stored_objects.insert(), [obj.__dict__ for obj in stored])
        conn.execute(data_keys.insert(), [staged.wrapped_key_row() for staged, _ in objects])
    if inline:
        conn.execute(inline_objects.insert(), inline)
    return stored


class BlobStore:
    def __init__(self, root: Path, kek: at_rest.Kek, backend: ObjectBackend | None = None) -> None:
        self.root = root
        self.kek = kek
        self.backend: ObjectBackend = backend or FilesystemObjects(root)

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
        return self.prepare_many(request_id=request_id, items=[(kind, name, media_type, data)])[0]

    def prepare_many(
        self, *, request_id: str | None, items: Sequence[tuple[str, str, str, bytes]]
    ) -> list[PreparedObject]:
        """`prepare` for several objects (kind, name, media type, data) of one request:
        all written, then synced together. Their ids share their first two characters, so
        in the filesystem store they share one directory and so one directory fsync. An
        object of at most INLINE_LIMIT bytes is encrypted to memory instead, and its
        ciphertext is inserted with its rows by `PreparedObject.commit`."""
        staged: list[StagedObject] = []
        try:
            for kind, name, media_type, data in items:
                one = self.stage(
                    request_id=request_id,
                    kind=kind,
                    name=name,
                    media_type=media_type,
                    beside=staged[0].id if staged else None,
                    inline=len(data) <= INLINE_LIMIT,
                )
                staged.append(one)
                one.write(data)
            finish_staged(staged)
        except BaseException:
            for one in staged:
                one.discard()
            raise
        return [
            PreparedObject(one, hashlib.sha256(item[3]).hexdigest())
            for one, item in zip(staged, items, strict=True)
        ]

    def stage(
        self,
        *,
        request_id: str | None,
        kind: str,
        name: str,
        media_type: str,
        beside: str | None = None,
        inline: bool = False,
    ) -> StagedObject:
        """Start writing a new object piecewise (see StagedObject); commit or discard it.
        With `beside` (another object's id), the new id starts with the same two
        characters: the filesystem store keeps both in one directory. With `inline`, the
        ciphertext stays in memory and goes to the database with the object's rows."""
        description = {
            "request_id": request_id,
            "kind": kind,
            "name": name,
            "media_type": media_type,
        }
        object_id = str(uuid.uuid4())
        if beside is not None:
            object_id = beside[:2] + object_id[2:]
        return StagedObject(self, object_id, description, inline=inline)

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
        data_key, inline = self._locate(conn, object_id)
        with self._ciphertext(object_id, inline) as source:
            return at_rest.decrypt_stream(source, sink, data_key, aad=object_id.encode())

    def open_plaintext(self, conn: Connection, object_id: str) -> Iterator[bytes]:
        """The object's plaintext, chunk by chunk, read and decrypted lazily.

        Only the data key is looked up in ``conn``; the ciphertext is read and decrypted
        as the iterator is consumed, after the caller's transaction may have ended.
        """
        data_key, inline = self._locate(conn, object_id)

        def chunks() -> Iterator[bytes]:
            with self._ciphertext(object_id, inline) as source:
                yield from at_rest.decrypt_chunks(source, data_key, aad=object_id.encode())

        return chunks()

    def _ciphertext(self, object_id: str, inline: bytes | None) -> BinaryIO:
        return io.BytesIO(inline) if inline is not None else self.backend.open(object_id)

    def record(self, conn: Connection, prepared: PreparedObject) -> StoredObject:
        """Record an object prepared outside the transaction; the same (request, kind, name)
        again keeps the first object and discards the new copy."""
        d = prepared.staged._description
        existing = self.find(conn, d["request_id"], str(d["kind"]), str(d["name"]))
        if existing is not None:
            prepared.discard()
            return existing
        return prepared.commit(conn)

    def shred(self, conn: Connection, object_id: str) -> None:
        """Destroy an object: without its data key the ciphertext is noise."""
        conn.execute(data_keys.delete().where(data_keys.c.object_id == object_id))
        conn.execute(inline_objects.delete().where(inline_objects.c.object_id == object_id))
        self.backend.delete(object_id)

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

    def _locate(self, conn: Connection, object_id: str) -> tuple[bytes, bytes | None]:
        """The object's data key, and its ciphertext if it is kept inline (one query)."""
        row = conn.execute(
            sa.select(data_keys.c.wrapped_key, inline_objects.c.data)
            .outerjoin(inline_objects, inline_objects.c.object_id == data_keys.c.object_id)
            .where(data_keys.c.object_id == object_id)
        ).first()
        if row is None:
            raise NotFound(f"object {object_id} does not exist or was destroyed")
        wrapped, inline = row
        return self.kek.unwrap(bytes(wrapped)), None if inline is None else bytes(inline)


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
