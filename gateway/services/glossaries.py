"""Import, list and remove the glossaries authorities agree on; pick one for a request.

Every change is an `admin_action` audit entry holding the glossary's hash and size, never
its terms.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.engine import Connection, Engine

from gateway.domain.errors import NotFound
from gateway.persistence import authorities_store, glossary_store
from gateway.persistence.db import transaction
from gateway.persistence.glossary_store import StoredGlossary
from gateway.persistence.requests_store import RequestRow
from gateway.services.lifecycle import record
from gateway.translation.glossary import Glossary, InvalidGlossary, select_glossary

GlossaryFormat = Literal["csv", "tbx"]


def parse_glossary(
    data: bytes,
    fmt: GlossaryFormat,
    *,
    issuing: str,
    executing: str,
    source: str,
    target: str,
) -> Glossary:
    if source == target:
        raise InvalidGlossary("a glossary needs two different languages")
    pair = {
        "issuing_authority": issuing,
        "executing_authority": executing,
        "source_language": source,
        "target_language": target,
    }
    if fmt == "tbx":
        return Glossary.from_tbx(data, **pair)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidGlossary("CSV glossary is not UTF-8") from None
    return Glossary.from_csv(text, **pair)


def import_glossary(
    engine: Engine,
    data: bytes,
    fmt: GlossaryFormat,
    *,
    issuing: str,
    executing: str,
    source: str,
    target: str,
    actor: str,
) -> tuple[StoredGlossary, StoredGlossary | None]:
    """Parse and store (replacing the pair's previous glossary); returns (new, replaced)."""
    glossary = parse_glossary(
        data, fmt, issuing=issuing, executing=executing, source=source, target=target
    )
    with transaction(engine) as conn:
        for authority_id in (issuing, executing):
            authorities_store.get(conn, authority_id)  # NotFound for an unknown authority
        stored, previous = glossary_store.replace(
            conn, glossary, source_format=fmt, imported_by=actor
        )
        artefacts = {"glossary": stored.sha256}
        if previous is not None:
            artefacts["replaced_glossary"] = previous.sha256
        _audit(
            conn,
            stored,
            "glossary-replaced" if previous else "glossary-imported",
            actor,
            artefacts,
        )
    return stored, previous


def remove_glossary(
    engine: Engine, *, issuing: str, executing: str, source: str, target: str, actor: str
) -> StoredGlossary:
    with transaction(engine) as conn:
        removed = glossary_store.remove(conn, issuing, executing, source, target)
        if removed is None:
            raise NotFound(f"no glossary for {issuing} -> {executing} ({source}->{target})")
        _audit(conn, removed, "glossary-removed", actor, {"glossary": removed.sha256})
    return removed


def list_glossaries(engine: Engine) -> list[StoredGlossary]:
    with transaction(engine) as conn:
        return glossary_store.list_all(conn)


def glossary_for_request(conn: Connection, request: RequestRow) -> Glossary | None:
    """The glossary the request's two authorities agreed for its language pair, if any."""
    return select_glossary(
        glossary_store.load_for_authorities(
            conn, request.issuing_authority_id, request.executing_authority_id
        ),
        request.issuing_authority_id,
        request.executing_authority_id,
        request.source_language,
        request.target_language,
    )


def _audit(
    conn: Connection,
    glossary: StoredGlossary,
    action: str,
    actor: str,
    artefacts: dict[str, str],
) -> None:
    record(
        conn,
        None,
        "admin_action",
        actor=actor,
        artefacts=artefacts,
        detail={
            "action": action,
            "issuing": glossary.issuing_authority,
            "executing": glossary.executing_authority,
            "source": glossary.source_language,
            "target": glossary.target_language,
            "entries": glossary.entry_count,
            "format": glossary.source_format,
        },
    )
