"""Render and seal the bilingual PDF of a signed-off (reviewed) translation version."""

from __future__ import annotations

import hashlib
import json
import logging

from sqlalchemy.engine import Engine

from gateway.persistence import authorities_store, requests_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import transaction
from gateway.services.lifecycle import record
from gateway.services.pipeline import RenderFn, RenderJob
from gateway.services.translation_review import REVIEWED_PDF, REVIEWED_TRANSLATION, _read

log = logging.getLogger(__name__)


def run_review_render(
    engine: Engine, blobs: BlobStore, request_id: str, version: int, *, render: RenderFn
) -> bool:
    """Idempotent: a version whose PDF exists is left alone. Failure is audited and raised."""
    name = f"v{version}.pdf"
    with transaction(engine) as conn:
        if blobs.find(conn, request_id, REVIEWED_PDF, name) is not None:
            return False
        request = requests_store.get(conn, request_id)
        issuing = authorities_store.get(conn, request.issuing_authority_id)
        executing = authorities_store.get(conn, request.executing_authority_id)
        job = RenderJob(
            request_id=request_id,
            form=json.loads(_read(conn, blobs, request_id, "form")),
            translation=json.loads(
                _read(conn, blobs, request_id, REVIEWED_TRANSLATION, f"v{version}.json")
            ),
            received_at=request.received_at,
            message_sha256=request.message_sha256,
            attachments=[(o.name, o.sha256) for o in blobs.list(conn, request_id, "attachment")],
            audit_index=request.received_audit_index,
            issuing_authority_name=issuing.name,
            executing_authority_name=executing.name,
            original_message=_read(conn, blobs, request_id, "signed-request"),
            target_language=request.target_language,
        )
    try:
        pdf = render(job)
    except Exception as exc:
        log.exception("reviewed render failed", extra={"request_id": request_id})
        with transaction(engine) as conn:
            record(
                conn,
                requests_store.get(conn, request_id),
                "step_failed",
                actor="worker:render",
                detail={"step": "render-review", "version": version, "error": type(exc).__name__},
            )
        raise
    with transaction(engine) as conn:
        stored = blobs.put(
            conn,
            request_id=request_id,
            kind=REVIEWED_PDF,
            name=name,
            media_type="application/pdf",
            data=pdf,
        )
        record(
            conn,
            requests_store.get(conn, request_id),
            "rendered",
            actor="worker:render",
            artefacts={"pdf": hashlib.sha256(pdf).hexdigest()},
            detail={"version": version, "object": stored.id},
        )
    return True
