"""Fill the print templates: Jinja2 with autoescape on, StrictUndefined, bundled files only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from gateway.domain import catalogues as cat
from gateway.domain.legal_clocks import Terms, planned_clocks
from gateway.services.document_view.text import short_text
from gateway.services.document_view.translation import TranslationIndex, index_translation
from gateway.services.document_view.view import (
    CodeView,
    Label,
    Labeller,
    annex_documents,
    request_schema,
    request_sections,
)
from workers.rendering.assets import TEMPLATE_DIR
from workers.rendering.cover import CoverInfo

_TEMPLATES = {
    "mla": "request_mla.html",
    "witness-examination": "request_witness_examination.html",
    "extradition": "request_extradition.html",
}
_CSS_SAFE = re.compile(r"[A-Za-z0-9 ]")


def _css_string(value: str) -> Markup:
    """A CSS string literal in which every character but letters, digits and space is escaped."""
    escaped = "".join(c if _CSS_SAFE.match(c) else f"\\{ord(c):06x}" for c in value)
    return Markup('"' + escaped + '"')  # noqa: S704 - only [A-Za-z0-9 ] and hex escapes remain


_ENV = Environment(
    loader=FileSystemLoader(str(TEMPLATE_DIR)),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
_ENV.filters["css_string"] = _css_string


@dataclass(frozen=True)
class CoverView:
    request_id: str
    case_reference: str
    issuing_authority: tuple[str, str]
    executing_authority: tuple[str, str]
    received_at: str
    message_sha256: str
    attachments: tuple[tuple[str, str], ...]
    audit_index: str | None
    source_language: CodeView
    target_language: CodeView
    translation_status: CodeView | None


def render_request_html(
    form: Mapping[str, Any],
    translation: Mapping[str, Any] | None,
    cover: CoverInfo,
    *,
    target_language: str,
) -> str:
    schema = request_schema(form)
    source_language = _language(form.get("language"))
    labels = Labeller(source_language, target_language)
    index = index_translation(
        translation,
        request_id=cover.request_id,
        source_language=source_language,
        target_language=target_language,
    )
    form_type = schema.request_type.value
    sections = request_sections(schema, form, labels, index)
    annex = annex_documents(labels, index)
    context = _common(form, cover, labels, index, form_type, target_language)
    context.update(sections=sections, annex=annex, review=_review(translation))
    return _ENV.get_template(_TEMPLATES[form_type]).render(context)


def _review(translation: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Issue 19: who signed off a reviewed version; its notice replaces the MT notice."""
    review = (translation or {}).get("review")
    if not isinstance(review, Mapping):
        return None
    return {k: short_text(str(review.get(k, "")), 300) for k in ("name", "authority", "date")}


def render_reply_html(
    reply: Mapping[str, Any],
    translation: Mapping[str, Any] | None,
    cover: CoverInfo,
    *,
    target_language: str,
) -> str:
    source_language = _language(reply.get("language"))
    labels = Labeller(source_language, target_language)
    index = index_translation(
        translation,
        request_id=cover.request_id,
        source_language=source_language,
        target_language=target_language,
    )
    body = index.count(index.pair("body", reply.get("body", "")))
    references = reply.get("references")
    annex = annex_documents(labels, index)
    context = _common(reply, cover, labels, index, "reply", target_language)
    context.update(
        kind=labels.code("reply_kind", reply.get("kind")),
        review=_review(translation),
        body=body,
        references=[
            short_text(r, 200) for r in (references if isinstance(references, list) else [])
        ],
        in_reply_to=short_text(reply.get("in_reply_to", ""), 200),
        decision=labels.code("reply_decision", reply["decision"])
        if reply.get("decision")
        else None,
        grounds=[labels.code("refusal_grounds", g) for g in _list_of(reply.get("grounds"))],
        effective_date=short_text(reply.get("effective_date") or "", 40),
        hearing_means=(
            labels.code("hearing_mode", reply["hearing_means"])
            if reply.get("hearing_means")
            else None
        ),
        annex=annex,
        translated=translation is not None,
    )
    return _ENV.get_template("reply.html").render(context)


