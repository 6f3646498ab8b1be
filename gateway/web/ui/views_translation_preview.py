"""Translation checked before sealing: the draft page's "Preview translation" (issue 20).

POST asks a worker for the preview (services/ui_translation_preview.py); without script
the browser is sent back to the draft page, which shows the preview's state and a link to
look again; with script (static/translation-preview.js) the page polls the JSON view,
which carries the same part of the page rendered on the server.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, g, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, lazy_gettext

from gateway.domain.errors import DomainError
from gateway.services import ui_translation_preview as previews
from gateway.services.dispatch import flush_outbox
from gateway.services.ui_translation_preview import Preview
from gateway.translation.result import SegmentResult
from gateway.web.ui import i18n, security, ui

log = logging.getLogger(__name__)

# Why a preview (or one field of it) was not translated, in words.
FAILURE_TEXT = {
    "engine-timeout": lazy_gettext("the translation engine took too long"),
    "engine-unavailable": lazy_gettext("the translation engine is not available"),
    "unsupported-pair": lazy_gettext("no translation engine serves this language pair"),
    "draft-incomplete": lazy_gettext("the draft has no request language or no recipient yet"),
    "no-machine-translation": lazy_gettext(
        "the request carries the label “no machine translation”"
    ),
    "empty-output": lazy_gettext("the translation engine returned nothing"),
}
DEFAULT_FAILURE = lazy_gettext("the translation engine failed")


def _runtime() -> Any:
    return current_app.extensions["rogatory"]


@ui.post("/drafts/<draft_id>/translation-preview")
@security.signed_in
def translation_preview_request(draft_id: str) -> ResponseReturnValue:
    rt = _runtime()
    found = previews.request_preview(security.engine(), rt.blobs, rt.settings, g.username, draft_id)
    if found.state == "pending":
        try:  # the task is in the outbox already: the beat's flush sends it if this fails
            flush_outbox(security.engine(), rt.sender)
        except Exception:
            log.warning("outbox flush deferred", exc_info=True)
    if _wants_json():
        return _json(draft_id, found)
    return redirect(url_for("ui.draft", draft_id=draft_id, _anchor="translation-preview"))


@ui.get("/drafts/<draft_id>/translation-preview.json")
@security.signed_in
def translation_preview_status(draft_id: str) -> ResponseReturnValue:
    return _json(draft_id, _latest(draft_id))


def preview_context(draft_id: str) -> dict[str, Any]:
    """What the draft page's preview part needs (the same as the JSON view's `html`)."""
    return _context(draft_id, _latest(draft_id))


def _latest(draft_id: str) -> Preview:
    rt = _runtime()
    return previews.latest_preview(security.engine(), rt.blobs, rt.settings, g.username, draft_id)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _json(draft_id: str, found: Preview) -> ResponseReturnValue:
    html = render_template("ui/_translation_preview.html", **_context(draft_id, found))
    response = jsonify(state=found.state, final=found.final, html=html)
    response.headers["Cache-Control"] = "no-store"
    return response


def _context(draft_id: str, found: Preview) -> dict[str, Any]:
    labels = i18n.labels()

    def language(code: str) -> str:
        try:
            return labels.code_meaning("languages", code)
        except DomainError:
            return code

    return {
        "draft_id": draft_id,
        "tp": found,
        "tp_source": language(found.source_language),
        "tp_target": language(found.target_language),
        "tp_fields": [_field(index, segment) for index, segment in enumerate(found.fields)],
        "tp_failure": failure_text(found.failure_code),
        "tp_expires": found.expires_at.strftime("%H:%M UTC") if found.expires_at else "",
    }


def _field(index: int, segment: SegmentResult) -> dict[str, Any]:
    provenance = segment.provenance
    notes = flag_notes(segment)
    return {
        "index": index,
        "label": _field_label(segment.path),
        "source": segment.source,
        "target": segment.target,
        "status": segment.status,
        "status_text": i18n.translation_status(segment.status),
        "engine": provenance.engine,
        "model": provenance.model or provenance.engine,
        "notes": notes,
        "info": info_notes(segment),
        "attention": bool(notes) or segment.status != "translated",
    }


def flag_notes(segment: SegmentResult) -> list[str]:
    """What the output guard and the engine found, in words (never a technical code): what
    the magistrate should look at before signing."""
    notes: list[str] = []
    if segment.status == "failed":
        notes.append(
            gettext("Not translated: %(reason)s.", reason=failure_text(segment.flags[0]))
            if segment.flags
            else str(DEFAULT_FAILURE)
        )
    if segment.missing:
        notes.append(
            gettext(
                "Names, numbers or references not found unchanged in the translation: %(items)s.",
                items=", ".join(segment.missing),
            )
        )
    if segment.unknown_words:
        notes.append(
            gettext(
                "Words the engine does not know (left as you wrote them): %(words)s.",
                words=", ".join(segment.unknown_words),
            )
        )
    untranslated = [w for w in segment.untranslated if w not in segment.unknown_words]
    if untranslated:  # an unknown word is named once, above
        notes.append(gettext("Words left untranslated: %(words)s.", words=", ".join(untranslated)))
    if "placeholders-lost" in segment.flags:
        notes.append(
            gettext(
                "Names and references could not be kept apart from this text: check them "
                "in the translation."
            )
        )
    return notes


def info_notes(segment: SegmentResult) -> list[str]:
    """How the translation was made, where it matters to the reader (not a problem)."""
    notes = []
    if "glossary" in segment.flags:
        notes.append(gettext("Terms of the agreed glossary were used."))
    if "pivot" in segment.flags:
        notes.append(gettext("Translated by way of English."))
    return notes


def failure_text(code: str | None) -> str:
    if not code:
        return ""
    return str(FAILURE_TEXT.get(code, DEFAULT_FAILURE))


def _field_label(path: str) -> str:
    key = path.rsplit(".", 1)[-1]
    try:
        return i18n.labels().field_label(key)
    except DomainError:
        return key.replace("_", " ")
