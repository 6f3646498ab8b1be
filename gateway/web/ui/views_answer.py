"""The executing side in the browser: requests addressed to its authority, and its answers.

An answer is a reply of one of the kinds the law requires (gateway.domain.reply_kinds),
composed here, kept as a draft of this user, then sealed in her browser on the draft's seal
page (views_seal) and sent through the same intake and reply pipeline as any reply. The
refusal grounds are codes from the hand-kept catalogue, shown in the interface language.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext

from gateway.domain.errors import FieldProblem, NotFound
from gateway.domain.reply_kinds import (
    KINDS,
    ReplyNotApplicable,
    grounds_for,
    kinds_for,
    reply_fields,
    reply_problems,
)
from gateway.domain.request_types import REPLY
from gateway.persistence import authorities_store
from gateway.persistence.db import transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services import legal_workflow, ui_drafts, ui_inbox, ui_requests
from gateway.web.downloads import attachment_disposition
from gateway.web.ui import forms, i18n, security, ui, views_compose, views_follow

# What the date of each kind means (the field itself is sections.R.effective_date).
DATE_HINTS = {
    "postponement": lazy_gettext("The date by which you expect to execute (Art 15)."),
    "delay-notice": lazy_gettext("The new estimate: when you expect to decide or execute."),
    "eaw-consent": lazy_gettext("The day the person consented to surrender."),
    "eaw-no-consent": lazy_gettext("The day of the arrest (the 60 days run from it)."),
    "surrender-date": lazy_gettext("The agreed date of surrender."),
    "hearing-arrangement": lazy_gettext("The date of the hearing."),
    "hearing-outcome": lazy_gettext("The day the hearing took place."),
}
# Section K: who signs the answer (the authority's name and the date are filled in).
SIGNER_FIELDS = ("representative", "file_reference")


def _runtime() -> Any:
    return current_app.extensions["rogatory"]


def _mine() -> authorities_store.Authority:
    with transaction(security.engine()) as conn:
        return authorities_store.get(conn, g.authority_id)


@ui.get("/inbox")
@security.signed_in
def inbox_list() -> ResponseReturnValue:
    received = ui_inbox.inbox(security.engine(), g.authority_id)
    return render_template(
        "ui/inbox.html",
        received=received,
        names=views_follow.authority_names(),
        type_title=views_follow.type_title,
    )


@ui.get("/inbox/<request_id>")
@security.signed_in
def received_page(request_id: str) -> ResponseReturnValue:
    engine, blobs = security.engine(), _runtime().blobs
    row = ui_inbox.get_received(engine, g.authority_id, request_id)
    form = ui_inbox.read_json(engine, blobs, g.authority_id, request_id, "form") or {}
    translation = ui_inbox.read_json(engine, blobs, g.authority_id, request_id, "translation")
    sent = [
        {"request": reply, **views_follow.reply_facts(reply_form)}
        for reply, reply_form in ui_inbox.answers_sent(engine, blobs, g.authority_id, request_id)
    ]
    return render_template(
        "ui/received.html",
        request_row=row,
        form=form,
        names=views_follow.authority_names(),
        type_title=views_follow.type_title(row.request_type),
        documents=ui_inbox.documents(engine, blobs, g.authority_id, request_id),
        translation_fields=views_follow.translated_fields(translation),
        field_label=views_follow.field_label,
        translation_status=i18n.translation_status,
        clocks=views_follow.clocks(request_id),
        clock_text=lambda key: i18n.labels().text(key),
        answers=sent,
        final=row.state.value in ("rejected", "withdrawn"),
        answered=request.args.get("answered") == "1",
        received=True,
    )


@ui.get("/inbox/<request_id>/documents/<object_id>")
@security.signed_in
def received_document(request_id: str, object_id: str) -> ResponseReturnValue:
    stored, data = ui_inbox.read_document(
        security.engine(), _runtime().blobs, g.authority_id, request_id, object_id
    )
    # never rendered inline: an issuer's attachment must not run in the gateway's origin
    pdf = stored.media_type == "application/pdf"
    response = Response(data, mimetype="application/pdf" if pdf else "application/octet-stream")
    response.headers["Content-Disposition"] = attachment_disposition(stored.name)
    return response


@ui.route("/inbox/<request_id>/answer", methods=["GET", "POST"])
@security.signed_in
def answer_form(request_id: str) -> ResponseReturnValue:
    """Choose the kind of answer, then fill in what that kind needs; on success the answer
    is saved as a draft and the seal page opens."""
    engine, blobs = security.engine(), _runtime().blobs
    original = ui_inbox.get_received(engine, g.authority_id, request_id)
    original_form = ui_inbox.read_json(engine, blobs, g.authority_id, request_id, "form") or {}
    kinds = {k.code: k for k in kinds_for(original.request_type)}
    chosen = request.values.get("kind", "")
    if chosen and chosen not in kinds:
        abort(404)
    mine = _mine()
    draft_id = request.values.get("draft_id") or None
    problems: list[FieldProblem] = []
    if request.method == "POST" and chosen:
        post = request.form.to_dict(flat=False)
        posted = forms.request_from_post(REPLY, post, mine.id)["sections"]
        section_r = {key: posted.get("R", {})[key] for key in _carried(chosen, posted)}
        signer = posted.get("K", {})
        reply = ui_inbox.reply_form(
            original,
            original_form,
            mine,
            {"reply_kind": chosen, **section_r},
            language=request.form.get("language") or mine.working_language,
            representative=str(signer.get("representative", "")),
            today=datetime.now(UTC).date(),
        )
        if signer.get("file_reference"):
            reply["sections"]["K"]["file_reference"] = signer["file_reference"]
        problems = _problems(original, reply)
        if not problems:
            draft_id = ui_drafts.save(
                engine,
                blobs,
                username=g.username,
                authority_id=g.authority_id,
                form=reply,
                attachments=[],
                draft_id=_unsent(draft_id),
            )
            return redirect(url_for("ui.draft", draft_id=draft_id))
    elif request.args.get("draft"):
        reply = ui_requests.get_draft(engine, blobs, g.username, request.args["draft"]).form
        draft_id = request.args["draft"]
    else:
        reply = ui_inbox.reply_form(
            original,
            original_form,
            mine,
            {"reply_kind": chosen},
            language=mine.working_language,
            representative="",
            today=datetime.now(UTC).date(),
        )
    return _answer_page(original, original_form, kinds, chosen, reply, problems, draft_id)


def _carried(kind: str, posted: dict[str, Any]) -> list[str]:
    """The posted parts of section R that a reply of this kind carries."""
    return [key for key in reply_fields(KINDS[kind]) if key in posted.get("R", {})]


def _unsent(draft_id: str | None) -> str | None:
    """The draft to update: only an unsent draft of this user (else a new one)."""
    if not draft_id:
        return None
    try:
        found = ui_requests.get_draft(security.engine(), _runtime().blobs, g.username, draft_id)
    except NotFound:
        return None
    return None if found.request_id else draft_id


def _problems(original: RequestRow, reply: dict[str, Any]) -> list[FieldProblem]:
    """Schema errors, what the kind needs (refusal: at least one ground), and whether the
    request can still be answered."""
    section = reply["sections"]["R"]
    checked = forms.check(reply, executing_types=None, today=datetime.now(UTC).date())
    problems = list(checked.errors)
    problems += reply_problems(section, original.request_type, from_issuer=False)
    try:
        legal_workflow.check_reply_allowed(original, section)
    except ReplyNotApplicable:
        problems.append(FieldProblem("sections.R.reply_kind", "request-final", "final"))
    return problems


def _answer_page(
    original: RequestRow,
    original_form: dict[str, Any],
    kinds: dict[str, Any],
    chosen: str,
    reply: dict[str, Any],
    problems: list[FieldProblem],
    draft_id: str | None,
) -> ResponseReturnValue:
    labels = i18n.labels()
    by_path = forms.problems_by_path(problems)
    views = {v.key: v for v in forms.section_views(REPLY, reply, labels, by_path)}
    fields = []
    if chosen:
        wanted = reply_fields(KINDS[chosen])
        grounds = grounds_for(original.request_type)
        by_key = {view.name.rsplit(".", 1)[-1]: view for view in views["R"].entries[0]}
        for view in (by_key[key] for key in wanted):  # the kind's own parts first
            if view.name.endswith(".grounds"):
                view.options = [(c, m) for c, m in view.options if c in grounds]
                view.required = KINDS[chosen].needs_grounds
            if view.name.endswith(".effective_date"):
                view.required = KINDS[chosen].needs_date
            if view.name.endswith(".decision"):
                view.required = KINDS[chosen].needs_decision
            fields.append(view)
        fields += [v for v in views["K"].entries[0] if v.name.rsplit(".", 1)[-1] in SIGNER_FIELDS]
    summary = views_compose.summary_of(forms.Completeness(problems, []), labels, "reply")
    page = render_template(
        "ui/answer.html",
        request_row=original,
        form=original_form,
        names=views_follow.authority_names(),
        type_title=views_follow.type_title(original.request_type),
        kinds=[(code, labels.code_meaning("reply_kind", code)) for code in kinds],
        chosen=chosen,
        chosen_name=labels.code_meaning("reply_kind", chosen) if chosen else "",
        fields=fields,
        date_hint=DATE_HINTS.get(chosen),
        languages=forms.language_options(labels),
        language=reply.get("language", ""),
        summary=summary if problems else None,
        final=original.state.value in ("rejected", "withdrawn"),
        draft_id=draft_id or "",
    )
    return page, 422 if problems else 200
