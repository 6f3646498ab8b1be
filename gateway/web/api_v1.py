"""API v1 for magistrates' clients and counterparts (JSON, problem+json errors)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.runtime.container import Runtime
from gateway.services.evidences import Evidence
from gateway.services.intake import Accepted
from gateway.services.translation_engines import request_outlook, translation_outlook
from gateway.web import throttle
from gateway.web.app import runtime_of
from gateway.web.hardening import read_body
from gateway.web.problem import problem
from gateway.web.submitting import submit_sealed, upload_capability

api_v1 = Blueprint("api_v1", __name__, url_prefix="/api/v1")

CMS_TYPES = ("application/pkcs7-mime", "application/cms", "application/octet-stream")


@api_v1.get("/health")
def health() -> Response:
    return jsonify(status="ok")


@api_v1.post("/submissions")
def submit() -> Response | tuple[Response, int]:
    too_many = throttle.limited("intake")
    if too_many is not None:
        return too_many
    if request.mimetype not in CMS_TYPES:
        return problem(
            415, "unsupported-media-type", "send the CMS message as application/pkcs7-mime"
        )
    rt = runtime_of(current_app)
    accepted, receipt = submit_sealed(rt, read_body(), client=throttle.client_address())
    return accepted_response(rt, accepted, receipt)


def accepted_response(rt: Runtime, accepted: Accepted, receipt: Evidence) -> tuple[Response, int]:
    """The 202 answer to a submission (sealed or streamed)."""
    body: dict[str, object] = {
        "request_id": accepted.request_id,
        "message_id": accepted.message_id,
        "message_sha256": accepted.message_sha256,
        "outcome": "duplicate-already-accepted" if accepted.duplicate else "accepted",
    }
    body["receipt"] = receipt.to_json()
    if accepted.source_language is not None:  # a new request: no need to read it back
        outlook = translation_outlook(
            rt.settings, accepted.source_language, list(accepted.executing_languages)
        )
    else:
        outlook = request_outlook(rt.engine, rt.settings, accepted.request_id)
    body["translation"] = outlook.status
    body["warnings"] = [
        {"path": w.path, "code": w.code, "message": w.message} for w in accepted.warnings
    ]
    capability = upload_capability(rt, accepted)
    if capability is not None:  # PUT each large attachment with this Upload-Token header
        body["upload_token"] = capability.token
        body["upload_token_expires_at"] = capability.expires_at.isoformat()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 202
