"""Compose a request, download its JSON, upload the file sealed on the magistrate's side."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from flask import Response, abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage

from gateway.domain.errors import DomainError, FieldProblem, NotFound
from gateway.domain.request_types import RequestType
from gateway.persistence import authorities_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.db import transaction
from gateway.services import ui_language_pairs, ui_requests
from gateway.services.intake import IntakeRefused
from gateway.web.submitting import submit_sealed
from gateway.web.throttle import client_address
from gateway.web.ui import (
    forms,
    i18n,
    preview,
    security,
    ui,
    views_drafts,
    views_seal,
    views_translation_preview,
)

MAX_ATTACHMENTS = 20
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _runtime() -> Any:
    return current_app.extensions["rogatory"]


def _authorities() -> tuple[Authority, list[Authority]]:
    with transaction(security.engine()) as conn:
        everyone = [a for a in authorities_store.list_all(conn) if a.enabled]
        mine = authorities_store.get(conn, g.authority_id)
    return mine, [a for a in everyone if a.id != mine.id]


@ui.get("/compose")
@security.signed_in
def compose_choose() -> ResponseReturnValue:
    labels = i18n.labels()
    types = [
        (t.value, labels.form(t.value, "title"), labels.form(t.value, "legal_basis"))
        for t in forms.COMPOSABLE
    ]
    return render_template("ui/compose_choose.html", types=types)


@ui.route("/compose/<request_type>", methods=["GET", "POST"])
@security.signed_in
def compose(request_type: str) -> ResponseReturnValue:
    try:
        schema = forms.schema_of(request_type)
    except ValueError:
        abort(404)
    mine, others = _authorities()
    extra: dict[str, int] = {}
    draft_id: str | None = None
    completeness: forms.Completeness | None = None
    attachments: list[dict[str, Any]] = []
    if request.method == "POST":
        post = request.form.to_dict(flat=False)
        form = forms.request_from_post(schema, post, mine.id)
        attachments = posted_attachments()
        action = request.form.get("action", "check")
        draft_id = request.form.get("draft_id") or None
        if action.startswith("add-"):
            extra[action.removeprefix("add-")] = 1
        else:
            completeness = _check(form, others)
            if action == "continue" and completeness.ok:
                draft_id = views_drafts.save_from_post(schema, draft_id)
                return redirect(url_for("ui.draft", draft_id=draft_id))
    elif request.args.get("draft"):
        draft = ui_requests.get_draft(
            security.engine(), _runtime().blobs, g.username, request.args["draft"]
        )
        form, attachments = draft.form, draft.attachments
        draft_id = None if draft.request_id else draft.id
    else:
        form = _starting_form(schema.request_type, mine)
    return _compose_page(
        schema, form, mine, others, completeness, extra, attachments, draft_id=draft_id
    )


def posted_attachments() -> list[dict[str, Any]]:
    """Attachments announced so far (manifest) plus files chosen in this post."""
    found = _attachments(request.form.get("attachment_manifest", ""))
    found += _new_attachments(request.files.getlist("attachments"))
    return found[:MAX_ATTACHMENTS]


def _compose_page(
    schema: Any,
    form: dict[str, Any],
    mine: Authority,
    others: list[Authority],
    completeness: forms.Completeness | None,
    extra: dict[str, int],
    attachments: list[dict[str, Any]],
    *,
    draft_id: str | None = None,
) -> ResponseReturnValue:
    labels = i18n.labels()
    problems = forms.problems_by_path(completeness.errors if completeness else [])
    problems.update(forms.problems_by_path(completeness.warnings if completeness else []))
    summary = summary_of(completeness, labels, schema.request_type.value) if completeness else None
    page = render_template(
        "ui/compose.html",
        schema=schema,
        title=labels.form(schema.request_type.value, "title"),
        legal_basis=labels.form(schema.request_type.value, "legal_basis"),
        form=form,
        mine=mine,
        others=others,
        sections=forms.section_views(schema, form, labels, problems, extra_entries=extra),
        languages=forms.language_options(labels),
        confidentiality=forms.confidentiality_options(labels),
        handling=forms.handling_options(labels),
        handling_legend=labels.text("handling"),
        problems=problems,
        summary=summary,
        completeness=completeness,
        attachments=attachments,
        attachment_manifest=json.dumps(attachments),
        draft_id=draft_id or "",
        session_attributes=views_drafts.session_attributes(),
    )
    status = 422 if completeness is not None and not completeness.ok else 200
    return page, status


def _starting_form(request_type: RequestType, mine: Authority) -> dict[str, Any]:
    """Prefill what the gateway already knows: issuing State, authority, today's date."""
    section_k = "i" if request_type is RequestType.EXTRADITION else "K"
    sections: dict[str, Any] = {
        section_k: {
            "authority_name": mine.name,
            "representative": "",
            "signed_on": date.today().isoformat(),
        }
    }
    if request_type is not RequestType.EXTRADITION:
        sections["A"] = {"issuing_state": mine.country}
    return {
        "language": i18n.locale_code(),
        "confidentiality": "confidential",
        "sections": sections,
    }


