"""Follow requests: the authority's list, a request's page, progress JSON, downloads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from gateway.domain.errors import DomainError
from gateway.domain.labels import LabelCatalogue
from gateway.domain.states import State, is_terminal
from gateway.domain.translation_notes import flag_notes
from gateway.persistence import authorities_store
from gateway.persistence.db import transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services import legal_clocks, ui_drafts, ui_listing, ui_requests
from gateway.web.downloads import attachment_disposition
from gateway.web.ui import i18n, security, ui

# States in which a worker is still busy with the request: the page keeps polling.
WORKING = frozenset({State.RECEIVED, State.VERIFIED, State.TRANSLATING, State.TRANSLATED})
STEPS = (
    State.RECEIVED,
    State.TRANSLATING,
    State.RENDERED,
    State.AVAILABLE,
    State.RETRIEVED,
    State.ACKNOWLEDGED,
)
_STEP_RANK = {
    State.RECEIVED: 0,
    State.VERIFIED: 0,
    State.TRANSLATING: 1,
    State.TRANSLATED: 1,
    State.RENDERED: 2,
    State.AVAILABLE: 3,
    State.RETRIEVED: 4,
    State.ACKNOWLEDGED: 5,
}


def _runtime() -> Any:
    return current_app.extensions["rogatory"]


def authority_names() -> dict[str, str]:
    with transaction(security.engine()) as conn:
        return {a.id: a.name for a in authorities_store.list_all(conn)}


@ui.get("/requests")
@security.signed_in
def requests_list() -> ResponseReturnValue:
    names = authority_names()
    listed = ui_listing.overview(security.engine(), _runtime().blobs, g.authority_id, g.username)
    search = {
        "text": request.args.get("q", "")[:200],
        "state": request.args.get("state", ""),
        "request_type": request.args.get("type", ""),
    }
    shown = [item for item in listed if ui_listing.matches(item, names=names, **search)]
    today = datetime.now(UTC).date()
    return render_template(
        "ui/requests.html",
        listed=shown,
        total=len(listed),
        search=search,
        states=[(s.value, i18n.state_name(s.value)) for s in State],
        types=sorted({item.summary.request.request_type for item in listed}),
        new_replies=sum(1 for item in listed if item.new_replies),
        summaries=[item.summary for item in shown],
        names=names,
        today=today,
        type_title=type_title,
        drafts=ui_drafts.recent(security.engine(), _runtime().blobs, g.username),
    )


def _reply_kind(form: dict[str, Any] | None) -> tuple[str, str]:
    """(code, meaning in the user's language) of a reply's kind."""
    section = (form or {}).get("sections", {}).get("R", {})
    code = str(section.get("reply_kind", "")) if isinstance(section, dict) else ""
    try:
        return code, i18n.labels().code_meaning("reply_kind", code)
    except DomainError:
        return code, code or "?"


def reply_facts(form: dict[str, Any] | None) -> dict[str, Any]:
    """A reply's kind, decision, date and grounds in the user's language, from the
    hand-kept label catalogue (the signed codes are never machine-translated)."""
    section = (form or {}).get("sections", {}).get("R", {})
    section = section if isinstance(section, dict) else {}
    grounds = section.get("grounds") if isinstance(section.get("grounds"), list) else []
    decision = section.get("decision")
    return {
        "kind": _reply_kind(form),
        "decision": legal_code("reply_decision", decision) if decision else "",
        "effective_date": str(section.get("effective_date") or ""),
        "grounds": [(str(code), legal_code("refusal_grounds", code)) for code in grounds],
    }


def type_title(request_type: str) -> str:
    return i18n.labels().form(request_type, "title")


@ui.get("/requests/<request_id>")
@security.signed_in
def request_page(request_id: str) -> ResponseReturnValue:
    engine, blobs = security.engine(), _runtime().blobs
    row = ui_requests.get_request(engine, g.authority_id, request_id)
    documents = ui_requests.documents(engine, blobs, g.authority_id, request_id)
    translation = ui_requests.read_json_document(
        engine, blobs, g.authority_id, request_id, "translation"
    )
    form = ui_requests.read_json_document(engine, blobs, g.authority_id, request_id, "form")
    replies = []
    for reply in ui_requests.replies(engine, g.authority_id, request_id):
        reply_form = ui_requests.read_json_document(engine, blobs, g.authority_id, reply.id, "form")
        replies.append(
            {
                "request": reply,
                **reply_facts(reply_form),
                "documents": ui_requests.documents(engine, blobs, g.authority_id, reply.id),
                "translation": ui_requests.read_json_document(
                    engine, blobs, g.authority_id, reply.id, "translation"
                ),
            }
        )
    ui_listing.mark_replies_seen(engine, g.username, request_id)
    return render_template(
        "ui/request.html",
        request_row=row,
        form=form or {},
        names=authority_names(),
        timeline=ui_requests.timeline(engine, g.authority_id, request_id),
        receipts=ui_requests.receipts(engine, g.authority_id, request_id),
        documents=documents,
        translation_fields=translated_fields(translation),
        replies=replies,
        progress=_progress(row),
        steps=_steps(row),
        type_title=type_title(row.request_type),
        clocks=clocks(request_id),
        clock_text=lambda key: i18n.labels().text(key),
        legal_code=legal_code,
        submitted=request.args.get("submitted") == "1",
        differs=request.args.get("differs") == "1",
        field_label=field_label,
        translation_status=i18n.translation_status,
        failed_step_text=i18n.failed_step_text,
    )


def clocks(request_id: str) -> list[dict[str, Any]]:
    """Legal clocks for the page, named from the hand-kept label catalogue."""
    today = datetime.now(UTC).date()
    labels = i18n.labels()
    return [
        legal_clocks.clock_json(clock, today)
        | {"name": labels.code_meaning("legal_clock", clock.key)}
        for clock in legal_clocks.request_clocks(security.engine(), request_id)
    ]


def legal_code(list_name: str, code: object) -> str:
    labels = i18n.labels()
    value = str(code)
    return labels.code_meaning(list_name, value) if labels.has_code(list_name, value) else value


def field_label(path: str) -> str:
    key = path.rsplit(".", 1)[-1]
    try:
        return i18n.labels().field_label(key)
    except Exception:  # a path of an attachment segment or an unknown field
        return key.replace("_", " ")


def translated_fields(
    translation: dict[str, Any] | None, catalogue: LabelCatalogue | None = None
) -> list[dict[str, Any]]:
    if not translation:
        return []
    catalogue = catalogue or i18n.labels()
    return [
        {
            "path": item.get("path", ""),
            "source": item.get("source", ""),
            "target": item.get("target") or "",
            "status": item.get("status", ""),
            # what the output guard found: missing items, untranslated and unknown words
            "notes": flag_notes(
                [
                    str(flag)
                    for flag in item.get("flags", [])
                    if str(flag).startswith(("missing:", "untranslated words:", "unknown words:"))
                    or flag in ("no-engine-for-pair", "engine-error", "engine-timeout")
                ],
                catalogue,
            ),
        }
        for item in translation.get("fields", [])
        if isinstance(item, dict)
    ]


def _progress(row: RequestRow) -> dict[str, Any]:
    working = row.state in WORKING
    percent = None
    if row.progress_total > 0:
        percent = min(100, round(100 * row.progress_done / row.progress_total))
    return {
        "state": row.state.value,
        "state_name": i18n.state_name(row.state.value),
        "working": working,
        "done": row.progress_done,
        "total": row.progress_total,
        "percent": percent,
        "terminal": is_terminal(row.state),
    }


def _steps(row: RequestRow) -> list[dict[str, Any]]:
    rank = _STEP_RANK.get(row.state, -1)
    if row.state is State.ACKNOWLEDGED:
        rank = len(STEPS)  # the last step is done, not in progress
    return [
        {
            "name": i18n.state_name(step.value),
            "status": "done" if index < rank else ("current" if index == rank else "todo"),
        }
        for index, step in enumerate(STEPS)
    ]


@ui.get("/requests/<request_id>/status.json")
@security.signed_in
def request_status(request_id: str) -> ResponseReturnValue:
    row = ui_requests.get_request(security.engine(), g.authority_id, request_id)
    body = _progress(row)
    body["steps"] = _steps(row)
    return jsonify(body)


@ui.get("/requests/<request_id>/receipts/<int:evidence_id>")
@security.signed_in
def receipt_download(request_id: str, evidence_id: int) -> ResponseReturnValue:
    row = ui_requests.receipt(security.engine(), g.authority_id, request_id, evidence_id)
    response = Response(row.body, mimetype="application/pkcs7-mime")
    name = f"receipt-{row.kind}-{request_id[:8]}.p7s"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@ui.get("/requests/<request_id>/documents/<object_id>")
@security.signed_in
def document_download(request_id: str, object_id: str) -> ResponseReturnValue:
    stored, data = ui_requests.read_document(
        security.engine(), _runtime().blobs, g.authority_id, request_id, object_id
    )
    # never rendered inline: an uploaded attachment must not run in the gateway's origin
    response = Response(data, mimetype="application/octet-stream")
    if stored.media_type == "application/pdf":
        response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = attachment_disposition(stored.name)
    return response
