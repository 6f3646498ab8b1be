"""The magistrate's list that scales: case reference, counterpart, type, state, deadline,
last change and new replies per request; search and filters; replies marked as seen.

The case reference lives in the encrypted form, so it is read per listed request (the list
is bounded); nothing of it is stored in clear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import as_utc, read_transaction, transaction
from gateway.persistence.tables import requests as requests_table
from gateway.persistence.ui_tables import ui_replies_seen
from gateway.services import ui_requests
from gateway.services.ui_requests import REPLY_TYPE, RequestSummary


@dataclass(frozen=True)
class ListedRequest:
    summary: RequestSummary
    case_reference: str
    replies: int
    new_replies: int
    last_change: datetime


def _case_reference(conn: Connection, blobs: BlobStore, request_id: str) -> str:
    stored = blobs.find(conn, request_id, "form")
    if stored is None:
        return ""
    return str(json.loads(blobs.read(conn, stored.id)).get("case_reference") or "")


def overview(
    engine: Engine, blobs: BlobStore, authority_id: str, username: str
) -> list[ListedRequest]:
    summaries = ui_requests.list_requests(engine, authority_id)
    ids = [s.request.id for s in summaries]
    with read_transaction(engine) as conn:  # the forms are decrypted without a write lock
        replies = conn.execute(
            sa.select(requests_table.c.in_reply_to, requests_table.c.received_at).where(
                requests_table.c.request_type == REPLY_TYPE,
                requests_table.c.in_reply_to.in_(ids),
                requests_table.c.executing_authority_id == authority_id,
            )
        ).all()
        seen = dict(
            conn.execute(
                sa.select(ui_replies_seen.c.request_id, ui_replies_seen.c.seen_at).where(
                    ui_replies_seen.c.username == username,
                    ui_replies_seen.c.request_id.in_(ids),
                )
            ).all()
        )
        references = {i: _case_reference(conn, blobs, i) for i in ids}
    listed = []
    for summary in summaries:
        request_id = summary.request.id
        received = [as_utc(r.received_at) for r in replies if r.in_reply_to == request_id]
        seen_at = as_utc(seen[request_id]) if request_id in seen else None
        changes = [as_utc(summary.request.updated_at), *received]
        if summary.last_event is not None:
            changes.append(as_utc(summary.last_event.time))
        listed.append(
            ListedRequest(
                summary,
                references[request_id],
                len(received),
                sum(1 for r in received if seen_at is None or r > seen_at),
                max(changes),
            )
        )
    return listed


def matches(
    item: ListedRequest, *, text: str, state: str, request_type: str, names: dict[str, str]
) -> bool:
    """Search (case reference, counterpart, id) and filters (state, type)."""
    request = item.summary.request
    if state == "new-replies":
        if not item.new_replies:
            return False
    elif state and request.state.value != state:
        return False
    if request_type and request.request_type != request_type:
        return False
    needle = text.strip().casefold()
    if not needle:
        return True
    haystack = " ".join(
        (
            item.case_reference,
            names.get(request.executing_authority_id, request.executing_authority_id),
            request.id,
        )
    ).casefold()
    return needle in haystack


def mark_replies_seen(engine: Engine, username: str, request_id: str) -> None:
    now = datetime.now(UTC)
    with transaction(engine) as conn:
        updated = conn.execute(
            ui_replies_seen.update()
            .where(
                ui_replies_seen.c.username == username,
                ui_replies_seen.c.request_id == request_id,
            )
            .values(seen_at=now)
        ).rowcount
    if updated:
        return
    try:
        with transaction(engine) as conn:
            conn.execute(
                ui_replies_seen.insert().values(
                    username=username, request_id=request_id, seen_at=now
                )
            )
    except IntegrityError:  # another tab inserted it first: seen either way
        return
