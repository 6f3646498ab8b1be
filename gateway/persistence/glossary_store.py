"""Stored glossaries, one per (issuing, executing, source language, target language)."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.persistence.db import as_utc
from gateway.persistence.translation_tables import glossaries
from gateway.translation.glossary import Glossary, GlossaryEntry


@dataclass(frozen=True)
class StoredGlossary:
    """What `glossary list` shows and the audit log records: counts and hashes, no terms."""

    id: str
    issuing_authority: str
    executing_authority: str
    source_language: str
    target_language: str
    entry_count: int
    sha256: str
    source_format: str
    imported_by: str
    imported_at: datetime


def entries_sha256(glossary: Glossary) -> str:
    """SHA-256 of the canonical JSON of the term pairs: the same terms give the same hash."""
    pairs = [_row(e) for e in glossary.entries]
    canonical = json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def replace(
    conn: Connection, glossary: Glossary, *, source_format: str, imported_by: str
) -> tuple[StoredGlossary, StoredGlossary | None]:
    """Store `glossary` in place of the pair's current one; returns (new, replaced or None)."""
    previous = find(
        conn,
        glossary.issuing_authority,
        glossary.executing_authority,
        glossary.source_language,
        glossary.target_language,
    )
    if previous is not None:
        conn.execute(glossaries.delete().where(glossaries.c.id == previous.id))
    values = {
        "id": str(uuid.uuid4()),
        "issuing_authority_id": glossary.issuing_authority,
        "executing_authority_id": glossary.executing_authority,
        "source_language": glossary.source_language,
        "target_language": glossary.target_language,
        "entries": [_row(e) for e in glossary.entries],
        "entry_count": len(glossary.entries),
        "sha256": entries_sha256(glossary),
        "source_format": source_format,
        "imported_by": imported_by,
        "imported_at": datetime.now(UTC),
    }
    conn.execute(glossaries.insert().values(**values))
    stored = find(
        conn,
        glossary.issuing_authority,
        glossary.executing_authority,
        glossary.source_language,
        glossary.target_language,
    )
    assert stored is not None  # noqa: S101 - inserted in this transaction
    return stored, previous


def find(
    conn: Connection, issuing: str, executing: str, source: str, target: str
) -> StoredGlossary | None:
    row = (
        conn.execute(sa.select(*_SUMMARY).where(*_pair(issuing, executing, source, target)))
        .mappings()
        .first()
    )
    return _summary(row) if row else None


def load_for_authorities(conn: Connection, issuing: str, executing: str) -> list[Glossary]:
    """Every glossary (with its terms) the two authorities agreed, whatever the languages."""
    query = sa.select(glossaries).where(
        glossaries.c.issuing_authority_id == issuing,
        glossaries.c.executing_authority_id == executing,
    )
    return [
        Glossary(
            row["issuing_authority_id"],
            row["executing_authority_id"],
            row["source_language"],
            row["target_language"],
            tuple(_entry(item) for item in row["entries"]),
        )
        for row in conn.execute(query).mappings()
    ]


def list_all(conn: Connection) -> list[StoredGlossary]:
    query = sa.select(*_SUMMARY).order_by(
        glossaries.c.issuing_authority_id,
        glossaries.c.executing_authority_id,
        glossaries.c.source_language,
        glossaries.c.target_language,
    )
    return [_summary(row) for row in conn.execute(query).mappings()]


def remove(
    conn: Connection, issuing: str, executing: str, source: str, target: str
) -> StoredGlossary | None:
    """Delete the pair's glossary; returns what was removed, None if there was none."""
    existing = find(conn, issuing, executing, source, target)
    if existing is not None:
        conn.execute(glossaries.delete().where(glossaries.c.id == existing.id))
    return existing


_SUMMARY = [c for c in glossaries.c if c.name != "entries"]


def _pair(issuing: str, executing: str, source: str, target: str) -> list[sa.ColumnElement[bool]]:
    return [
        glossaries.c.issuing_authority_id == issuing,
        glossaries.c.executing_authority_id == executing,
        glossaries.c.source_language == source,
        glossaries.c.target_language == target,
    ]


def _summary(row: sa.RowMapping) -> StoredGlossary:
    moment = as_utc(row["imported_at"])
    return StoredGlossary(
        id=row["id"],
        issuing_authority=row["issuing_authority_id"],
        executing_authority=row["executing_authority_id"],
        source_language=row["source_language"],
        target_language=row["target_language"],
        entry_count=row["entry_count"],
        sha256=row["sha256"],
        source_format=row["source_format"],
        imported_by=row["imported_by"],
        imported_at=moment,
    )


def _row(entry: GlossaryEntry) -> list[str | None]:
    """[source, target] as before; gender and number only when the entry has them."""
    if entry.gender is None and entry.number is None:
        return [entry.source, entry.target]
    return [entry.source, entry.target, entry.gender, entry.number]


def _entry(item: list[str | None]) -> GlossaryEntry:
    gender = item[2] if len(item) > 2 else None
    number = item[3] if len(item) > 3 else None
    return GlossaryEntry(str(item[0]), str(item[1]), gender, number)
