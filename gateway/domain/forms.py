"""Validating a request form against its schema and walking its translatable fields."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gateway.domain import catalogues as cat
from gateway.domain.errors import FieldProblem, InvalidRequest
from gateway.domain.fields import FieldKind, FieldSpec, SectionSpec
from gateway.domain.preflight import preflight_warnings
from gateway.domain.request_types import SCHEMAS, RequestSchema, RequestType

FORM_SCHEMA_ID = "rogatory.request/1"
_HEADER_KEYS = frozenset(
    {
        "schema",
        "request_type",
        "issuing_authority",
        "executing_authority",
        "case_reference",
        "language",
        "confidentiality",
        "handling",
        "sections",
    }
)
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/ -]{0,127}$")
_AUTHORITY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RequestForm:
    """A form that passed validation; `data` is the form exactly as submitted."""

    request_type: RequestType
    issuing_authority: str
    executing_authority: str
    case_reference: str
    language: str
    confidentiality: str
    data: Mapping[str, Any]

    @property
    def schema(self) -> RequestSchema:
        return SCHEMAS[self.request_type]


@dataclass(frozen=True)
class Segment:
    """One free-text field value addressed by its path, e.g. `sections.G.facts`."""

    path: str
    text: str


def validate_form(form: object) -> RequestForm:
    """Check a decoded JSON form; raise InvalidRequest naming every bad field."""
    problems: list[FieldProblem] = []
    if not isinstance(form, dict):
        raise InvalidRequest([FieldProblem("", "not-an-object", "the form must be an object")])
    for key in sorted(set(form) - _HEADER_KEYS):
        problems.append(FieldProblem(key, "unknown-field", "field is not part of the form"))
    if form.get("schema") != FORM_SCHEMA_ID:
        problems.append(FieldProblem("schema", "unsupported", f"must be '{FORM_SCHEMA_ID}'"))
    try:
        request_type = RequestType(str(form.get("request_type")))
    except ValueError:
        problems.append(
            FieldProblem(
                "request_type",
                "not-in-list",
                "must be one of " + ", ".join(t.value for t in RequestType),
            )
        )
        raise InvalidRequest(problems) from None
    for key in ("issuing_authority", "executing_authority"):
        if not _matches(_AUTHORITY_ID, form.get(key)):
            problems.append(FieldProblem(key, "required", "an authority id is required"))
    if form.get("issuing_authority") == form.get("executing_authority"):
        problems.append(
            FieldProblem(
                "executing_authority",
                "same-authority",
                "issuing and executing authority must differ",
            )
        )
    if not _matches(_IDENT, form.get("case_reference")):
        problems.append(FieldProblem("case_reference", "required", "a case reference is required"))
    if form.get("language") not in cat.LANGUAGES:
        problems.append(FieldProblem("language", "not-in-list", "an EU language code is required"))
    if form.get("confidentiality", "none") not in cat.CONFIDENTIALITY:
        problems.append(FieldProblem("confidentiality", "not-in-list", "unknown confidentiality"))
    handling = form.get("handling", [])
    if (
        not isinstance(handling, list)
        or not all(isinstance(h, str) and h in cat.HANDLING_LABELS for h in handling)
        or len(set(handling)) != len(handling)
    ):
        problems.append(
            FieldProblem(
                "handling",
                "not-in-list",
                "a list of distinct labels from " + ", ".join(cat.HANDLING_LABELS),
            )
        )
    schema = SCHEMAS[request_type]
    sections = form.get("sections")
    if not isinstance(sections, dict):
        problems.append(FieldProblem("sections", "not-an-object", "sections must be an object"))
    else:
        problems.extend(_section_problems(schema, sections))
    if problems:
        raise InvalidRequest(problems)
    return RequestForm(
        request_type=request_type,
        issuing_authority=form["issuing_authority"],
        executing_authority=form["executing_authority"],
        case_reference=form["case_reference"],
        language=form["language"],
        confidentiality=form.get("confidentiality", "none"),
        data=form,
    )


def draft_form(form: Mapping[str, Any]) -> RequestForm:
    """A draft as it stands, perhaps incomplete: read for its free-text fields (the
    translation preview), never sent. A complete draft is validated as usual."""
    try:
        return validate_form(dict(form))
    except InvalidRequest:
        pass
    request_type = RequestType(str(form.get("request_type")))  # ValueError: not a form
    if not isinstance(form.get("sections"), dict):
        raise InvalidRequest([FieldProblem("sections", "not-an-object", "no sections")])
    return RequestForm(
        request_type=request_type,
        issuing_authority=str(form.get("issuing_authority") or ""),
        executing_authority=str(form.get("executing_authority") or ""),
        case_reference=str(form.get("case_reference") or ""),
        language=str(form.get("language") or ""),
        confidentiality=str(form.get("confidentiality") or "none"),
        data=form,
    )


def completeness_warnings(form: RequestForm, *, today: date) -> list[FieldProblem]:
    """Things a careful clerk would flag but that do not make the form invalid."""
    warnings: list[FieldProblem] = []
    sections = form.data["sections"]
    urgency = sections.get("B")
    deadline = urgency.get("deadline") if isinstance(urgency, dict) else None
    if isinstance(deadline, str) and date.fromisoformat(deadline) < today:
        warnings.append(
            FieldProblem("sections.B.deadline", "deadline-past", "the deadline lies in the past")
        )
    return warnings + preflight_warnings(form.data, today=today)


def translatable_segments(form: RequestForm) -> list[Segment]:
    """Every non-empty free-text value in schema order: the only text MT ever sees."""
    return [
        Segment(path, value)
        for path, spec, value in _walk(form.schema, form.data)
        if spec.kind.translatable and isinstance(value, str) and value.strip()
    ]


def field_values(form: RequestForm) -> Iterator[tuple[str, FieldSpec, Any]]:
    """All present field values with their specs, in schema order."""
    return _walk(form.schema, form.data)


def _walk(schema: RequestSchema, data: Mapping[str, Any]) -> Iterator[tuple[str, FieldSpec, Any]]:
    sections = data.get("sections", {})
    for section in schema.sections:
        value = sections.get(section.key)
        items = value if section.repeated and isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            prefix = f"sections.{section.key}" + (f"[{index}]" if section.repeated else "")
            for spec in section.fields:
                if spec.key in item:
                    yield f"{prefix}.{spec.key}", spec, item[spec.key]


def _section_problems(schema: RequestSchema, sections: dict[str, Any]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    known = {section.key for section in schema.sections}
    for key in sorted(set(sections) - known):
        problems.append(
            FieldProblem(f"sections.{key}", "unknown-field", "not a section of this form")
        )
    for section in schema.sections:
        path = f"sections.{section.key}"
        value = sections.get(section.key)
        if value is None:
            if section.required:
                problems.append(FieldProblem(path, "required", "this section is required"))
            continue
        if section.repeated:
            if not isinstance(value, list) or not value or len(value) > section.max_items:
                problems.append(
                    FieldProblem(path, "not-a-list", f"a list of 1 to {section.max_items} entries")
                )
                continue
            for index, item in enumerate(value):
                problems.extend(_fields_problems(section, item, f"{path}[{index}]"))
        else:
            problems.extend(_fields_problems(section, value, path))
    return problems


def _fields_problems(section: SectionSpec, item: object, path: str) -> list[FieldProblem]:
    if not isinstance(item, dict):
        return [FieldProblem(path, "not-an-object", "must be an object")]
    problems = [
        FieldProblem(f"{path}.{key}", "unknown-field", "not a field of this section")
        for key in sorted(set(item) - {spec.key for spec in section.fields})
    ]
    for spec in section.fields:
        value = item.get(spec.key)
        field_path = f"{path}.{spec.key}"
        if value is None or value == "" or value == []:
            if spec.required:
                problems.append(FieldProblem(field_path, "required", "this field is required"))
            continue
        message = _value_problem(spec, value)
        if message is not None:
            problems.append(FieldProblem(field_path, message[0], message[1]))
    return problems


def _value_problem(spec: FieldSpec, value: object) -> tuple[str, str] | None:
    kind = spec.kind
    if kind is FieldKind.BOOLEAN:
        return None if isinstance(value, bool) else ("wrong-type", "must be true or false")
    if kind is FieldKind.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10_000
        return None if ok else ("wrong-type", "must be a positive whole number")
    if kind is FieldKind.CODES:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return ("wrong-type", "must be a list of codes")
        bad = [v for v in value if v not in spec.codes]
        return ("not-in-list", f"unknown code(s): {', '.join(bad[:3])}") if bad else None
    if not isinstance(value, str):
        return ("wrong-type", "must be a string")
    if len(value) > spec.max_length:
        return ("too-long", f"at most {spec.max_length} characters")
    if _CONTROL.search(value):
        return ("control-character", "contains control characters")
    return _string_problem(spec, value)


def _string_problem(spec: FieldSpec, value: str) -> tuple[str, str] | None:
    kind = spec.kind
    if kind is FieldKind.CODE and value not in spec.codes:
        return ("not-in-list", f"must be one of {', '.join(spec.codes[:6])}...")
    if kind is FieldKind.DATE and not _parses(date.fromisoformat, value):
        return ("bad-date", "must be a date YYYY-MM-DD")
    if kind is FieldKind.DATETIME and not _parses(datetime.fromisoformat, value):
        return ("bad-datetime", "must be an ISO 8601 date and time")
    if kind is FieldKind.COUNTRY and not _COUNTRY.match(value):
        return ("bad-country", "must be an ISO 3166 alpha-2 code")
    return None


def _parses(parser: Any, value: str) -> bool:
    try:
        parser(value)
    except ValueError:
        return False
    return True


def _matches(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.match(value) is not None
