"""Pipeline steps run by workers: translate, render, package. Each is idempotent.

A step reads what it needs in one short transaction, does its slow work outside any
transaction, and commits its result together with the state change (compare-and-set)
and the next step's outbox message. Running a step twice changes nothing the second
time; a step that lost a race rolls back and leaves the winner's result.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from gateway.domain.errors import Conflict
from gateway.domain.forms import validate_form
from gateway.domain.states import Event, State
from gateway.persistence import authorities_store, requests_store
from gateway.persistence.blobs import BlobStore
from gateway.persistence.db import read_transaction, transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services import terminal_failure
from gateway.services.glossaries import glossary_for_request
from gateway.services.lifecycle import advance
from gateway.services.steps import Artefact, complete_step, fail_step
from gateway.services.translation_memory import memory_detail, memory_for_request, with_memory
from gateway.services.translation_progress import ProgressReporter
from gateway.translation.documents import ExtractedDocument
from gateway.translation.ports import Translator
from gateway.translation.request_translation import translate_request
from gateway.translation.result import TranslationResult

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # as the sweeper's: the last attempt delivers what it has, marked

ExtractFn = Callable[[str, str, bytes], ExtractedDocument]


@dataclass(frozen=True)
class RenderJob:
    """Everything the PDF renderer needs; built by the render step, consumed by a worker."""

    request_id: str
    form: dict[str, Any]
    translation: dict[str, Any]
    received_at: datetime
    message_sha256: str
    attachments: list[tuple[str, str]]
    audit_index: int | None
    issuing_authority_name: str
    executing_authority_name: str
    original_message: bytes
    target_language: str


RenderFn = Callable[[RenderJob], bytes]


def run_translation(
    engine: Engine,
    blobs: BlobStore,
    request_id: str,
    *,
    translator: Translator,
    extract: ExtractFn,
    max_extract_bytes: int = 25 * 1024 * 1024,
) -> State:
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state is State.VERIFIED:
            languages = authorities_store.get(conn, request.executing_authority_id).languages
            target = choose_target_language(translator, request.source_language, languages)
            advance(
                conn,
                request,
                Event.START_TRANSLATION,
                actor="worker:translate",
                detail={"target": target},
                target_language=target,
            )
            request = requests_store.get(conn, request_id)
        elif request.state is not State.TRANSLATING:
            return request.state
    with read_transaction(engine) as conn:  # decrypting inputs holds no write lock
        form = validate_form(json.loads(_read(conn, blobs, request_id, "form")))
        glossary = glossary_for_request(conn, request)
        memory = memory_for_request(conn, blobs.kek, request)  # issue 19: TM exact matches
        attachments = [
            (obj, blobs.read(conn, obj.id) if obj.size <= max_extract_bytes else None)
            for obj in blobs.list(conn, request_id, "attachment")
        ]
    documents = [
        extract(obj.name, obj.media_type, data)
        if data is not None
        else ExtractedDocument(
            obj.name, obj.media_type, obj.sha256, [], "not-machine-translated", "too-large"
        )
        for obj, data in attachments
    ]

    translator = with_memory(translator, memory)  # exact TM matches never reach the engine
    result = translate_request(
        form,
        documents,
        translator,
        target=request.target_language,
        glossary=glossary,
        request_id=request_id,
        now=datetime.now(UTC),
        progress=ProgressReporter(engine, request_id),
    )
    if result.status == "unavailable":
        log.warning(
            "no translation engine for %s->%s: delivering marked unavailable",
            request.source_language,
            request.target_language,
            extra={"request_id": request_id},
        )
    segments = result.all_segments()
    all_failed = all(s.status == "failed" for s in segments)
    if result.status == "failed" and all_failed and request.attempts + 1 < MAX_ATTEMPTS:
        return _record_failed_translation(engine, blobs, request_id, result)  # engine may return
    if result.status == "failed":
        # some segments failed for good: delivered with those segments marked `failed`
        log.warning("translation delivered with failed segments", extra={"request_id": request_id})
    return complete_step(
        engine,
        blobs,
        request_id,
        expected=State.TRANSLATING,
        event=Event.FINISH_TRANSLATION,
        actor="worker:translate",
        artefact=Artefact(
            "translation",
            "translation",
            "translation.json",
            "application/json",
            result.dumps().encode("utf-8"),
        ),
        next_task="rogatory.render",
        detail={
            "status": result.status,
            "segments": len(result.all_segments()),
            **memory_detail(translator),
        },
    )


def _record_failed_translation(
    engine: Engine, blobs: BlobStore, request_id: str, result: TranslationResult
) -> State:
    """Retryable failure; the failed result is kept for inspection, never packaged."""
    with read_transaction(engine) as conn:
        attempt = requests_store.get(conn, request_id).attempts + 1
    prepared = blobs.prepare(  # encrypted and synced before the write transaction
        request_id=request_id,
        kind="translation-failed",
        name=f"attempt-{attempt}.json",
        media_type="application/json",
        data=result.dumps().encode("utf-8"),
    )
    with transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state is not State.TRANSLATING or request.attempts + 1 != attempt:
            prepared.discard()
            return request.state
        blobs.record(conn, prepared)
        failed = sum(1 for s in result.all_segments() if s.status == "failed")
        attempt = request.attempts + 1
        state = advance(
            conn,
            request,
            Event.FAIL_TRANSLATION,
            actor="worker:translate",
            detail={
                "step": "translate",
                "error": "translation-failed",
                "attempt": attempt,
                "failed_segments": failed,
            },
            failed_step="translate",
            attempts=attempt,
            step_runs=0,
            heartbeat_at=None,
        )
        terminal_failure.after_failed_attempt(
            conn, request_id, "translate", "translation-failed", attempt
        )
        return state


def choose_target_language(translator: Translator, source: str, languages: list[str]) -> str:
    """The recipient's first working language the engine can reach (directly or via English)."""
    pairs = translator.pairs()
    for language in languages:
        if language == source or (source, language) in pairs:
            return language
        if (source, "en") in pairs and ("en", language) in pairs:
            return language
    return languages[0]


