"""Translation memory per (issuing authority, executing authority, source, target language).

Reviewed segments (and TMX imports) become entries; the translate step reuses exact matches
without calling the engine. Every change is an `admin_action` audit entry with ids, counts and
hashes, never the text.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy.engine import Connection, Engine

from gateway.crypto import at_rest
from gateway.domain.errors import DomainError, NotFound
from gateway.domain.forms import RequestForm, validate_form
from gateway.persistence import authorities_store, glossary_store, memory_store, requests_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import transaction
from gateway.persistence.memory_store import NewEntry, Pair
from gateway.persistence.requests_store import RequestRow
from gateway.services.glossaries import glossary_for_request
from gateway.services.lifecycle import record
from gateway.translation.glossary import Glossary, select_glossary
from gateway.translation.memory import (
    MemoryEntry,
    MemoryLookup,
    MemoryTranslator,
    mask_pair,
    normalise,
)
from gateway.translation.ports import Translator
from gateway.translation.request_translation import _protector_for
from gateway.translation.spans import SpanProtector
from gateway.translation.tmx import TmxUnit, parse_tmx, write_tmx


class InvalidMemoryEntry(DomainError):
    code = "invalid-tm-entry"
    status = 422


def pair_of(request: RequestRow) -> Pair:
    return Pair(
        request.issuing_authority_id,
        request.executing_authority_id,
        request.source_language,
        request.target_language,
    )


def memory_for_request(conn: Connection, kek: at_rest.Kek, request: RequestRow) -> MemoryLookup:
    """The TM the request's authorities built for its language pair (read in the step's txn)."""
    return memory_for_pair(conn, kek, pair_of(request))


def memory_for_pair(conn: Connection, kek: at_rest.Kek, pair: Pair) -> MemoryLookup:
    """The TM two authorities built for one language pair."""
    return MemoryLookup(memory_store.load(conn, kek, pair))


def with_memory(translator: Translator, memory: MemoryLookup) -> Translator:
    """`translator` itself when the memory is empty, else one answering exact matches first."""
    return MemoryTranslator(translator, memory) if len(memory) else translator


def memory_detail(translator: Translator) -> dict[str, int]:
    """Audit detail of one translate step: how many segments came from the TM."""
    if isinstance(translator, MemoryTranslator):
        return {"tm_hits": translator.hits}
    return {}


def record_reviewed(
    conn: Connection,
    kek: at_rest.Kek,
    request: RequestRow,
    form: RequestForm,
    glossary: Glossary | None,
    segments: list[tuple[str, str]],
    *,
    actor: str,
) -> list[str]:
    """Store accepted or edited (source, target) segments of `request`; returns entry ids."""
    protector = _protector_for(form, glossary)
    pair = pair_of(request)
    ids = []
    for source, target in segments:
        masked_source, masked_target = mask_pair(protector, source, target)
        entry_id, _ = memory_store.put(
            conn,
            kek,
            pair,
            NewEntry(source, target, masked_source, masked_target, actor, request.id),
        )
        ids.append(entry_id)
    if ids:
        _audit(conn, pair, "tm-recorded", actor, {"entries": len(ids)}, request_id=request.id)
    return ids


def record_reviewed_for_request(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    segments: list[tuple[str, str]],
    *,
    actor: str,
) -> list[str]:
    """`record_reviewed` for a stored request: its form and glossary give the protected items."""
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        stored = blobs.find(conn, request_id, "form")
        if stored is None:
            raise NotFound(f"request {request_id} has no form")
        form = validate_form(json.loads(blobs.read(conn, stored.id)))
        glossary = glossary_for_request(conn, request)
        return record_reviewed(conn, blobs.kek, request, form, glossary, segments, actor=actor)


def import_tmx(
    engine: Engine, kek: at_rest.Kek, data: bytes, pair: Pair, *, actor: str
) -> tuple[int, int]:
    """Add the TMX file's units for `pair`; returns (added, corrected)."""
    units = parse_tmx(data, pair.source, pair.target)
    added = corrected = 0
    with transaction(engine) as conn:
        protector = _pair_protector(conn, pair)
        for unit in units:
            masked_source, masked_target = mask_pair(protector, unit.source, unit.target)
            new = NewEntry(
                unit.source,
                unit.target,
                masked_source,
                masked_target,
                unit.created_by or actor,
                None,
            )
            _, replaced = memory_store.put(conn, kek, pair, new)
            corrected += replaced
            added += not replaced
        _audit(
            conn,
            pair,
            "tm-imported",
            actor,
            {"added": added, "corrected": corrected, "format": "tmx"},
            artefacts={"tmx": hashlib.sha256(data).hexdigest()},
        )
    return added, corrected


