"""API v1 for magistrates' clients and counterparts (JSON, problem+json errors)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.services.dispatch import flush_outbox
from gateway.services.evidences import Sealer, submission_receipt
from gateway.services.intake import accept_submission
from gateway.web.app import runtime_of
from gateway.web.problem import problem

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
    rt = runtime_of(current_app)
    data = request.get_data(cache=False)
    keys = rt.keys
    accepted = accept_submission(
        rt.engine,
        rt.blobs,
        rt.settings,
        data,
        recipient_keys=keys.intake,
        trust=keys.trust(
            allow_stale_crl=rt.settings.allow_stale_crl,
            max_skew_seconds=rt.settings.max_clock_skew_seconds,
        ),
    )
    try:
        flush_outbox(rt.engine, rt.sender)
    except Exception:  # the sweeper sends it later; the submission is safely stored
        current_app.logger.warning("outbox flush deferred", exc_info=True)
    sealer = Sealer(keys.seal_key, keys.seal_cert, rt.settings.gateway_id)
    body = {
        "request_id": accepted.request_id,
        "message_id": accepted.message_id,
        "message_sha256": accepted.message_sha256,
        "outcome": "duplicate-already-accepted" if accepted.duplicate else "accepted",
    }
    body["receipt"] = submission_receipt(rt.engine, accepted.request_id, sealer).to_json()
    return jsonify(body), 202