def _check(form: dict[str, Any], others: list[Authority]) -> forms.Completeness:
    target = next((a for a in others if a.id == form.get("executing_authority")), None)
    executing_state = form.get("sections", {}).get("A")
    if target is not None and isinstance(executing_state, dict):
        executing_state.setdefault("executing_state", target.country)
    types = target.request_types if target is not None else None
    checked = forms.check(form, executing_types=types, today=datetime.now(UTC).date())
    if target is not None and not _pair_status(form, target).served:
        checked.warnings.append(
            FieldProblem("language", "pair-not-served", "no engine serves this language pair")
        )
    return checked


def _pair_status(form: dict[str, Any], target: Authority) -> ui_language_pairs.PairStatus:
    source = str(form.get("language") or "")
    return ui_language_pairs.pair_status(_runtime().settings, source, target.working_language)


def summary_of(
    completeness: forms.Completeness, labels: Any, request_type: str = ""
) -> dict[str, list[dict[str, str]]]:
    def item(problem: FieldProblem) -> dict[str, str]:
        field_key = problem.path.rsplit(".", 1)[-1]
        text = i18n.SPECIFIC_PROMPTS.get(field_key) if problem.code == "required" else None
        try:
            label = labels.field_label(field_key)
        except DomainError:
            label = _header_label(problem.path, labels, request_type)
        return {
            "anchor": _anchor(problem.path),
            "label": label,
            "text": str(text or i18n.problem_text(problem.code)),
        }

    return {
        "errors": [item(p) for p in completeness.errors],
        "warnings": [item(p) for p in completeness.warnings],
    }


def _header_label(path: str, labels: Any, request_type: str = "") -> str:
    """A problem's place in words: the section's title, never its bare letter."""
    if path.startswith("sections."):
        section = path.split(".")[1].split("[")[0]
        try:
            return str(labels.section_title(request_type, section))
        except DomainError:
            return str(labels.ui.get("section", "")) + " " + section
    return str(labels.ui.get(path, path.replace("_", " ")))


def _anchor(path: str) -> str:
    """The id of the input (or section) a problem path points at."""
    if not path.startswith("sections."):
        return "f-" + path
    parts = path.split(".")
    section, _, index = parts[1].partition("[")
    number = index.rstrip("]") or "0"
    if len(parts) == 2:
        return f"sec-{section}"
    return f"f-s-{section}-{number}-{parts[2]}"


def _attachments(raw: str) -> list[dict[str, Any]]:
    try:
        items = json.loads(raw) if raw else []
    except ValueError:
        return []
    good = []
    for entry in items if isinstance(items, list) else []:
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("size"), int)
            and re.fullmatch(r"[0-9a-f]{64}", str(entry.get("sha256")))
        ):
            good.append(
                {
                    "name": _SAFE_NAME.sub("_", entry["name"])[:120],
                    "size": entry["size"],
                    "sha256": entry["sha256"],
                }
            )
    return good[:MAX_ATTACHMENTS]


def _new_attachments(files: list[FileStorage]) -> list[dict[str, Any]]:
    """Name, size and hash of each chosen file; the bytes are not kept on the server."""
    found = []
    for upload in files:
        if not upload.filename:
            continue
        digest, size = hashlib.sha256(), 0
        while chunk := upload.stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        name = _SAFE_NAME.sub("_", upload.filename.rsplit("/", 1)[-1])[:120]
        found.append({"name": name, "size": size, "sha256": digest.hexdigest()})
    return found


# --- draft: download, seal, upload -------------------------------------------------------


@ui.get("/drafts/<draft_id>")
@security.signed_in
def draft(draft_id: str) -> ResponseReturnValue:
    return _draft_page(draft_id)


