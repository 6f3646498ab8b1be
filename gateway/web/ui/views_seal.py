"""Sealing in the browser: the page fetches what it must sign, posts back the sealed file.

The key, its file and its password stay in the browser (webseal/, built into
static/seal.bundle.js); the server only ever receives the AuthEnvelopedData.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from gateway.domain.errors import DomainError, NotFound
from gateway.services import ui_requests, ui_sealing
from gateway.services.intake import IntakeRefused
from gateway.web.submitting import submit_sealed, upload_capability
from gateway.web.throttle import client_address
from gateway.web.ui import i18n, security, ui

log = logging.getLogger(__name__)


def _runtime() -> Any:
    return current_app.extensions["rogatory"]


def mismatch_of(data: bytes, draft: ui_requests.Draft) -> ui_sealing.Mismatch | None:
    """Whether a sealed file is this draft's request (see services/ui_sealing.py)."""
    rt = _runtime()
    return ui_sealing.check_bound_to_draft(
        data,
        draft,
        recipient_keys=rt.keys.intake,
        trust=rt.trust(),
        allow_legacy_cbc=rt.settings.allow_legacy_cbc,
    )


def mismatch_text(mismatch: ui_sealing.Mismatch) -> str:
    """One sentence in the user's language saying what differs; nothing was sent."""
    if mismatch.code == ui_sealing.AttachmentsDiffer.code:
        return str(
            gettext(
                "The sealed file does not carry the attachments this draft announces "
                "(%(names)s). Nothing was sent: seal the draft again with exactly these files.",
                names=", ".join(mismatch.names),
            )
        )
    kind = mismatch.sealed_request_type
    try:
        kind = str(i18n.labels().form(kind, "title"))
    except DomainError:
        log.info("sealed file names an unknown request type", extra={"code": mismatch.code})
    return str(
        gettext(
            "This file was sealed for another request (%(kind)s, case reference "
            "%(reference)s), not for this draft. Nothing was sent.",
            kind=kind,
            reference=mismatch.sealed_case_reference or "-",
        )
    )


def _problem(status: int, code: str, detail: str) -> ResponseReturnValue:
    response = jsonify(type="about:blank", title=code, status=status, code=code, detail=detail)
    response.mimetype = "application/problem+json"
    return response, status


@ui.get("/drafts/<draft_id>/sealing.json")
@security.signed_in
def draft_sealing_info(draft_id: str) -> ResponseReturnValue:
    rt = _runtime()
    found = ui_requests.get_draft(security.engine(), rt.blobs, g.username, draft_id)
    info = ui_sealing.sealing_info(
        security.engine(),
        found,
        gateway_id=rt.settings.gateway_id,
        intake_certificate=rt.keys.intake[0].certificate,
    )
    return jsonify(info)


@ui.post("/drafts/<draft_id>/sealed")
@security.signed_in
def draft_sealed(draft_id: str) -> ResponseReturnValue:
    """The browser's sealed message (application/pkcs7-mime body, CSRF token in a header)."""
    rt = _runtime()
    found = ui_requests.get_draft(security.engine(), rt.blobs, g.username, draft_id)
    data = request.get_data(cache=False)
    if not data:
        return _problem(400, "empty", "the body is empty")
    mismatch = mismatch_of(data, found)
    if mismatch is not None:
        return _problem(409, mismatch.code, mismatch_text(mismatch))
    try:
        accepted, _receipt = submit_sealed(rt, data, client=client_address())
    except IntakeRefused as exc:
        return _problem(exc.status, exc.code, str(refusal_sentence(exc.code)))
    ui_requests.mark_submitted(security.engine(), draft_id, accepted.request_id)
    redirect = answered_url(found)
    if redirect is None:
        try:
            ui_requests.get_request(security.engine(), g.authority_id, accepted.request_id)
        except NotFound:
            return _problem(409, "other-authority", str(refusal_sentence("other-authority")))
        redirect = url_for("ui.request_page", request_id=accepted.request_id, submitted=1)
    answer: dict[str, str] = {
        "request_id": accepted.request_id,
        "message_id": accepted.message_id,
        "redirect": redirect,
    }
    capability = upload_capability(rt, accepted)
    if capability is not None:  # the page PUTs each large attachment with this token
        answer["upload_token"] = capability.token
    return jsonify(answer), 202


def answered_url(draft: ui_requests.Draft) -> str | None:
    """Where a sealed answer of the executing side leads: the request it answers (None for
    a request the user issues, which she follows on its own page)."""
    if draft.request_type != ui_requests.REPLY_TYPE:
        return None
    section = draft.form.get("sections", {}).get("R", {})
    return url_for("ui.received_page", request_id=str(section.get("in_reply_to")), answered=1)


def refusal_sentence(code: str) -> str:
    """The same sentences the upload page shows (templates/ui/_refusal.html)."""
    sentences = {
        "signature-invalid": gettext(
            "The signature was not accepted: the certificate you signed with is not "
            "registered for your authority."
        ),
        "untrusted-signer": gettext(
            "The signature was not accepted: the certificate you signed with is not "
            "registered for your authority."
        ),
        "signer-not-authorised": gettext(
            "The signature was not accepted: the certificate you signed with is not "
            "registered for your authority."
        ),
        "certificate-expired": gettext(
            "Your signing certificate has expired. Ask your administrator for a new one."
        ),
        "certificate-revoked": gettext(
            "Your signing certificate has been revoked. Ask your administrator for a new one."
        ),
        "stale": gettext("The file is too old. Seal the request again."),
        "other-authority": gettext(
            "The request was accepted, but it was issued in the name of another authority, "
            "so it is not listed here."
        ),
    }
    return str(sentences.get(code, gettext("The request was refused (%(code)s).", code=code)))
