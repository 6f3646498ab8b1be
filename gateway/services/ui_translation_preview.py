"""Translation checked before sealing (issue 20): a preview of a draft's free-text fields.

    request_preview(db, blobs, settings, username, draft_id) -> Preview
    latest_preview(db, blobs, settings, username, draft_id)  -> Preview
    purge_expired(db, blobs)                                  -> how many were removed

The web process never loads an MT engine: it records a pending preview and, in the same
transaction, an outbox message carrying the preview's id only (never text). A worker
(`rogatory.preview_translation`, services/translation_preview.py) translates the draft
with the pipeline's translate_request and stores the result encrypted at rest; it is
shown for PREVIEW_TTL, then purged (on read, and by the periodic sweep).

Decided at once, with no job: the issuer's label `no-machine-translation` (the text never
reaches an engine), a pair no installed engine serves (as the pipeline's `unavailable`),
and a draft already in the recipient's language.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gateway.config import Settings
from gateway.domain.errors import NotFound
from gateway.persistence import authorities_store, outbox_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import as_utc, read_transaction, transaction
from gateway.persistence.ui_tables import ui_translation_previews as previews
from gateway.services import ui_requests
from gateway.services.translation_engines import translation_outlook
from gateway.translation.result import SegmentResult, TranslationResult

PREVIEW_TASK = "rogatory.preview_translation"
PREVIEW_KIND = "ui-translation-preview"
PREVIEW_TTL = timedelta(hours=1)
# A preview no worker finished by then is shown as timed out (and not started any more).
PENDING_TIMEOUT = timedelta(minutes=2)
NO_MT_LABEL = "no-machine-translation"

PreviewState = Literal[
    "none",  # never asked for (or expired)
    "pending",  # a worker will translate it
    "done",
    "failed",
    "timed-out",  # no worker finished it within PENDING_TIMEOUT
    "unavailable",  # no installed engine serves the pair: no job
    "not-needed",  # the draft is in the recipient's language: no job
    "refused",  # the draft carries `no-machine-translation`: no job, no engine
]
FINAL_STATES = frozenset({"done", "failed", "timed-out", "unavailable", "not-needed", "refused"})


@dataclass(frozen=True)
class Preview:
    state: PreviewState
    source_language: str
    target_language: str
    engine: str = ""
    failure_code: str | None = None
    fields: tuple[SegmentResult, ...] = ()
    # the draft was saved again after this preview was made
    stale: bool = False
    expires_at: datetime | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


def request_preview(
    db: Engine,
    blobs: BlobStore,
    settings: Settings,
    username: str,
    draft_id: str,
    *,
    now: datetime | None = None,
) -> Preview:
    """Ask for a preview of this user's draft (another user's draft is NotFound).

    Asking again while a preview of the same draft version is pending returns that one;
    any older preview of the draft is destroyed.
    """
    now = now or datetime.now(UTC)
    draft = ui_requests.get_draft(db, blobs, username, draft_id)
    decided, target, engine = _decided_without_job(db, settings, draft.form)
    if decided is not None:
        return decided
    form_sha256 = hashlib.sha256(draft.form_json).hexdigest()
    source = str(draft.form.get("language") or "")
    try:
        with transaction(db) as conn:
            rows = _rows(conn, username, draft_id)
            running = next((r for r in rows if r.state == "pending"), None)
            if (
                running is not None
                and running.form_sha256 == form_sha256
                and now - as_utc(running.created_at) < PENDING_TIMEOUT
            ):
                return _pending(running)
            _delete(conn, rows)
            preview_id = str(uuid.uuid4())
            conn.execute(
                previews.insert().values(
                    id=preview_id,
                    draft_id=draft_id,
                    username=username,
                    form_sha256=form_sha256,
                    source_language=source,
                    target_language=target,
                    engine=engine,
                    state="pending",
                    created_at=now,
                    expires_at=now + PREVIEW_TTL,
                )
            )
            outbox_store.enqueue(conn, PREVIEW_TASK, {"preview_id": preview_id})
            _shred(conn, blobs, rows)  # last: nothing is destroyed if the insert lost a race
    except IntegrityError:  # the same draft asked for at the same moment: that one stands
        return latest_preview(db, blobs, settings, username, draft_id, now=now)
    return Preview("pending", source, target, engine, expires_at=now + PREVIEW_TTL)


def latest_preview(
    db: Engine,
    blobs: BlobStore,
    settings: Settings,
    username: str,
    draft_id: str,
    *,
    now: datetime | None = None,
) -> Preview:
    """The draft's preview as it stands; an expired one is purged and reads as `none`."""
    now = now or datetime.now(UTC)
    draft = ui_requests.get_draft(db, blobs, username, draft_id)
    decided, target, engine = _decided_without_job(db, settings, draft.form)
    if decided is not None:
        return decided
    source = str(draft.form.get("language") or "")
    with read_transaction(db) as conn:
        rows = _rows(conn, username, draft_id)
        row = rows[0] if rows else None
        if row is None or as_utc(row.expires_at) <= now:
            found = None
        else:
            try:
                result = blobs.read(conn, row.result_object_id) if row.result_object_id else None
                found = (row, result)
            except NotFound:  # replaced by a newer preview while this was read
                return Preview("pending", source, target, engine)
    if found is None:
        if row is not None:
            with transaction(db) as conn:
                _destroy(conn, blobs, [row])
        return Preview("none", source, target, engine)
    row, result = found
    stale = row.form_sha256 != hashlib.sha256(draft.form_json).hexdigest()
    common: dict[str, Any] = {
        "source_language": row.source_language,
        "target_language": row.target_language,
        "engine": row.engine,
        "stale": stale,
        "expires_at": as_utc(row.expires_at),
    }
    if row.state == "pending":
        late = now - as_utc(row.created_at) >= PENDING_TIMEOUT
        return Preview("timed-out" if late else "pending", **common)
    if row.state == "failed" or result is None:
        return Preview("failed", failure_code=row.failure_code or "engine-error", **common)
    translated = TranslationResult.from_json(json.loads(result))
    if translated.status == "unavailable":  # the worker's engine lacks the pair after all
        return Preview("unavailable", **common)
    engines = {s.provenance.engine for s in translated.fields if s.provenance.engine != "none"}
    common["engine"] = ", ".join(sorted(engines)) or row.engine
    return Preview("done", fields=translated.fields, **common)