def _common(
    document: Mapping[str, Any],
    cover: CoverInfo,
    labels: Labeller,
    index: TranslationIndex,
    form_type: str,
    target_language: str,
) -> dict[str, Any]:
    """What every template needs; builds the cover after the fields were paired and counted."""
    confidentiality = labels.code("confidentiality", document.get("confidentiality", "none"))
    received = cover.received_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    cover_view = CoverView(
        request_id=short_text(cover.request_id, 200),
        case_reference=short_text(document.get("case_reference", ""), 200),
        issuing_authority=(
            short_text(cover.issuing_authority_name, 300),
            short_text(document.get("issuing_authority", ""), 100),
        ),
        executing_authority=(
            short_text(cover.executing_authority_name, 300),
            short_text(document.get("executing_authority", ""), 100),
        ),
        received_at=received,
        message_sha256=short_text(cover.message_sha256, 64),
        attachments=tuple((short_text(n, 200), short_text(h, 64)) for n, h in cover.attachments),
        audit_index=None if cover.audit_index is None else str(cover.audit_index),
        source_language=labels.code("languages", index.source_language),
        target_language=labels.code("languages", target_language),
        translation_status=(
            None if index.status == "none" else labels.code("translation_status", index.status)
        ),
    )
    return {
        "lang": _language(target_language),
        "source_lang": index.source_language,
        "t": labels,
        "form_type": form_type,
        "title": labels.form(form_type, "title"),
        "legal_basis": labels.form(form_type, "legal_basis"),
        "preamble": labels.form(form_type, "preamble"),
        "confidentiality": confidentiality,
        "cover": cover_view,
        "provenance": index.provenance,
        "needing_review": index.needing_review,
        "failed": index.failed,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "Label": Label,
        "handling": [labels.code("handling", h) for h in _handling(document)],
        "legal_clocks": _planned_clocks(document, labels),
    }


def _list_of(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _handling(document: Mapping[str, Any]) -> list[str]:
    """The issuer's signed use restrictions (validated at intake; codes only)."""
    value = document.get("handling")
    return [h for h in value if h in cat.HANDLING_LABELS] if isinstance(value, list) else []


def _planned_clocks(document: Mapping[str, Any], labels: Labeller) -> list[dict[str, Any]]:
    """The time limits the law sets for this request, for the cover (not for replies).

    The PDF is made before the executing side retrieves the request: no clock has started,
    so a limit counted from an event says so ("starts on receipt") instead of a date.
    """
    sections = document.get("sections")
    b = sections.get("B") if isinstance(sections, dict) else None
    b = b if isinstance(b, dict) else {}
    try:
        deadline = date.fromisoformat(str(b["deadline"])) if b.get("deadline") else None
    except ValueError:
        deadline = None
    terms = Terms(str(document.get("request_type")), str(b.get("urgency", "normal")), deadline)
    return [
        {
            "name": labels.code("legal_clock", plan.key).meaning,
            "rule": plan.rule,
            # "Directive 2014/41/EU Art 16(1)": the article bold, its instrument under it
            "instrument": plan.rule.partition(" Art ")[0],
            "article": ("Art " + plan.rule.partition(" Art ")[2]) if " Art " in plan.rule else "",
            "period": _clock_phrase(labels, "clock_within", plan.counted_from, plan.days),
            "due": (
                Label(plan.due_on.isoformat(), None)
                if plan.due_on
                else _clock_phrase(labels, "clock_starts", plan.counted_from, None)
            ),
        }
        for plan in planned_clocks(terms)
    ]


def _clock_phrase(labels: Labeller, list_name: str, event: str | None, days: int | None) -> Label:
    """ "within 7 days of receipt" / "starts on receipt" in both languages; a dash if none."""
    if event is None:
        return Label("\u2014", None)
    meaning = labels.code(list_name, event).meaning
    count = str(days)
    return Label(
        meaning.target.replace("{days}", count),
        meaning.source.replace("{days}", count) if meaning.source else None,
    )


def _language(value: object) -> str:
    """An EU language code safe for `lang` attributes, or "und"."""
    return value if isinstance(value, str) and value in cat.LANGUAGES else "und"
