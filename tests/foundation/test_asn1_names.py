"""pyHanko's ASN.1 names are registered at worker start: `render` works after `package`
ran first in the same process (asn1crypto used before pyHanko was imported)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from foundation_support import accept, sealed_submission
from process_support import REPO, settings_env

from gateway.config import Settings
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.runtime.asn1_names import register_asn1_names
from gateway.runtime.container import build_runtime
from gateway.services import pipeline
from workers.extraction.extract import extract_document
from workers.translation.apertium_engine import ApertiumEngine

CHILD = Path(__file__).with_name("asn1_order_child.py")


def test_render_after_package_in_one_fresh_worker_process(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(translation_engine="apertium")
    rt = build_runtime(settings)
    to_package = accept(rt, sealed_submission(settings), flush=False)
    to_render = accept(rt, sealed_submission(settings), flush=False)
    engine = ApertiumEngine()
    for request_id in (to_package, to_render):
        pipeline.run_translation(
            rt.engine, rt.blobs, request_id, translator=engine, extract=extract_document
        )

    register_asn1_names()  # this process used asn1crypto already (as a gateway would)

    def render(job: pipeline.RenderJob) -> bytes:
        from workers.render_job import render_and_seal

        return render_and_seal(job, seal_key=rt.keys.seal_key, seal_cert=rt.keys.seal_cert)

    assert pipeline.run_render(rt.engine, rt.blobs, to_package, render=render).value == "rendered"
    done = subprocess.run(
        [sys.executable, str(CHILD), to_package, to_render],
        cwd=REPO,
        env={**settings_env(settings), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["available", "rendered"], done.stderr[-3000:]
    with transaction(rt.engine) as conn:
        assert requests_store.get(conn, to_render).attempts == 0
    rt.close()
