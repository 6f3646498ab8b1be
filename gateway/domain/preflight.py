"""Pre-flight checks per instrument: warnings, never refusals (the executing authority decides).

Shown in the compose page and returned in the 202 answer of a submission. They read a
form that may be incomplete (the compose page checks drafts), so every access is guarded.

- EIO (Directive 2014/41/EU): an Annex D category (double criminality is then not
  verified, Art 11(1)(g) and (2)); an issuer that is not a judge, court, investigating
  judge or prosecutor needs validation (Art 2(c)(ii), section L).
- EAW (Framework Decision 2002/584/JHA): a listed offence (Art 2(2)) needs a maximum
  penalty of at least 3 years; otherwise at least 12 months (prosecution) or a sentence
  of at least 4 months (execution) (Art 2(1)).
- Witness hearing by video link (MLA Convention 2000 Art 10): proposed dates, the
  witness's language.
- All: identity of the persons concerned, legal qualification, dates already past.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from gateway.domain.errors import FieldProblem
from gateway.domain.penalties import penalty_months

# Words that make an authority's name a police, customs or administrative body (Art 2(c)(ii)).
_NON_JUDICIAL = re.compile(
    r"\b(polic\w*|politie|polizei|gendarmer\w*|guardia civil|douane|zoll\w*|aduanas?|"
    r"customs|fiscal (?:intelligence|investigation)|belasting\w*|tax)\b",
    re.IGNORECASE,
)


def _section(form: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    sections = form.get("sections")
    value = sections.get(key) if isinstance(sections, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _entries(form: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    sections = form.get("sections")
    value = sections.get(key) if isinstance(sections, Mapping) else None
    if isinstance(value, Mapping):
        return [value]
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _unreadable(path: str, text: object) -> FieldProblem | None:
    """A penalty text was typed but names no duration: say so (never a silent pass)."""
    if isinstance(text, str) and text.strip() and penalty_months(text) is None:
        return _warn(path, "penalty-unreadable", "the penalty could not be read as a duration")
    return None


def _date(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        return None


def _warn(path: str, code: str, message: str) -> FieldProblem:
    return FieldProblem(path, code, message)


def _eio(form: Mapping[str, Any]) -> list[FieldProblem]:
    warnings: list[FieldProblem] = []
    g = _section(form, "G")
    if not g.get("list_offences"):
        warnings.append(
            _warn(
                "sections.G.list_offences",
                "no-listed-offence",
                "no Annex D category: the executing State may verify double criminality",
            )
        )
    issuer = str(_section(form, "K").get("authority_name") or "")
    if _NON_JUDICIAL.search(issuer) and not _section(form, "L").get("validating_authority"):
        warnings.append(
            _warn(
                "sections.L.validating_authority",
                "validation-needed",
                "an EIO from a non-judicial authority needs validation (Art 2(c)(ii), section L)",
            )
        )
    persons = _entries(form, "E")
    if not persons:
        warnings.append(
            _warn("sections.E", "identity-missing", "no person concerned is identified")
        )
    for i, person in enumerate(persons):
        if not (person.get("date_of_birth") or person.get("identity_document")):
            warnings.append(
                _warn(
                    f"sections.E[{i}].date_of_birth",
                    "identity-incomplete",
                    "neither a date of birth nor an identity document identifies this person",
                )
            )
    return warnings


def _eaw(form: Mapping[str, Any]) -> list[FieldProblem]:
    warnings: list[FieldProblem] = []
    c, e = _section(form, "c"), _section(form, "e")
    purpose = _section(form, "b").get("purpose")
    execution = purpose in _EXECUTION and not e.get("list_offences")
    field = "sentence_imposed" if execution else "maximum_sentence"
    unreadable = _unreadable(f"sections.c.{field}", c.get(field))
    if unreadable is not None:
        warnings.append(unreadable)
    elif e.get("list_offences"):
        months = penalty_months(c.get("maximum_sentence"))
        if months is None:
            warnings.append(
                _warn(
                    "sections.c.maximum_sentence",
                    "penalty-unknown",
                    "a listed offence needs a maximum penalty of at least 3 years: state it",
                )
            )
        elif months < 36:
            warnings.append(
                _warn(
                    "sections.e.list_offences",
                    "listed-offence-below-threshold",
                    "a listed offence counts only with a maximum penalty of at least 3 years",
                )
            )
    elif purpose == "prosecution":
        months = penalty_months(c.get("maximum_sentence"))
        if months is None or months < 12:
            warnings.append(
                _warn(
                    "sections.c.maximum_sentence",
                    "penalty-below-threshold",
                    "for prosecution the maximum penalty must be at least 12 months (Art 2(1))",
                )
            )
    elif purpose in _EXECUTION:
        months = penalty_months(c.get("sentence_imposed"))
        if months is None or months < 4:
            warnings.append(
                _warn(
                    "sections.c.sentence_imposed",
                    "sentence-below-threshold",
                    "for execution the sentence must be at least 4 months (Art 2(1))",
                )
            )
    if not _section(form, "a").get("nationality"):
        warnings.append(
            _warn("sections.a.nationality", "identity-incomplete", "the nationality is missing")
        )
    return warnings


def _witness(form: Mapping[str, Any], today: date) -> list[FieldProblem]:
    warnings: list[FieldProblem] = []
    d = _section(form, "D")
    if d.get("mode") == "videoconference":
        start = _date(d.get("proposed_start"))
        if start is None:
            warnings.append(
                _warn(
                    "sections.D.proposed_start",
                    "hearing-date-missing",
                    "a hearing by video link needs proposed dates",
                )
            )
        elif start < today:
            warnings.append(
                _warn("sections.D.proposed_start", "hearing-date-past", "the date lies in the past")
            )
    for i, witness in enumerate(_entries(form, "C")):
        if not witness.get("language"):
            warnings.append(
                _warn(
                    f"sections.C[{i}].language",
                    "witness-language-missing",
                    "the witness's language is needed to arrange an interpreter",
                )
            )
        if not witness.get("date_of_birth"):
            warnings.append(
                _warn(
                    f"sections.C[{i}].date_of_birth",
                    "identity-incomplete",
                    "the witness's date of birth is missing",
                )
            )
    return warnings


_EXECUTION = ("execution-custodial-sentence", "execution-detention-order")
_QUALIFICATION = {"mla": "G", "witness-examination": "F", "extradition": "e"}


def preflight_warnings(form: Mapping[str, Any], *, today: date) -> list[FieldProblem]:
    """Warnings for one form (its deadline is checked by forms.completeness_warnings)."""
    kind = form.get("request_type")
    warnings: list[FieldProblem] = []
    key = _QUALIFICATION.get(str(kind))
    if key and not str(_section(form, key).get("legal_qualification") or "").strip():
        warnings.append(
            _warn(
                f"sections.{key}.legal_qualification",
                "qualification-missing",
                "the legal qualification of the offence is missing",
            )
        )
    if kind == "mla":
        warnings += _eio(form)
    elif kind == "extradition":
        warnings += _eaw(form)
    elif kind == "witness-examination":
        warnings += _witness(form, today)
    return warnings
