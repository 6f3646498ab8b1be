"""Never lose work: autosave of the compose form, the Drafts tab."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from gateway.domain.errors import Conflict
from gateway.persistence import authorities_store
from gateway.persistence.db import transaction
from gateway.services import ui_drafts
from gateway.services.ui_sessions import IDLE_TIMEOUT
from gateway.web.ui import forms, i18n, security, ui

# seconds before the idle sign-out at which the page warns (and offers to stay)
WARN_BEFORE_EXPIRY = 120


def _runtime() -> Any:
    return current_app.extensions["rogatory"]


def idle_timeout_seconds() -> int:
    session = security.current_session()
    stage = session.stage if session is not None else "full"
    return int(IDLE_TIMEOUT[stage].total_seconds())


def save_from_post(schema: Any, draft_id: str | None) -> str:
    """The posted compose form saved as this user's draft (complete or not)."""
    from gateway.web.ui.views_compose import posted_attachments

    form = forms.request_from_post(schema, request.form.to_dict(flat=False), g.authority_id)
    rt = _runtime()
    arguments = {
        "username": g.username,
        "authority_id": g.authority_id,
        "form": form,
        "attachments": posted_attachments(),
    }
    try:
        return ui_drafts.save(security.engine(), rt.blobs, draft_id=draft_id or None, **arguments)
    except Conflict:  # sent already, or saved elsewhere meanwhile: keep this as a new draft
        return ui_drafts.save(security.engine(), rt.blobs, **arguments)


@ui.post("/compose/<request_type>/autosave")
@security.signed_in
def compose_autosave(request_type: str) -> ResponseReturnValue:
    try:
        schema = forms.schema_of(request_type)
    except ValueError:
        abort(404)
    draft_id = save_from_post(schema, request.form.get("draft_id"))
    return jsonify(draft_id=draft_id, idle_timeout=idle_timeout_seconds())


@ui.get("/drafts")
@security.signed_in
def drafts_list() -> ResponseReturnValue:
    drafts = ui_drafts.unsent(security.engine(), _runtime().blobs, g.username)
    with transaction(security.engine()) as conn:
        names = {a.id: a.name for a in authorities_store.list_all(conn)}
    labels = i18n.labels()
    return render_template(
        "ui/drafts.html",
        drafts=drafts,
        names=names,
        type_title=lambda t: labels.form(t, "title"),
    )


def session_attributes() -> dict[str, str]:
    """data-* attributes the compose page's script reads (autosave, expiry warning)."""
    return {
        "data-idle-timeout": str(idle_timeout_seconds()),
        "data-warn-before": str(WARN_BEFORE_EXPIRY),
    }


def attachments_json(attachments: list[dict[str, Any]]) -> str:
    return json.dumps(attachments)


@ui.post("/requests/<request_id>/answer")
@security.signed_in
def answer_reply(request_id: str) -> ResponseReturnValue:
    """Answer the counterpart: a new draft to the same authority for the same case, starting
    from the original request, for the magistrate to complete and seal."""
    from flask import redirect, url_for

    from gateway.services import ui_requests

    rt = _runtime()
    original = ui_requests.get_request(security.engine(), g.authority_id, request_id)
    form = ui_requests.read_json_document(
        security.engine(), rt.blobs, g.authority_id, request_id, "form"
    )
    if form is None or original.request_type == ui_requests.REPLY_TYPE:
        abort(404)
    draft_id = ui_drafts.save(
        security.engine(),
        rt.blobs,
        username=g.username,
        authority_id=g.authority_id,
        form=form,
        attachments=[],
    )
    return redirect(
        url_for("ui.compose", request_type=original.request_type, draft=draft_id, answer=1)
    )
