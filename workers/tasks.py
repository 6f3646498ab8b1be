"""Celery tasks: thin adapters that load ids, call a gateway service and flush the outbox.

Engines (argostranslate, WeasyPrint) load once per worker process, on first use.
"""

from __future__ import annotations

import functools
import logging

from gateway.config import load_settings
from gateway.runtime.container import Runtime, build_runtime
from gateway.services import (
    audit_checkpoints,
    certificate_maintenance,
    exchange_sweeps,
    packaging,
    pipeline,
    sweeper,
)
from gateway.services.dispatch import flush_outbox
from gateway.translation.documents import ExtractedDocument
from gateway.translation.ports import Translator
from workers.celery_app import app

log = logging.getLogger(__name__)


@functools.cache
def runtime() -> Runtime:
    return build_runtime(load_settings())


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
    flush_outbox(rt.engine, rt.sender)


@app.task(name="rogatory.translate", acks_late=True, reject_on_worker_lost=True)
def translate(request_id: str) -> str:
    rt = runtime()
    state = pipeline.run_translation(
        rt.engine,
        rt.blobs,
        request_id,
        translator=translator(),
        extract=_extract,  # type: ignore[arg-type]
    )
    _after(rt)
    return state.value


@app.task(name="rogatory.render", acks_late=True, reject_on_worker_lost=True)
def render(request_id: str) -> str:
    rt = runtime()
    state = pipeline.run_render(rt.engine, rt.blobs, request_id, render=_render)
    _after(rt)
    return state.value


@app.task(name="rogatory.render_review", acks_late=True, reject_on_worker_lost=True)
def render_review(request_id: str, version: int) -> bool:
    """Issue 19: the bilingual PDF of a reviewed translation version."""
    from gateway.services.review_render import run_review_render

    rt = runtime()
    return run_review_render(
        rt.engine,
        rt.blobs,
        request_id,
        version,
        render=_render,
        seal_key=rt.keys.seal_key,
        seal_cert=rt.keys.seal_cert,
    )


@app.task(name="rogatory.package", acks_late=True, reject_on_worker_lost=True)
def package(request_id: str) -> str:
    rt = runtime()
    state = packaging.run_packaging(
        rt.engine, rt.blobs, request_id, seal_key=rt.keys.seal_key, seal_cert=rt.keys.seal_cert
    )
    _after(rt)
    return state.value


@app.task(name="rogatory.flush_outbox", acks_late=True)
def flush() -> int:
    return flush_outbox(runtime().engine, runtime().sender)


@app.task(name="rogatory.sweep", acks_late=True)
def sweep() -> int:
    rt = runtime()
    sealer = rt.sealer()
    changed = sweeper.sweep(rt.engine, rt.blobs)
    changed += exchange_sweeps.sweep_leases(rt.engine)
    changed += exchange_sweeps.sweep_deadlines(rt.engine, sealer)
    exchange_sweeps.purge_expired_credentials(rt.engine)
    _after(rt)
    return changed


@app.task(name="rogatory.checkpoint", acks_late=True)
def checkpoint() -> int:
    rt = runtime()
    origin = audit_checkpoints.log_origin(rt.settings)
    return audit_checkpoints.checkpoint_if_grown(rt.engine, rt.keys.log_key, origin).size


@app.task(name="rogatory.refresh_crls", acks_late=True)
def refresh_crls() -> int:
    report = certificate_maintenance.refresh_gateway_crls(
        runtime().keys, runtime().settings.keys_dir
    )
    return len(report.replaced)


@app.task(name="rogatory.check_certificates", acks_late=True)
def check_certificates() -> int:
    return len(certificate_maintenance.check_gateway_certificates(runtime().engine, runtime().keys))