def export_tmx(engine: Engine, kek: at_rest.Kek, pair: Pair, *, actor: str) -> bytes:
    with transaction(engine) as conn:
        entries = memory_store.load(conn, kek, pair)
        data = write_tmx(
            [TmxUnit(e.source, e.target, e.created_by, e.id) for e in entries],
            pair.source,
            pair.target,
        )
        _audit(
            conn,
            pair,
            "tm-exported",
            actor,
            {"entries": len(entries), "format": "tmx"},
            artefacts={"tmx": hashlib.sha256(data).hexdigest()},
        )
    return data


def list_entries(engine: Engine, kek: at_rest.Kek, pair: Pair) -> list[MemoryEntry]:
    with transaction(engine) as conn:
        return memory_store.load(conn, kek, pair)


def correct_entry(
    engine: Engine, kek: at_rest.Kek, entry_id: str, target: str, *, actor: str
) -> MemoryEntry:
    """Replace an entry's target text (the translator's correction); same id, audited."""
    if not normalise(target):
        raise InvalidMemoryEntry("a TM entry needs a non-empty target")
    with transaction(engine) as conn:
        found = memory_store.get(conn, kek, entry_id)
        if found is None:
            raise NotFound(f"no TM entry {entry_id}")
        pair, entry = found
        _, masked_target = mask_pair(_pair_protector(conn, pair), entry.source, target)
        new = NewEntry(
            entry.source, target, entry.masked_source, masked_target, actor, entry.request_id
        )
        memory_store.put(conn, kek, pair, new)
        _audit(conn, pair, "tm-corrected", actor, {"entry": entry_id})
        updated = memory_store.get(conn, kek, entry_id)
    assert updated is not None  # noqa: S101 - written in this transaction
    return updated[1]


def remove_entry(engine: Engine, kek: at_rest.Kek, entry_id: str, *, actor: str) -> MemoryEntry:
    with transaction(engine) as conn:
        found = memory_store.get(conn, kek, entry_id)
        if found is None:
            raise NotFound(f"no TM entry {entry_id}")
        pair, entry = found
        memory_store.remove(conn, entry_id)
        _audit(conn, pair, "tm-removed", actor, {"entry": entry_id})
    return entry


def check_pair(engine: Engine, pair: Pair) -> None:
    """NotFound for an unknown authority; a clear refusal for one language on both sides."""
    if pair.source == pair.target:
        raise InvalidMemoryEntry("a translation memory needs two different languages")
    with transaction(engine) as conn:
        for authority_id in (pair.issuing, pair.executing):
            authorities_store.get(conn, authority_id)


def glossary_for_pair(conn: Connection, pair: Pair) -> Glossary | None:
    """The glossary the pair's two authorities agreed for its languages, if any."""
    return select_glossary(
        glossary_store.load_for_authorities(conn, pair.issuing, pair.executing),
        pair.issuing,
        pair.executing,
        pair.source,
        pair.target,
    )


def _pair_protector(conn: Connection, pair: Pair) -> SpanProtector:
    glossary = glossary_for_pair(conn, pair)
    return SpanProtector(glossary=glossary.terms() if glossary is not None else None)


def _audit(
    conn: Connection,
    pair: Pair,
    action: str,
    actor: str,
    counts: dict[str, int | str],
    *,
    artefacts: dict[str, str] | None = None,
    request_id: str | None = None,
) -> None:
    detail: dict[str, str | int | bool | None] = {
        "action": action,
        "issuing": pair.issuing,
        "executing": pair.executing,
        "source": pair.source,
        "target": pair.target,
        **counts,
    }
    record(
        conn,
        None,
        "admin_action",
        actor=actor,
        artefacts=artefacts,
        detail=json.loads(json.dumps(detail)),
        request_id=request_id,
    )
