"""Turn a request form, a reply and their translation into what the print templates show.

Labels come only from the hand-kept catalogues (gateway.domain.labels); only values of
kind FREE_TEXT are paired with machine translation. Everything else is shown once.
The same sections feed the "what you sign" preview (gateway.web.ui.preview), drawn by the
same partial (templates/_document.html), so the preview and the PDF cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.domain import catalogues as cat
from gateway.domain.fields import FieldKind, FieldSpec, SectionSpec
from gateway.domain.labels import LabelCatalogue, catalogue_for, code_list_name
from gateway.domain.request_types import SCHEMAS, RequestSchema, RequestType
from gateway.domain.translation_notes import flag_note
from gateway.services.document_view.errors import RenderError
from gateway.services.document_view.text import short_text
from gateway.services.document_view.translation import Bilingual, TranslationIndex, pair_segment

_PLAIN_MONO = frozenset({FieldKind.IDENTIFIER, FieldKind.CONTACT})
_MAX_CODES_SHOWN = 64


@dataclass(frozen=True)
class Label:
    """A label in the target language with the source-language label (None if same)."""

    target: str
    source: str | None


@dataclass(frozen=True)
class CodeView:
    code: str
    meaning: Label
    known: bool
    checked: bool = True


@dataclass(frozen=True)
class FieldView:
    key: str
    label: Label
    kind: str  # "text" | "plain" | "mono" | "meaning" | "codes" | "checklist"
    value: str = ""
    meaning: Label | None = None
    codes: tuple[CodeView, ...] = ()
    text: Bilingual | None = None


@dataclass(frozen=True)
class EntryView:
    number: int | None
    fields: tuple[FieldView, ...]


@dataclass(frozen=True)
class SectionView:
    key: str
    title: Label
    entries: tuple[EntryView, ...]


@dataclass(frozen=True)
class DocumentView:
    name: str
    media_type: str
    sha256: str
    status: Label
    translated: bool
    reason: str
    paragraphs: tuple[Bilingual, ...]


class Labeller:
    """Looks labels up in the target catalogue and, when it differs, the source one."""

    def __init__(self, source_language: str, target_language: str) -> None:
        self.target: LabelCatalogue = catalogue_for(target_language)
        source = catalogue_for(source_language)
        self.source: LabelCatalogue | None = (
            None if source.language == self.target.language else source
        )

    def ui(self, key: str) -> Label:
        return Label(self.target.text(key), self.source.text(key) if self.source else None)

    def form(self, request_type: str, key: str) -> Label:
        source = self.source.form(request_type, key) if self.source else None
        return Label(self.target.form(request_type, key), source)

    def section(self, request_type: str, key: str) -> Label:
        source = self.source.section_title(request_type, key) if self.source else None
        return Label(self.target.section_title(request_type, key), source)

    def field(self, key: str) -> Label:
        return Label(
            self.target.field_label(key), self.source.field_label(key) if self.source else None
        )

    def flags(self, flags: tuple[str, ...]) -> tuple[Label, ...]:
        """A translation segment's flags as hand-written sentences, never their codes."""
        notes: list[Label] = []
        for flag in flags:
            target = flag_note(flag, self.target)
            note = Label(target, flag_note(flag, self.source) if self.source else None)
            if note not in notes:
                notes.append(note)
        return tuple(notes)

    def code(self, list_name: str, value: object) -> CodeView:
        code = short_text(value, 80)
        if not self.target.has_code(list_name, code):
            return CodeView(code, Label(code, None), known=False)
        source = self.source.code_meaning(list_name, code) if self.source else None
        return CodeView(code, Label(self.target.code_meaning(list_name, code), source), known=True)


def request_schema(form: Mapping[str, Any]) -> RequestSchema:
    try:
        return SCHEMAS[RequestType(str(form.get("request_type")))]
    except ValueError:
        raise RenderError("unknown request type", code="unsupported-request-type") from None


