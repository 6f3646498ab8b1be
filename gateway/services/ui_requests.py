"""What a magistrate sees of her authority's requests: lists, timelines, receipts, documents.

A user sees the requests her authority issued and the replies addressed to it; any other
id answers NotFound with the same message as a missing one (ids cannot be probed).
Drafts are kept encrypted in the blob store until the sealed request is uploaded.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gateway.audit.entries import decode_entry
from gateway.domain.errors import NotFound
from gateway.persistence import exchange_store, requests_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.blobs import BlobStore, StoredObject
from gateway.persistence.db import read_transaction, transaction
from gateway.persistence.requests_store import RequestRow
from gateway.persistence.tables import requests as requests_table
from gateway.persistence.ui_tables import ui_drafts

NOT_FOUND_MESSAGE = "no such request"
REPLY_TYPE = "reply"
# Blob kinds a magistrate may download from her own request's page.
DOWNLOADABLE_KINDS = frozenset({"pdf", "translation", "attachment", "form", "signed-request"})


@dataclass(frozen=True)
class TimelineEvent:
    index: int
    event: str
    actor: str
    time: datetime
    detail: dict[str, Any]


@dataclass(frozen=True)
class RequestSummary:
    request: RequestRow
    last_event: TimelineEvent | None


@dataclass(frozen=True)
class Draft:
    id: str
    username: str
    authority_id: str
    request_type: str
    form: dict[str, Any]
    form_json: bytes
    attachments: list[dict[str, Any]]
    request_id: str | None


# --- visibility --------------------------------------------------------------------------


def visible_request(conn: Connection, authority_id: str, request_id: str) -> RequestRow:
    """The request if this authority issued it or it is a reply addressed to it."""
    try:
        request = requests_store.get(conn, request_id)
    except NotFound:
        raise NotFound(NOT_FOUND_MESSAGE) from None
    issued = request.issuing_authority_id == authority_id and request.request_type != REPLY_TYPE
    reply_to_us = (
        request.request_type == REPLY_TYPE and request.executing_authority_id == authority_id
    )
    if not (issued or reply_to_us):
        raise NotFound(NOT_FOUND_MESSAGE)
    return request


def get_request(engine: Engine, authority_id: str, request_id: str) -> RequestRow:
    with read_transaction(engine) as conn:
        return visible_request(conn, authority_id, request_id)


# --- lists and timelines -----------------------------------------------------------------


def list_requests(engine: Engine, authority_id: str, *, limit: int = 200) -> list[RequestSummary]:
    """The authority's own requests, newest first, each with its latest audit event."""
    with read_transaction(engine) as conn:
        rows = requests_store.select(
            conn,
            requests_table.c.issuing_authority_id == authority_id,
            requests_table.c.request_type != REPLY_TYPE,
            newest_first=True,
            limit=limit,
        )
        last = _last_events(conn, [row.id for row in rows])
    return [RequestSummary(row, last.get(row.id)) for row in rows]


def _last_events(conn: Connection, request_ids: list[str]) -> dict[str, TimelineEvent]:
    if not request_ids:
        return {}
    newest = (
        sa.select(sa.func.max(audit_leaf.c.idx))
        .where(audit_leaf.c.request_id.in_(request_ids))
        .group_by(audit_leaf.c.request_id)
    )
    rows = conn.execute(
        sa.select(audit_leaf.c.idx, audit_leaf.c.entry).where(audit_leaf.c.idx.in_(newest))
    ).all()
    events = {}
    for idx, raw in rows:
        entry = decode_entry(bytes(raw))
        if entry.request_id is not None:
            events[entry.request_id] = _event(int(idx), raw)
    return events


def timeline(engine: Engine, authority_id: str, request_id: str) -> list[TimelineEvent]:
    with read_transaction(engine) as conn:
        visible_request(conn, authority_id, request_id)
        rows = conn.execute(
            sa.select(audit_leaf.c.idx, audit_leaf.c.entry)
            .where(audit_leaf.c.request_id == request_id)
            .order_by(audit_leaf.c.idx)
        ).all()
    return [_event(int(idx), raw) for idx, raw in rows]


def _event(index: int, raw: bytes) -> TimelineEvent:
    entry = decode_entry(bytes(raw))
    return TimelineEvent(index, entry.event, entry.actor, entry.time, dict(entry.detail))


# --- receipts, documents, replies --------------------------------------------------------


def receipts(
    engine: Engine, authority_id: str, request_id: str
) -> list[exchange_store.EvidenceRow]:
    with read_transaction(engine) as conn:
        visible_request(conn, authority_id, request_id)
        return exchange_store.evidences_of(conn, request_id)