def _draft_page(
    draft_id: str, refusal: str | None = None, status: int = 200, mismatch: str | None = None
) -> ResponseReturnValue:
    found = ui_requests.get_draft(security.engine(), _runtime().blobs, g.username, draft_id)
    labels = i18n.labels()
    with transaction(security.engine()) as conn:
        target = authorities_store.get(conn, found.form["executing_authority"])
    completeness = forms.check(found.form, executing_types=None, today=datetime.now(UTC).date())
    back = url_for("ui.compose", request_type=found.request_type, draft=found.id)
    is_answer = found.request_type == ui_requests.REPLY_TYPE
    if is_answer:
        section = found.form["sections"]["R"]
        back = url_for(
            "ui.answer_form",
            request_id=section["in_reply_to"],
            kind=section["reply_kind"],
            draft=found.id,
        )
    return render_template(
        "ui/draft.html",
        draft=found,
        back_url=back,
        is_answer=is_answer,
        title=labels.form(found.request_type, "title"),
        target=target,
        file_name=_json_name(found.form),
        sealed_name=_json_name(found.form).removesuffix(".json") + ".p7m",
        pair=_pair_status(found.form, target),
        target_language=labels.code_meaning("languages", target.working_language),
        preview=preview.preview(found.form),
        language_name=labels.code_meaning("languages", str(found.form.get("language"))),
        mismatch=mismatch,
        summary=summary_of(completeness, labels, found.request_type),
        gateway_id=_runtime().settings.gateway_id,
        refusal=refusal,
        **views_translation_preview.preview_context(draft_id),
    ), status


def _json_name(form: dict[str, Any]) -> str:
    return "request-" + _SAFE_NAME.sub("_", str(form.get("case_reference", "draft"))) + ".json"


@ui.get("/drafts/<draft_id>/request.json")
@security.signed_in
def draft_json(draft_id: str) -> ResponseReturnValue:
    found = ui_requests.get_draft(security.engine(), _runtime().blobs, g.username, draft_id)
    body = json.dumps(found.form, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    response = Response(body.encode("utf-8"), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{_json_name(found.form)}"'
    return response


@ui.get("/gateway-intake.pem")
@security.signed_in
def gateway_certificate() -> ResponseReturnValue:
    """The gateway's public intake certificate: what `client seal --gateway-cert` needs."""
    cert = _runtime().keys.intake[0].certificate
    response = Response(cert.public_bytes(serialization.Encoding.PEM), mimetype="text/plain")
    response.headers["Content-Disposition"] = 'attachment; filename="gateway-intake.pem"'
    return response


@ui.post("/drafts/<draft_id>/upload")
@security.signed_in
def draft_upload(draft_id: str) -> ResponseReturnValue:
    found = ui_requests.get_draft(security.engine(), _runtime().blobs, g.username, draft_id)
    sealed = request.files.get("sealed")
    data = sealed.read() if sealed is not None else b""
    if not data:
        return _draft_page(draft_id, refusal="empty", status=400)
    wrong = views_seal.mismatch_of(data, found)
    if wrong is not None:
        return _draft_page(draft_id, status=409, mismatch=views_seal.mismatch_text(wrong))
    try:
        request_id = _submit(data)
    except IntakeRefused as exc:
        return _draft_page(draft_id, refusal=exc.code, status=exc.status)
    ui_requests.mark_submitted(security.engine(), draft_id, request_id)
    answered = views_seal.answered_url(found)
    if answered is not None:
        return redirect(answered)
    differs = not ui_requests.submitted_form_matches(
        security.engine(), _runtime().blobs, request_id, found
    )
    return _after_submit(request_id, differs=differs)


@ui.route("/upload", methods=["GET", "POST"])
@security.signed_in
def upload() -> ResponseReturnValue:
    """Upload a request sealed elsewhere (composed with another tool)."""
    refusal = None
    if request.method == "POST":
        sealed = request.files.get("sealed")
        data = sealed.read() if sealed is not None else b""
        if data:
            try:
                return _after_submit(_submit(data), differs=False)
            except IntakeRefused as exc:
                refusal = exc.code
        else:
            refusal = "empty"
    status = 400 if refusal else 200
    return render_template("ui/upload.html", refusal=refusal), status


def _submit(data: bytes) -> str:
    """The same intake as POST /api/v1/submissions; returns the request id."""
    accepted, _receipt = submit_sealed(_runtime(), data, client=client_address())
    return accepted.request_id


def _after_submit(request_id: str, *, differs: bool) -> ResponseReturnValue:
    try:
        ui_requests.get_request(security.engine(), g.authority_id, request_id)
    except NotFound:
        # accepted, but issued in another authority's name: not this user's to follow
        return render_template("ui/upload.html", refusal="other-authority"), 409
    args: dict[str, Any] = {"submitted": 1}
    if differs:
        args["differs"] = 1
    return redirect(url_for("ui.request_page", request_id=request_id, **args))