def request_sections(
    schema: RequestSchema, form: Mapping[str, Any], labels: Labeller, index: TranslationIndex
) -> list[SectionView]:
    """Every section present in the form, in schema order, with its fields."""
    sections = form.get("sections")
    if not isinstance(sections, Mapping):
        return []
    views = []
    for section in schema.sections:
        value = sections.get(section.key)
        items = value if section.repeated and isinstance(value, list) else [value]
        entries = []
        for number, item in enumerate(items):
            if not isinstance(item, Mapping):
                continue
            prefix = f"sections.{section.key}" + (f"[{number}]" if section.repeated else "")
            fields = _entry_fields(section, item, prefix, labels, index)
            entries.append(EntryView(number + 1 if section.repeated else None, tuple(fields)))
        if entries:
            title = labels.section(schema.request_type.value, section.key)
            views.append(SectionView(section.key, title, tuple(entries)))
    return views


def free_text(
    path: str, value: object, labels: Labeller, index: TranslationIndex, *, key: str
) -> FieldView:
    return FieldView(key, labels.field(key), "text", text=index.count(index.pair(path, value)))


def annex_documents(labels: Labeller, index: TranslationIndex) -> list[DocumentView]:
    """Each translated attachment: never dropped, status and reason always shown."""
    views = []
    for document in index.documents:
        status = short_text(document.get("status"), 60)
        segments = document.get("segments")
        paragraphs = tuple(
            index.count(pair_segment(segment, segment.get("source"), None))
            for segment in (segments if isinstance(segments, list) else [])
            if isinstance(segment, Mapping)
        )
        views.append(
            DocumentView(
                name=short_text(document.get("name"), 200),
                media_type=short_text(document.get("media_type"), 100),
                sha256=short_text(document.get("sha256"), 64),
                status=labels.code("document_status", status).meaning,
                translated=status == "translated",
                reason=short_text(document.get("reason") or "", 500),
                paragraphs=paragraphs,
            )
        )
    return views


def _entry_fields(
    section: SectionSpec,
    item: Mapping[str, Any],
    prefix: str,
    labels: Labeller,
    index: TranslationIndex,
) -> list[FieldView]:
    fields = []
    for spec in section.fields:
        value = item.get(spec.key)
        if value is None or value == "" or value == []:
            continue
        path = f"{prefix}.{spec.key}"
        if spec.kind.translatable:
            fields.append(free_text(path, value, labels, index, key=spec.key))
        else:
            fields.append(_untranslated(spec, value, labels))
    return fields


def _untranslated(spec: FieldSpec, value: object, labels: Labeller) -> FieldView:
    label = labels.field(spec.key)
    kind = spec.kind
    if kind is FieldKind.CODE:
        found = labels.code(code_list_name(spec.codes), value)
        return FieldView(spec.key, label, "meaning", meaning=found.meaning, codes=(found,))
    if kind is FieldKind.CODES:
        list_name = code_list_name(spec.codes)
        chosen = [short_text(v, 80) for v in (value if isinstance(value, list) else [value])]
        if spec.codes == cat.LIST_OFFENCES:
            return FieldView(
                spec.key, label, "checklist", codes=_checklist(list_name, chosen, labels)
            )
        listed = tuple(labels.code(list_name, v) for v in chosen[:_MAX_CODES_SHOWN])
        return FieldView(spec.key, label, "codes", codes=listed)
    if kind is FieldKind.BOOLEAN:
        return FieldView(spec.key, label, "meaning", meaning=labels.ui("yes" if value else "no"))
    if kind is FieldKind.COUNTRY:
        country = labels.code("countries", value)
        meaning = country.meaning if country.known else None
        return FieldView(spec.key, label, "meaning", value=country.code, meaning=meaning)
    shown = short_text(value, 400)
    return FieldView(spec.key, label, "mono" if kind in _PLAIN_MONO else "plain", value=shown)


def _checklist(list_name: str, chosen: list[str], labels: Labeller) -> tuple[CodeView, ...]:
    """All 32 list offences as on the official forms, the chosen ones ticked."""
    views = [
        CodeView(c.code, c.meaning, c.known, checked=c.code in chosen)
        for c in (labels.code(list_name, code) for code in cat.LIST_OFFENCES)
    ]
    unknown = [labels.code(list_name, v) for v in chosen if v not in cat.LIST_OFFENCES]
    return tuple(views + unknown[:_MAX_CODES_SHOWN])
