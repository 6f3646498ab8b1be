"""What the executing side sees in the browser: requests addressed to its authority.

A user of the executing authority sees the requests addressed to her authority once the
gateway has made them available (translated, rendered, packaged), and the answers her
authority sent to each. Any other id answers NotFound with the same message as a missing
one (ids cannot be probed). Her answer is a reply form, sealed in her browser like a
magistrate's request (views_seal) and sent through the same intake and reply pipeline.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection, Engine

from gateway.domain.errors import NotFound
from gateway.domain.states import State
from gateway.persistence import requests_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.blobs import BlobStore, StoredObject
from gateway.persistence.db import read_transaction
from gateway.persistence.requests_store import RequestRow
from gateway.persistence.tables import requests as requests_table
from gateway.services import ui_requests
from gateway.services.ui_requests import NOT_FOUND_MESSAGE, REPLY_TYPE

# Delivered to the executing side (before that the request is still the gateway's work).
DELIVERED = frozenset(
    {State.AVAILABLE, State.RETRIEVED, State.ACKNOWLEDGED, State.REJECTED, State.WITHDRAWN}
)
# What the executing side may read of a request addressed to it.
READABLE_KINDS = frozenset({"pdf", "translation", "attachment", "form"})


def received_request(conn: Connection, authority_id: str, request_id: str) -> RequestRow:
    """The request if it is addressed to this authority and was delivered to it."""
    try:
        request = requests_store.get(conn, request_id)
    except NotFound:
        raise NotFound(NOT_FOUND_MESSAGE) from None
    if (
        request.request_type == REPLY_TYPE
        or request.executing_authority_id != authority_id
        or request.state not in DELIVERED
    ):
        raise NotFound(NOT_FOUND_MESSAGE)
    return request


def get_received(engine: Engine, authority_id: str, request_id: str) -> RequestRow:
    with read_transaction(engine) as conn:
        return received_request(conn, authority_id, request_id)


def inbox(engine: Engine, authority_id: str, *, limit: int = 200) -> list[RequestRow]:
    """Requests addressed to this authority and delivered to it, newest first."""
    with read_transaction(engine) as conn:
        return requests_store.select(
            conn,
            requests_table.c.executing_authority_id == authority_id,
            requests_table.c.request_type != REPLY_TYPE,
            requests_table.c.state.in_([s.value for s in DELIVERED]),
            newest_first=True,
            limit=limit,
        )


def documents(
    engine: Engine, blobs: BlobStore, authority_id: str, request_id: str
) -> list[StoredObject]:
    return ui_requests.documents(
        engine, blobs, authority_id, request_id, visible=received_request, kinds=READABLE_KINDS
    )


def read_document(
    engine: Engine, blobs: BlobStore, authority_id: str, request_id: str, object_id: str
) -> tuple[StoredObject, bytes]:
    return ui_requests.read_document(
        engine,
        blobs,
        authority_id,
        request_id,
        object_id,
        visible=received_request,
        kinds=READABLE_KINDS,
    )


def read_json(
    engine: Engine, blobs: BlobStore, authority_id: str, request_id: str, kind: str
) -> dict[str, Any] | None:
    """The request's form or translation JSON, or None while it is missing."""
    return ui_requests.read_json_document(
        engine, blobs, authority_id, request_id, kind, visible=received_request
    )


def answers_sent(
    engine: Engine, blobs: BlobStore, authority_id: str, request_id: str
) -> list[tuple[RequestRow, dict[str, Any]]]:
    """The replies this authority sent to the request, oldest first, with their forms."""
    with read_transaction(engine) as conn:
        received_request(conn, authority_id, request_id)
        replies = requests_store.select(
            conn,
            requests_table.c.in_reply_to == request_id,
            requests_table.c.issuing_authority_id == authority_id,
        )
        sent = []
        for reply in replies:
            stored = blobs.find(conn, reply.id, "form")
            form = json.loads(blobs.read(conn, stored.id)) if stored is not None else {}
            sent.append((reply, form))
        return sent


def reply_form(
    original: RequestRow,
    original_form: dict[str, Any],
    mine: Authority,
    section_r: dict[str, Any],
    *,
    language: str,
    representative: str,
    today: date,
) -> dict[str, Any]:
    """The reply as it will be signed: from this authority to the request's issuer, for the
    same case, with section R as the user chose it and section K naming who signs."""
    return {
        "schema": "rogatory.request/1",
        "request_type": REPLY_TYPE,
        "issuing_authority": mine.id,
        "executing_authority": original.issuing_authority_id,
        "case_reference": str(original_form.get("case_reference") or original.id[:8]),
        "language": language,
        "sections": {
            "R": {"in_reply_to": original.id, **section_r},
            "K": {
                "authority_name": mine.name,
                "representative": representative,
                "signed_on": today.isoformat(),
            },
        },
    }