def run_render(engine: Engine, blobs: BlobStore, request_id: str, *, render: RenderFn) -> State:
    with read_transaction(engine) as conn:
        request = requests_store.get(conn, request_id)
        if request.state is not State.TRANSLATED:
            return request.state
        translation = json.loads(_read(conn, blobs, request_id, "translation"))
        job = render_job(conn, blobs, request, translation)
    try:
        pdf = render(job)
    except Exception as exc:
        log.exception("render failed", extra={"request_id": request_id})
        return fail_step(
            engine,
            request_id,
            expected=State.TRANSLATED,
            event=Event.FAIL_RENDER,
            step="render",
            error=type(exc).__name__,
        )
    return complete_step(
        engine,
        blobs,
        request_id,
        expected=State.TRANSLATED,
        event=Event.RENDER,
        actor="worker:render",
        artefact=Artefact("pdf", "pdf", "request.pdf", "application/pdf", pdf),
        next_task="rogatory.package",
    )


def render_job(
    conn: Any, blobs: BlobStore, request: RequestRow, translation: dict[str, Any]
) -> RenderJob:
    """What the renderer needs of `request`, with `translation` (the machine's, or a
    reviewed version's)."""
    issuing = authorities_store.get(conn, request.issuing_authority_id)
    executing = authorities_store.get(conn, request.executing_authority_id)
    return RenderJob(
        request_id=request.id,
        form=json.loads(_read(conn, blobs, request.id, "form")),
        translation=translation,
        received_at=request.received_at,
        message_sha256=request.message_sha256,
        attachments=[(o.name, o.sha256) for o in blobs.list(conn, request.id, "attachment")],
        audit_index=request.received_audit_index,
        issuing_authority_name=issuing.name,
        executing_authority_name=executing.name,
        original_message=_read(conn, blobs, request.id, "signed-request"),
        target_language=request.target_language,
    )


def _read(conn: Any, blobs: BlobStore, request_id: str, kind: str) -> bytes:
    stored = blobs.find(conn, request_id, kind)
    if stored is None:
        raise Conflict(f"request {request_id} has no {kind} object")
    return blobs.read(conn, stored.id)


__all__ = [
    "RenderJob",
    "choose_target_language",
    "render_job",
    "run_render",
    "run_translation",
]
