"""PUT /api/v1/submissions/{message_id}/attachments/{name}: one large attachment, streamed.

The body is a CMS AuthEnvelopedData (AES-GCM, e.g. ``openssl cms -encrypt -stream
-binary -aes-256-gcm``) to the gateway's intake key, with the `Upload-Token` header
the submission's 202 returned. It is read from the WSGI input stream as it arrives,
never buffered; see gateway/services/attachments.py for why the signed manifest decides
what is kept.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.services.attachments import accept_attachment
from gateway.services.dispatch import flush_outbox
from gateway.web import throttle
from gateway.web.app import runtime_of
from gateway.web.hardening import body_stream
from gateway.web.problem import problem

api_attachments = Blueprint("api_attachments", __name__, url_prefix="/api/v1")

CMS_TYPES = ("application/pkcs7-mime", "application/cms", "application/octet-stream")
_ENVELOPE_OVERHEAD = 1024 * 1024  # recipient infos, BER segment headers, GCM tag
UPLOAD_TOKEN_HEADER = "Upload-Token"  # noqa: S105  (a header name)


@api_attachments.put("/submissions/<message_id>/attachments/<name>")
def upload_attachment(message_id: str, name: str) -> Response | tuple[Response, int]:
    too_many = throttle.limited("attachment")
    if too_many is not None:
        return too_many
    if request.mimetype not in CMS_TYPES:
        return problem(
            415, "unsupported-media-type", "send the attachment as application/pkcs7-mime"
        )
    rt = runtime_of(current_app)
    limit = rt.settings.max_attachment_bytes
    # BER segment headers add < 1/64 of the plaintext; beyond that it cannot be genuine.
    request.max_content_length = limit + limit // 64 + _ENVELOPE_OVERHEAD
    accepted = accept_attachment(
        rt.engine,
        rt.blobs,
        rt.settings,
        message_id,
        name,
        body_stream(),
        recipient_keys=rt.keys.intake,
        upload_token=request.headers.get(UPLOAD_TOKEN_HEADER),
        client=throttle.client_address(),
    )
    if not accepted.missing and not accepted.duplicate:
        try:
            flush_outbox(rt.engine, rt.sender)
        except Exception:  # the sweeper sends it later; the attachment is safely stored
            current_app.logger.warning("outbox flush deferred", exc_info=True)
    body = {
        "request_id": accepted.request_id,
        "name": accepted.name,
        "sha256": accepted.sha256,
        "size": accepted.size,
        "outcome": "duplicate-already-accepted" if accepted.duplicate else "accepted",
        "missing": list(accepted.missing),
    }
    return jsonify(body), 200 if accepted.duplicate else 201