def receipt(
    engine: Engine, authority_id: str, request_id: str, evidence_id: int
) -> exchange_store.EvidenceRow:
    for row in receipts(engine, authority_id, request_id):
        if row.id == evidence_id:
            return row
    raise NotFound("no such receipt")


# Who may read a request: its issuer (visible_request) or its addressee (ui_inbox).
Visibility = Callable[[Connection, str, str], RequestRow]


def documents(
    engine: Engine,
    blobs: BlobStore,
    authority_id: str,
    request_id: str,
    *,
    visible: Visibility = visible_request,
    kinds: frozenset[str] = DOWNLOADABLE_KINDS,
) -> list[StoredObject]:
    with read_transaction(engine) as conn:
        visible(conn, authority_id, request_id)
        return [o for o in blobs.list(conn, request_id) if o.kind in kinds]


def read_document(
    engine: Engine,
    blobs: BlobStore,
    authority_id: str,
    request_id: str,
    object_id: str,
    *,
    visible: Visibility = visible_request,
    kinds: frozenset[str] = DOWNLOADABLE_KINDS,
) -> tuple[StoredObject, bytes]:
    with read_transaction(engine) as conn:
        visible(conn, authority_id, request_id)
        for stored in blobs.list(conn, request_id):
            if stored.id == object_id and stored.kind in kinds:
                return stored, blobs.read(conn, stored.id)
    raise NotFound("no such document")


def read_json_document(
    engine: Engine,
    blobs: BlobStore,
    authority_id: str,
    request_id: str,
    kind: str,
    *,
    visible: Visibility = visible_request,
) -> dict[str, Any] | None:
    """The request's form or translation JSON (for display), or None while it is missing."""
    with read_transaction(engine) as conn:
        visible(conn, authority_id, request_id)
        stored = blobs.find(conn, request_id, kind)
        if stored is None:
            return None
        data: dict[str, Any] = json.loads(blobs.read(conn, stored.id))
        return data


def replies(engine: Engine, authority_id: str, request_id: str) -> list[RequestRow]:
    """Replies of the counterpart to this request (once the reply intake links them)."""
    with read_transaction(engine) as conn:
        visible_request(conn, authority_id, request_id)
        return requests_store.select(
            conn,
            requests_table.c.in_reply_to == request_id,
            requests_table.c.executing_authority_id == authority_id,
        )


# --- drafts ------------------------------------------------------------------------------


def canonical_form_json(form: dict[str, Any]) -> bytes:
    """The request JSON exactly as intake stores it (sorted keys, UTF-8)."""
    return json.dumps(form, sort_keys=True, ensure_ascii=False).encode("utf-8")


def save_draft(
    engine: Engine,
    blobs: BlobStore,
    *,
    username: str,
    authority_id: str,
    form: dict[str, Any],
    attachments: list[dict[str, Any]],
) -> str:
    draft_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    data = canonical_form_json(form)
    prepared = blobs.prepare(  # encrypted and synced before the write transaction
        request_id=None,
        kind="ui-draft",
        name=f"{draft_id}.json",
        media_type="application/json",
        data=data,
    )
    with transaction(engine) as conn:
        stored = blobs.record(conn, prepared)
        conn.execute(
            ui_drafts.insert().values(
                id=draft_id,
                username=username,
                authority_id=authority_id,
                request_type=str(form["request_type"]),
                form_object_id=stored.id,
                form_sha256=hashlib.sha256(data).hexdigest(),
                attachments=attachments,
                created_at=now,
                updated_at=now,
            )
        )
    return draft_id


def get_draft(engine: Engine, blobs: BlobStore, username: str, draft_id: str) -> Draft:
    """A draft of this user only (another user's id answers NotFound)."""
    with read_transaction(engine) as conn:
        row = (
            conn.execute(
                sa.select(ui_drafts).where(
                    ui_drafts.c.id == draft_id, ui_drafts.c.username == username
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound("no such draft")
        data = blobs.read(conn, row["form_object_id"])
    return Draft(
        row["id"],
        row["username"],
        row["authority_id"],
        row["request_type"],
        json.loads(data),
        data,
        list(row["attachments"]),
        row["request_id"],
    )


def mark_submitted(engine: Engine, draft_id: str, request_id: str) -> None:
    with transaction(engine) as conn:
        conn.execute(
            ui_drafts.update().where(ui_drafts.c.id == draft_id).values(request_id=request_id)
        )


def submitted_form_matches(engine: Engine, blobs: BlobStore, request_id: str, draft: Draft) -> bool:
    """Whether the sealed upload carries exactly the request composed in this draft."""
    with read_transaction(engine) as conn:
        stored = blobs.find(conn, request_id, "form")
    return stored is not None and stored.sha256 == hashlib.sha256(draft.form_json).hexdigest()
