"""Stored translation-memory entries: the text encrypted; only lookup hash and who/when in clear."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.crypto import at_rest
from gateway.persistence.db import as_utc
from gateway.persistence.memory_tables import translation_memory as tm
from gateway.translation.memory import MemoryEntry, lookup_key


@dataclass(frozen=True)
class Pair:
    issuing: str
    executing: str
    source: str
    target: str

    def where(self) -> list[sa.ColumnElement[bool]]:
        return [
            tm.c.issuing_authority_id == self.issuing,
            tm.c.executing_authority_id == self.executing,
            tm.c.source_language == self.source,
            tm.c.target_language == self.target,
        ]

    def label(self) -> str:
        return f"{self.issuing} -> {self.executing} {self.source}->{self.target}"


@dataclass(frozen=True)
class NewEntry:
    source: str
    target: str
    masked_source: str
    masked_target: str
    created_by: str
    request_id: str | None


def put(conn: Connection, kek: at_rest.Kek, pair: Pair, new: NewEntry) -> tuple[str, bool]:
    """Insert, or correct the pair's entry for the same masked source; returns (id, replaced)."""
    key = lookup_key(new.masked_source)
    existing = conn.execute(
        sa.select(tm.c.id).where(*pair.where(), tm.c.source_key == key)
    ).scalar_one_or_none()
    entry_id = existing or str(uuid.uuid4())
    data_key = at_rest.new_data_key()
    plaintext = json.dumps(
        {
            "source": new.source,
            "target": new.target,
            "masked_source": new.masked_source,
            "masked_target": new.masked_target,
        },
        ensure_ascii=False,
    ).encode("utf-8")
    values = {
        "kek_id": kek.key_id,
        "wrapped_key": kek.wrap(data_key),
        "ciphertext": at_rest.encrypt_bytes(plaintext, data_key, aad=_aad(entry_id)),
        "request_id": new.request_id,
        "created_by": new.created_by,
        "created_at": datetime.now(UTC),
    }
    if existing is not None:
        conn.execute(tm.update().where(tm.c.id == existing).values(**values))
        return existing, True
    conn.execute(
        tm.insert().values(
            id=entry_id,
            issuing_authority_id=pair.issuing,
            executing_authority_id=pair.executing,
            source_language=pair.source,
            target_language=pair.target,
            source_key=key,
            **values,
        )
    )
    return entry_id, False


def load(conn: Connection, kek: at_rest.Kek, pair: Pair) -> list[MemoryEntry]:
    rows = conn.execute(sa.select(tm).where(*pair.where()).order_by(tm.c.created_at, tm.c.id))
    return [_entry(kek, row) for row in rows.mappings()]


def get(conn: Connection, kek: at_rest.Kek, entry_id: str) -> tuple[Pair, MemoryEntry] | None:
    row = conn.execute(sa.select(tm).where(tm.c.id == entry_id)).mappings().first()
    if row is None:
        return None
    pair = Pair(
        row["issuing_authority_id"],
        row["executing_authority_id"],
        row["source_language"],
        row["target_language"],
    )
    return pair, _entry(kek, row)


def remove(conn: Connection, entry_id: str) -> bool:
    return conn.execute(tm.delete().where(tm.c.id == entry_id)).rowcount == 1


def rewrap(conn: Connection, old: at_rest.Kek, new: at_rest.Kek) -> int:
    """Re-wrap every entry's data key under `new` (KEK rotation); the text is untouched."""
    rows = conn.execute(sa.select(tm.c.id, tm.c.wrapped_key)).all()
    for entry_id, wrapped in rows:
        conn.execute(
            tm.update()
            .where(tm.c.id == entry_id)
            .values(kek_id=new.key_id, wrapped_key=new.wrap(old.unwrap(bytes(wrapped))))
        )
    return len(rows)


def _entry(kek: at_rest.Kek, row: sa.RowMapping) -> MemoryEntry:
    data_key = kek.unwrap(bytes(row["wrapped_key"]))
    text = json.loads(
        at_rest.decrypt_bytes(bytes(row["ciphertext"]), data_key, aad=_aad(row["id"]))
    )
    moment = as_utc(row["created_at"])
    return MemoryEntry(
        id=row["id"],
        source=text["source"],
        target=text["target"],
        masked_source=text["masked_source"],
        masked_target=text["masked_target"],
        created_by=row["created_by"],
        created_at=moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        request_id=row["request_id"],
    )


def _aad(entry_id: str) -> bytes:
    return b"rogatory.tm/1:" + entry_id.encode()
