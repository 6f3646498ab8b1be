"""POST /api/v1/submissions/streamed: announcement, large attachments and the sealed
submission in one body, read once as it arrives (services/streamed_intake.py)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from gateway.domain.streamed_submission import CONTENT_TYPE
from gateway.services.streamed_intake import body_limit
from gateway.web import throttle
from gateway.web.api_v1 import accepted_response
from gateway.web.app import runtime_of
from gateway.web.problem import problem
from gateway.web.socket_body import socket_body
from gateway.web.submitting import submit_streamed

api_streamed = Blueprint("api_streamed", __name__, url_prefix="/api/v1")


@api_streamed.post("/submissions/streamed")
def submit() -> Response | tuple[Response, int]:
    too_many = throttle.limited("intake")
    if too_many is not None:
        return too_many
    if request.mimetype != CONTENT_TYPE:
        return problem(
            415, "unsupported-media-type", f"send the streamed submission as {CONTENT_TYPE}"
        )
    rt = runtime_of(current_app)
    # each part is bounded again by what the verified announcement declared
    request.max_content_length = body_limit(rt.settings)
    accepted, receipt = submit_streamed(rt, socket_body(), client=throttle.client_address())
    return accepted_response(rt, accepted, receipt)
