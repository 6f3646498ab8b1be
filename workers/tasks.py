"""Celery tasks: thin adapters that load ids, call a gateway service and flush the outbox.

Engines (argostranslate, WeasyPrint) load once per worker process, on first use.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta

from celery.signals import worker_process_init

from gateway.config import load_settings
from gateway.domain.states import State
from gateway.persistence import orphan_files
from gateway.runtime.container import Runtime, build_runtime
from gateway.services import (
    audit_checkpoints,
    certificate_maintenance,
    exchange_sweeps,
    packaging,
    pipeline,
    scheduling,
    step_runs,
    sweeper,
    terminal_failure,
    ui_translation_preview,
)
from gateway.services.dispatch import flush_outbox
from gateway.translation.documents import ExtractedDocument
from gateway.translation.ports import Translator
from workers.celery_app import app

log = logging.getLogger(__name__)


@functools.cache
def runtime() -> Runtime:
    return build_runtime(load_settings())


@worker_process_init.connect(weak=False)
def _read_keys_at_start(**_: object) -> None:
    """Each pool process reads the keyring when it starts (checking each RSA key takes a
    tenth of a second), not in its first task; a bad key file is logged now, and the
    tasks that need it fail as before."""
    try:
        runtime().keys  # noqa: B018  (a cached property: read once, kept)
    except Exception:
        log.exception("the keyring could not be read at worker start")


@functools.cache
def translator() -> Translator:
    from workers.engines import load_translator

    return load_translator(runtime().settings)


def _render(job: pipeline.RenderJob) -> bytes:
    from workers.render_job import render_and_seal

    keys = runtime().keys
    return render_and_seal(job, seal_key=keys.seal_key, seal_cert=keys.seal_cert)


def _extract(name: str, media_type: str, data: bytes) -> ExtractedDocument:
    from workers.extraction.extract import extract_document

    return extract_document(name, media_type, data)


def _after(rt: Runtime) -> None:
    try:
        flush_outbox(rt.engine, rt.sender)
    except Exception:  # the outbox keeps it: the next flush (beat, sweep) sends it
        log.warning("outbox flush deferred", exc_info=True)


def _run_step(step: str, request_id: str, body: Callable[[Runtime], State]) -> str:
    """Count the run, beat while it works, record ANY failure; no exception escapes unrecorded.

    If even recording fails (database down), the exception propagates: the message is
    dropped, and the stall sweep redoes the step once the heartbeats have stopped.
    """
    rt = runtime()
    settings = rt.settings
    if not step_runs.begin(rt.engine, request_id, step, max_runs=settings.max_step_runs):
        _after(rt)
        return State.FAILED.value
    try:
        with step_runs.Heartbeat(rt.engine, request_id, interval=settings.heartbeat_seconds):
            state = body(rt)
    except Exception as exc:  # includes SoftTimeLimitExceeded
        log.exception("step failed", extra={"request_id": request_id, "step": step})
        state = step_runs.fail(rt.engine, request_id, step, exc)
    _after(rt)
    return state.value


@app.task(name="rogatory.translate", acks_late=True, reject_on_worker_lost=True)
def translate(request_id: str) -> str:
    return _run_step(
        "translate",
        request_id,
        lambda rt: pipeline.run_translation(
            rt.engine,
            rt.blobs,
            request_id,
            translator=translator(),
            extract=_extract,  # type: ignore[arg-type]
        ),
    )


@app.task(name="rogatory.render", acks_late=True, reject_on_worker_lost=True)
def render(request_id: str) -> str:
    return _run_step(
        "render",
        request_id,
        lambda rt: pipeline.run_render(rt.engine, rt.blobs, request_id, render=_render),
    )


@app.task(
    name="rogatory.render_review",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=4,
)
def render_review(self: object, request_id: str, version: int) -> bool:
    """Issue 19: the bilingual PDF of a reviewed translation version, retried with backoff."""
    from gateway.services.review_render import run_review_render

    rt = runtime()
    retries: int = self.request.retries  # type: ignore[attr-defined]
    final = retries >= self.max_retries  # type: ignore[attr-defined]
    try:
        return run_review_render(
            rt.engine,
            rt.blobs,
            request_id,
            version,
            render=_render,
            seal_key=rt.keys.seal_key,
            seal_cert=rt.keys.seal_cert,
            attempt=retries + 1,
            final=final,
        )
    except Exception as exc:
        if final:
            raise
        raise self.retry(countdown=15 * 2**retries, exc=exc) from None  # type: ignore[attr-defined]


@app.task(name="rogatory.preview_translation", acks_late=True, reject_on_worker_lost=True)
def preview_translation(preview_id: str) -> str:
    """Issue 20: a draft's free-text fields translated for its owner to check before sealing.
    The message carries the preview's id only; the draft's text is read (and the result
    written) encrypted at rest."""
    from gateway.services.translation_preview import fail_preview, run_preview

    rt = runtime()
    try:
        return run_preview(rt.engine, rt.blobs, preview_id, translator=translator())
    except Exception:  # the page must say it failed, never wait for ever
        log.exception("translation preview failed", extra={"preview_id": preview_id})
        return fail_preview(rt.engine, preview_id, "engine-error")


@app.task(name="rogatory.package", acks_late=True, reject_on_worker_lost=True)
def package(request_id: str) -> str:
    return _run_step(
        "package",
        request_id,
        lambda rt: packaging.run_packaging(
            rt.engine,
            rt.blobs,
            request_id,
            seal_key=rt.keys.seal_key,
            seal_cert=rt.keys.seal_cert,
        ),
    )


@app.task(
    name="rogatory.notify_failure",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
)
def notify_failure(self: object, request_id: str) -> str:
    rt = runtime()
    try:
        return terminal_failure.notify_failure(rt.engine, request_id, rt.sealer())
    except terminal_failure.NoticeNotDelivered as exc:
        retries = self.request.retries  # type: ignore[attr-defined]
        raise self.retry(countdown=30 * 2**retries, exc=exc) from None  # type: ignore[attr-defined]


def _leased(name: str) -> bool:
    rt = runtime()
    if scheduling.lease(rt.engine, rt.settings, name):
        log.info("periodic job started", extra={"job": name})
        return True
    log.debug("periodic job ran elsewhere this period", extra={"job": name})
    return False


@app.task(name="rogatory.flush_outbox", acks_late=True)
def flush() -> int:
    return flush_outbox(runtime().engine, runtime().sender)


@app.task(name="rogatory.sweep", acks_late=True)
def sweep() -> int:
    if not _leased("sweep"):
        return 0
    rt = runtime()
    sealer = rt.sealer()
    changed = sweeper.sweep(
        rt.engine,
        rt.blobs,
        stale_after=timedelta(seconds=rt.settings.stall_seconds),
        heartbeat=timedelta(seconds=rt.settings.heartbeat_seconds),
    )
    orphan_files.sweep_orphans(
        rt.engine, rt.blobs.root, grace_seconds=rt.settings.orphan_grace_seconds
    )
    changed += exchange_sweeps.sweep_leases(rt.engine)
    changed += exchange_sweeps.sweep_deadlines(rt.engine, sealer)
    exchange_sweeps.purge_expired_credentials(rt.engine)
    ui_translation_preview.purge_expired(rt.engine, rt.blobs)
    _after(rt)
    return changed


@app.task(name="rogatory.checkpoint", acks_late=True)
def checkpoint() -> int:
    if not _leased("checkpoint"):
        return 0
    rt = runtime()
    origin = audit_checkpoints.log_origin(rt.settings)
    return audit_checkpoints.checkpoint_if_grown(rt.engine, rt.keys.log_key, origin).size


@app.task(name="rogatory.refresh_crls", acks_late=True)
def refresh_crls() -> int:
    if not _leased("refresh-crls"):
        return 0
    rt = runtime()
    report = certificate_maintenance.refresh_gateway_crls(rt.keys, rt.settings.keys_dir)
    certificate_maintenance.alert_expiring_crls(rt.engine, rt.keys)
    return len(report.replaced)


@app.task(name="rogatory.check_certificates", acks_late=True)
def check_certificates() -> int:
    if not _leased("check-certificates"):
        return 0
    return len(certificate_maintenance.check_gateway_certificates(runtime().engine, runtime().keys))
