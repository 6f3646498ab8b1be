"""Drafts that are never lost: saved as the magistrate types, listed, resumed after sign-in.

A draft belongs to one user; its form JSON is an encrypted blob. Saving again replaces the
blob by compare-and-set on the row's current blob, so two tabs saving at once cannot leave
a row pointing at a shredded object. A submitted draft is frozen.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.domain.errors import Conflict, NotFound
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import as_utc, read_transaction, transaction
from gateway.persistence.ui_tables import ui_drafts
from gateway.services.ui_requests import canonical_form_json, save_draft

RECENT = timedelta(hours=12)


@dataclass(frozen=True)
class DraftSummary:
    id: str
    request_type: str
    case_reference: str
    executing_authority: str
    saved_at: datetime


def save(
    engine: Engine,
    blobs: BlobStore,
    *,
    username: str,
    authority_id: str,
    form: dict[str, Any],
    attachments: list[dict[str, Any]],
    draft_id: str | None = None,
) -> str:
    """Create the draft, or replace an unsent draft of this user; returns its id."""
    if not draft_id:
        return save_draft(
            engine,
            blobs,
            username=username,
            authority_id=authority_id,
            form=form,
            attachments=attachments,
        )
    data = canonical_form_json(form)
    prepared = blobs.prepare(  # encrypted and synced before the write transaction
        request_id=None,
        kind="ui-draft",
        # a new name per version: put() returns an existing (request, kind, name) object
        name=f"{draft_id}.{secrets.token_hex(6)}.json",
        media_type="application/json",
        data=data,
    )
    try:
        with transaction(engine) as conn:
            row = conn.execute(
                sa.select(ui_drafts.c.form_object_id, ui_drafts.c.request_id).where(
                    ui_drafts.c.id == draft_id, ui_drafts.c.username == username
                )
            ).first()
            if row is None:
                raise NotFound("no such draft")
            if row.request_id is not None:
                raise Conflict("this draft was submitted already")
            stored = blobs.record(conn, prepared)
            changed = conn.execute(
                ui_drafts.update()
                .where(
                    ui_drafts.c.id == draft_id,
                    ui_drafts.c.form_object_id == row.form_object_id,
                    ui_drafts.c.request_id.is_(None),
                )
                .values(
                    form_object_id=stored.id,
                    form_sha256=hashlib.sha256(data).hexdigest(),
                    request_type=str(form.get("request_type")),
                    attachments=attachments,
                    updated_at=datetime.now(UTC),
                )
            ).rowcount
            if changed != 1:
                raise Conflict("the draft changed meanwhile; reload the page")
            blobs.shred(conn, row.form_object_id)
    except BaseException:
        prepared.discard()  # nothing of this version stays behind
        raise
    return draft_id


def unsent(engine: Engine, blobs: BlobStore, username: str) -> list[DraftSummary]:
    """This user's drafts not yet submitted, most recently saved first."""
    saved = sa.func.coalesce(ui_drafts.c.updated_at, ui_drafts.c.created_at)
    with read_transaction(engine) as conn:  # decrypting each draft holds no write lock
        rows = conn.execute(
            sa.select(ui_drafts.c.id, ui_drafts.c.request_type, ui_drafts.c.form_object_id, saved)
            .where(ui_drafts.c.username == username, ui_drafts.c.request_id.is_(None))
            .order_by(saved.desc())
            .limit(200)
        ).all()
        found = []
        for draft_id, request_type, object_id, saved_at in rows:
            form = json.loads(blobs.read(conn, object_id))
            found.append(
                DraftSummary(
                    draft_id,
                    request_type,
                    str(form.get("case_reference") or ""),
                    str(form.get("executing_authority") or ""),
                    as_utc(saved_at),
                )
            )
    return found


def recent(engine: Engine, blobs: BlobStore, username: str) -> list[DraftSummary]:
    """Unsent drafts saved in the last hours: offered again right after signing in."""
    cutoff = datetime.now(UTC) - RECENT
    return [d for d in unsent(engine, blobs, username) if d.saved_at >= cutoff]
