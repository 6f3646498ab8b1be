"""Operations endpoints: `/health` (alive), `/ready` (dependencies), `/metrics` (Prometheus)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, json, jsonify, request

from gateway.runtime import metrics
from gateway.runtime.doctor import readiness
from gateway.web.app import runtime_of

ops = Blueprint("ops", __name__)

SUBMISSION_ENDPOINTS = frozenset({"api_v1.submit"})


@ops.get("/health")
def health() -> Response:
    """The process is alive (load balancers: restart when this fails)."""
    return jsonify(status="ok")


@ops.get("/ready")
def ready() -> tuple[Response, int]:
    """Database, broker, object store and keys usable (load balancers: route traffic here)."""
    checks = readiness(runtime_of(current_app).settings)
    ok = all(value == "ok" for value in checks.values())
    return jsonify(status="ready" if ok else "not-ready", checks=checks), 200 if ok else 503


@ops.get("/metrics")
def prometheus_metrics() -> Response:
    body, content_type = metrics.render(runtime_of(current_app))
    return Response(body, content_type=content_type)


@ops.after_app_request
def count_rejected_submissions(response: Response) -> Response:
    if request.endpoint in SUBMISSION_ENDPOINTS and response.status_code >= 400:
        code = "unknown"
        if response.mimetype == "application/problem+json":
            body = json.loads(response.get_data())
            code = str(body.get("code", code))[:64]
        metrics.REJECTED_SUBMISSIONS.labels(code).inc()
    return response
