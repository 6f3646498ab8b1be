"""Guided forms built from the domain schemas: HTML field descriptors and the JSON they yield.

Input names are `s.<section>.<n>.<field>` (n = entry of a repeated section, 0 otherwise).
Empty inputs are left out of the request, so an untouched optional section disappears.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gateway.domain import catalogues as cat
from gateway.domain.errors import FieldProblem, InvalidRequest
from gateway.domain.fields import FieldKind, FieldSpec, SectionSpec
from gateway.domain.forms import (
    FORM_SCHEMA_ID,
    RequestForm,
    completeness_warnings,
    validate_form,
)
from gateway.domain.labels import LabelCatalogue, code_list_name
from gateway.domain.request_types import SCHEMAS, RequestSchema, RequestType

# The types a magistrate composes here (replies come from the counterpart).
COMPOSABLE = (RequestType.MLA, RequestType.WITNESS_EXAMINATION, RequestType.EXTRADITION)
HEADER_FIELDS = ("executing_authority", "case_reference", "language", "confidentiality")
MAX_ENTRIES_SHOWN = 10


@dataclass
class FieldView:
    """One input as the template draws it."""

    name: str
    label: str
    widget: str  # textarea | select | checkboxes | date | datetime | number | text | boolean
    required: bool
    value: Any
    options: list[tuple[str, str]] = field(default_factory=list)
    rows: int = 0
    max_length: int = 0
    problem: str | None = None

    @property
    def input_id(self) -> str:
        return "f-" + self.name.replace(".", "-")


@dataclass
class SectionView:
    key: str
    title: str
    required: bool
    repeated: bool
    entries: list[list[FieldView]]


@dataclass
class Completeness:
    errors: list[FieldProblem]
    warnings: list[FieldProblem]

    @property
    def ok(self) -> bool:
        return not self.errors


def schema_of(request_type: str) -> RequestSchema:
    kind = RequestType(request_type)
    if kind not in COMPOSABLE:
        raise ValueError(request_type)
    return SCHEMAS[kind]


def request_from_post(
    schema: RequestSchema, post: Mapping[str, list[str]], issuing_authority: str
) -> dict[str, Any]:
    """The request JSON for the posted inputs (values kept as typed, empties dropped)."""
    form: dict[str, Any] = {
        "schema": FORM_SCHEMA_ID,
        "request_type": schema.request_type.value,
        "issuing_authority": issuing_authority,
    }
    for key in HEADER_FIELDS:
        value = _first(post, key)
        if value:
            form[key] = value
    handling = [h for h in cat.HANDLING_LABELS if h in post.get("handling", [])]
    if handling:
        form["handling"] = handling  # the issuer's use restrictions, signed with the request
    sections: dict[str, Any] = {}
    for section in schema.sections:
        entries = []
        for index in range(entry_count(section, post)):
            entry = _entry(section, index, post)
            if entry:
                entries.append(entry)
        if section.repeated and entries:
            sections[section.key] = entries
        elif entries:
            sections[section.key] = entries[0]
    form["sections"] = sections
    return form


def entry_count(section: SectionSpec, post: Mapping[str, list[str]]) -> int:
    if not section.repeated:
        return 1
    prefix = f"s.{section.key}."
    indexes = {int(k.split(".")[2]) for k in post if k.startswith(prefix) and _indexed(k)}
    count = max(indexes, default=0) + 1
    return min(count, section.max_items, MAX_ENTRIES_SHOWN)


def _indexed(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 4 and parts[2].isdigit()


def _entry(section: SectionSpec, index: int, post: Mapping[str, list[str]]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for spec in section.fields:
        name = f"s.{section.key}.{index}.{spec.key}"
        if spec.kind is FieldKind.CODES:
            chosen = [v for v in post.get(name, []) if v]
            if chosen:
                entry[spec.key] = chosen
            continue
        raw = _first(post, name).strip()
        if not raw:
            continue
        entry[spec.key] = _typed(spec, raw)
    return entry


def _typed(spec: FieldSpec, raw: str) -> Any:
    if spec.kind is FieldKind.BOOLEAN:
        return raw == "yes"
    if spec.kind is FieldKind.INTEGER:
        return int(raw) if raw.isdigit() else raw
    if spec.kind is FieldKind.DATETIME and len(raw) == 16:
        return raw + ":00"  # <input type=datetime-local> sends minutes only
    return raw


def _first(post: Mapping[str, list[str]], name: str) -> str:
    values = post.get(name) or [""]
    return values[0]


def check(
    form: dict[str, Any],
    *,
    executing_types: list[str] | None,
    today: date,
) -> Completeness:
    """Schema errors plus the prompts a careful clerk gives before anything is sealed."""
    errors: list[FieldProblem] = []
    warnings: list[FieldProblem] = []
    try:
        checked = validate_form(form)
    except InvalidRequest as exc:
        errors.extend(_field_level(form, exc.problems))
        # the prompts are shown together with the errors, not one round later
        checked = RequestForm(RequestType(form["request_type"]), "", "", "", "", "", form)
    if not any(p.path == "sections.B.deadline" for p in errors):
        warnings.extend(completeness_warnings(checked, today=today))
    if executing_types is not None and form["request_type"] not in executing_types:
        errors.append(
            FieldProblem(
                "executing_authority",
                "request-type-not-accepted",
                "this authority does not take this type of request",
            )
        )
    return Completeness(errors, warnings)


def _field_level(form: Mapping[str, Any], problems: list[FieldProblem]) -> list[FieldProblem]:
    """A missing required section becomes one prompt per required field, so every prompt
    shows in the first round (not "section G" now and its fields one round later)."""
    try:
        schema = schema_of(str(form.get("request_type")))
    except ValueError:
        return list(problems)
    sections = {section.key: section for section in schema.sections}
    expanded: list[FieldProblem] = []
    for problem in problems:
        key = problem.path.removeprefix("sections.")
        section = sections.get(key) if problem.path.startswith("sections.") else None
        required = [spec for spec in section.fields if spec.required] if section else []
        if problem.code != "required" or not required:
            expanded.append(problem)
            continue
        prefix = f"sections.{key}" + ("[0]" if section and section.repeated else "")
        expanded.extend(
            FieldProblem(f"{prefix}.{spec.key}", "required", problem.message) for spec in required
        )
    return expanded


def section_views(
    schema: RequestSchema,
    form: Mapping[str, Any],
    labels: LabelCatalogue,
    problems: Mapping[str, str],
    *,
    extra_entries: Mapping[str, int] | None = None,
) -> list[SectionView]:
    views = []
    sections = form.get("sections", {})
    for section in schema.sections:
        value = sections.get(section.key)
        items = value if section.repeated and isinstance(value, list) else [value or {}]
        wanted = len(items) + (extra_entries or {}).get(section.key, 0)
        items = items + [{}] * (min(wanted, MAX_ENTRIES_SHOWN) - len(items))
        entries = [
            [_field_view(section, index, spec, item, labels, problems) for spec in section.fields]
            for index, item in enumerate(items)
        ]
        views.append(
            SectionView(
                section.key,
                labels.section_title(schema.request_type.value, section.key),
                section.required,
                section.repeated,
                entries,
            )
        )
    return views


def _field_view(
    section: SectionSpec,
    index: int,
    spec: FieldSpec,
    item: Mapping[str, Any],
    labels: LabelCatalogue,
    problems: Mapping[str, str],
) -> FieldView:
    name = f"s.{section.key}.{index}.{spec.key}"
    path = f"sections.{section.key}" + (f"[{index}]" if section.repeated else "")
    view = FieldView(
        name=name,
        label=labels.field_label(spec.key),
        widget="text",
        # an optional part's fields are required only once the part is being filled in
        required=spec.required
        and (section.required or any(v not in ("", None, []) for v in item.values())),
        value=item.get(spec.key, ""),
        problem=problems.get(f"{path}.{spec.key}"),
        max_length=spec.max_length,
    )
    kind = spec.kind
    if kind is FieldKind.FREE_TEXT:
        view.widget, view.rows = "textarea", 3 if spec.max_length <= 4_000 else 5
    elif kind in (FieldKind.CODE, FieldKind.CODES):
        list_name = code_list_name(spec.codes)
        view.widget = "select" if kind is FieldKind.CODE else "checkboxes"
        view.options = [(c, labels.code_meaning(list_name, c)) for c in spec.codes]
        if kind is FieldKind.CODES and not isinstance(view.value, list):
            view.value = []
    elif kind is FieldKind.COUNTRY:
        view.widget = "select"
        view.options = country_options(labels)
    elif kind is FieldKind.BOOLEAN:
        view.widget = "boolean"
        stated = item.get(spec.key)
        view.value = "yes" if stated is True else "no" if stated is False else ""
    elif kind is FieldKind.DATE:
        view.widget = "date"
    elif kind is FieldKind.DATETIME:
        view.widget = "datetime"
        view.value = str(view.value)[:16]
    elif kind is FieldKind.INTEGER:
        view.widget = "number"
    return view


def country_options(labels: LabelCatalogue) -> list[tuple[str, str]]:
    countries = labels.codes.get("countries", {})
    return sorted(countries.items(), key=lambda item: item[1])


def language_options(labels: LabelCatalogue) -> list[tuple[str, str]]:
    return [(code, labels.code_meaning("languages", code)) for code in cat.LANGUAGES]


def handling_options(labels: LabelCatalogue) -> list[tuple[str, str]]:
    return [(code, labels.code_meaning("handling", code)) for code in cat.HANDLING_LABELS]


def confidentiality_options(labels: LabelCatalogue) -> list[tuple[str, str]]:
    return [(code, labels.code_meaning("confidentiality", code)) for code in cat.CONFIDENTIALITY]


def problems_by_path(problems: list[FieldProblem]) -> dict[str, str]:
    found: dict[str, str] = {}
    for problem in problems:
        found.setdefault(problem.path, problem.code)
    return found
