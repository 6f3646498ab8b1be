"""The worker's half of the translation preview (issue 20): translate a draft's free-text
fields as the pipeline would, and keep the result encrypted for its owner to read.

Same translate_request as the translate step (segment isolation, protected names and
identifiers, glossary and translation memory of the authorities' pair, output guard and
flags); no attachment is read. Reading happens in one short transaction, the engine runs
outside any transaction, and the result is recorded by compare-and-set on `pending`.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.domain.errors import DomainError
from gateway.domain.forms import RequestForm, draft_form
from gateway.persistence import authorities_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import as_utc, read_transaction, transaction
from gateway.persistence.memory_store import Pair
from gateway.persistence.ui_tables import ui_drafts
from gateway.persistence.ui_tables import ui_translation_previews as previews
from gateway.services.pipeline import choose_target_language
from gateway.services.translation_memory import glossary_for_pair, memory_for_pair, with_memory
from gateway.services.ui_translation_preview import (
    NO_MT_LABEL,
    PENDING_TIMEOUT,
    PREVIEW_KIND,
)
from gateway.translation.ports import Translator
from gateway.translation.request_translation import translate_request

log = logging.getLogger(__name__)


def run_preview(
    db: Engine,
    blobs: BlobStore,
    preview_id: str,
    *,
    translator: Translator,
    now: datetime | None = None,
) -> str:
    """Translate the preview's draft; returns the preview's state afterwards (or `gone`)."""
    now = now or datetime.now(UTC)
    with read_transaction(db) as conn:
        row = conn.execute(sa.select(previews).where(previews.c.id == preview_id)).first()
        if row is None or row.state != "pending":
            return row.state if row is not None else "gone"
        if now - as_utc(row.created_at) >= PENDING_TIMEOUT:
            return "timed-out"  # the page said so already; the magistrate may ask again
        draft = conn.execute(
            sa.select(ui_drafts.c.form_object_id).where(
                ui_drafts.c.id == row.draft_id, ui_drafts.c.username == row.username
            )
        ).first()
        if draft is None:
            return "gone"
        form = _readable(blobs.read(conn, draft.form_object_id))
        if form is None:
            refusal = "draft-incomplete"
        elif NO_MT_LABEL in (form.data.get("handling") or ()):
            # the web process refuses these; a message that reached us anyway is refused too
            refusal = NO_MT_LABEL
        else:
            refusal = None
            target = choose_target_language(
                translator,
                form.language,
                authorities_store.get(conn, form.executing_authority).languages,
            )
            pair = Pair(form.issuing_authority, form.executing_authority, form.language, target)
            glossary = glossary_for_pair(conn, pair)
            memory = memory_for_pair(conn, blobs.kek, pair)
    if refusal is not None or form is None:
        return fail_preview(db, preview_id, refusal or "draft-incomplete", now)
    try:
        result = translate_request(
            form,
            [],
            with_memory(translator, memory),
            target=target,
            glossary=glossary,
            request_id=f"preview:{preview_id}",
            now=now,
        )
    except Exception as exc:  # recorded as the preview's failure, never passed through
        log.warning("translation preview failed", extra={"preview_id": preview_id})
        return fail_preview(db, preview_id, getattr(exc, "code", None) or "engine-error", now)
    segments = result.fields
    if segments and all(s.status == "failed" for s in segments):
        return fail_preview(db, preview_id, segments[0].flags[0] if segments[0].flags else "", now)
    prepared = blobs.prepare(  # encrypted and synced before the write transaction
        request_id=None,
        kind=PREVIEW_KIND,
        name=f"{preview_id}.json",
        media_type="application/json",
        data=result.dumps().encode("utf-8"),
    )
    try:
        with transaction(db) as conn:
            stored = blobs.record(conn, prepared)
            changed = conn.execute(
                previews.update()
                .where(previews.c.id == preview_id, previews.c.state == "pending")
                .values(
                    state="done",
                    result_object_id=stored.id,
                    target_language=result.target_language,
                    finished_at=datetime.now(UTC),
                )
            ).rowcount
            if changed != 1:  # replaced or purged meanwhile: keep nothing of this run
                blobs.shred(conn, stored.id)
                return "gone"
    except BaseException:
        prepared.discard()
        raise
    log.info("translation preview ready", extra={"preview_id": preview_id})
    return "done"


def _readable(data: bytes) -> RequestForm | None:
    """The draft as a form to walk, or None when it lacks what a translation needs."""
    try:
        form = draft_form(json.loads(data))
    except (DomainError, ValueError):
        return None
    return form if form.language and form.executing_authority else None


def fail_preview(db: Engine, preview_id: str, code: str, now: datetime | None = None) -> str:
    """Record the preview as failed with `code` (if still pending); the page says why."""
    now = now or datetime.now(UTC)
    with transaction(db) as conn:
        conn.execute(
            previews.update()
            .where(previews.c.id == preview_id, previews.c.state == "pending")
            .values(state="failed", failure_code=(code or "engine-error")[:64], finished_at=now)
        )
    return "failed"
