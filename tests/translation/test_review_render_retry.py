"""Issue 19 follow-up: a failed reviewed-PDF render is audited per attempt and can be retried."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from review_support import entries, submit
from worker_support import mla_form

from gateway.persistence.db import transaction
from gateway.runtime.container import Runtime
from gateway.services.pipeline import RenderJob
from gateway.services.review_render import run_review_render
from gateway.services.translation_review import REVIEWED_PACKAGE, REVIEWED_PDF, REVIEWED_TRANSLATION


class RendererDown(RuntimeError):
    pass


def test_a_failed_reviewed_render_is_audited_with_its_attempt_and_a_retry_completes_it(
    runtime_for: Callable[..., Runtime],
) -> None:
    rt = runtime_for()
    request_id = submit(rt, mla_form())
    with transaction(rt.engine) as conn:
        rt.blobs.put(
            conn,
            request_id=request_id,
            kind=REVIEWED_TRANSLATION,
            name="v1.json",
            media_type="application/json",
            data=json.dumps({"status": "reviewed", "fields": [], "documents": []}).encode(),
        )

    def broken(job: RenderJob) -> bytes:
        raise RendererDown("renderer down")

    def working(job: RenderJob) -> bytes:  # the renderer is the outer boundary here
        assert job.request_id == request_id
        return b"%PDF-1.7 reviewed"

    keys = rt.keys
    with pytest.raises(RendererDown):
        run_review_render(
            rt.engine, rt.blobs, request_id, 1, render=broken,
            seal_key=keys.seal_key, seal_cert=keys.seal_cert, attempt=1, final=False,
        )  # fmt: skip
    failures = [e for e in entries(rt, request_id) if e.event == "step_failed"]
    assert [(e.detail["step"], e.detail["attempt"], e.detail["final"]) for e in failures] == [
        ("render-review", 1, False)
    ]
    assert failures[0].detail["error"] == "RendererDown"

    assert run_review_render(
        rt.engine, rt.blobs, request_id, 1, render=working,
        seal_key=keys.seal_key, seal_cert=keys.seal_cert, attempt=2, final=False,
    )  # fmt: skip
    with transaction(rt.engine) as conn:
        assert rt.blobs.find(conn, request_id, REVIEWED_PDF, "v1.pdf") is not None
        assert rt.blobs.find(conn, request_id, REVIEWED_PACKAGE, "v1.p7m") is not None
    assert "rendered" in [e.event for e in entries(rt, request_id)]