def purge_expired(db: Engine, blobs: BlobStore, *, now: datetime | None = None) -> int:
    """Destroy previews past their expiry (their encrypted result is shredded)."""
    now = now or datetime.now(UTC)
    with transaction(db) as conn:
        rows = conn.execute(
            sa.select(previews).where(previews.c.expires_at <= now).limit(500)
        ).all()
        _destroy(conn, blobs, rows)
    return len(rows)


def _decided_without_job(
    db: Engine, settings: Settings, form: dict[str, Any]
) -> tuple[Preview | None, str, str]:
    """(a preview decided without a worker, or None; the target language; the engine)."""
    source = str(form.get("language") or "")
    if NO_MT_LABEL in (form.get("handling") or ()):
        return Preview("refused", source, ""), "", ""
    try:
        with read_transaction(db) as conn:
            executing = authorities_store.get(conn, str(form.get("executing_authority")))
    except NotFound:
        executing = None
    if executing is None or not source:
        incomplete = Preview("failed", source, "", failure_code="draft-incomplete")
        return incomplete, "", ""
    outlook = translation_outlook(settings, source, executing.languages)
    target, engine = outlook.target, outlook.engine or ""
    if outlook.status == "not-needed":
        return Preview("not-needed", source, target), target, engine
    if outlook.status == "unavailable":
        return Preview("unavailable", source, target), target, engine
    return None, target, engine


def _rows(conn: Connection, username: str, draft_id: str) -> list[Any]:
    """This user's previews of the draft, newest first."""
    return list(
        conn.execute(
            sa.select(previews)
            .where(previews.c.draft_id == draft_id, previews.c.username == username)
            .order_by(previews.c.created_at.desc())
        ).all()
    )


def _destroy(conn: Connection, blobs: BlobStore, rows: list[Any]) -> None:
    _delete(conn, rows)
    _shred(conn, blobs, rows)


def _delete(conn: Connection, rows: list[Any]) -> None:
    if rows:
        conn.execute(previews.delete().where(previews.c.id.in_([r.id for r in rows])))


def _shred(conn: Connection, blobs: BlobStore, rows: list[Any]) -> None:
    """Destroy the rows' encrypted results (without the data key the file is noise)."""
    for row in rows:
        if row.result_object_id:
            blobs.shred(conn, row.result_object_id)


def _pending(row: Any) -> Preview:
    return Preview(
        "pending",
        row.source_language,
        row.target_language,
        row.engine,
        expires_at=as_utc(row.expires_at),
    )
