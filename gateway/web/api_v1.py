"""API v1 for magistrates' clients and counterparts (JSON, problem+json errors)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.web.app import runtime_of
from gateway.web.problem import problem
from gateway.web.submitting import submit_sealed

api_v1 = Blueprint("api_v1", __name__, url_prefix="/api/v1")

CMS_TYPES = ("application/pkcs7-mime", "application/cms", "application/octet-stream")


@api_v1.get("/health")
def health() -> Response:
    return jsonify(status="ok")


@api_v1.post("/submissions")
def submit() -> Response | tuple[Response, int]:
    if request.mimetype not in CMS_TYPES:
        return problem(
            415, "unsupported-media-type", "send the CMS message as application/pkcs7-mime"
        )
    accepted, receipt = submit_sealed(runtime_of(current_app), request.get_data(cache=False))
    body = {
        "request_id": accepted.request_id,
        "message_id": accepted.message_id,
        "message_sha256": accepted.message_sha256,
        "outcome": "duplicate-already-accepted" if accepted.duplicate else "accepted",
    }
    body["receipt"] = receipt.to_json()
    body["warnings"] = [
        {"path": w.path, "code": w.code, "message": w.message} for w in accepted.warnings
    ]
    return jsonify(body), 202
