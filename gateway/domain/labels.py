"""Hand-kept label catalogues: section titles, field labels and code meanings per language.

Labels on a printed request never come from machine translation: each language has a
JSON file under `labels/` written and reviewed by people. This module only loads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from gateway.domain import catalogues as cat
from gateway.domain.errors import DomainError

CATALOGUE_DIR = Path(__file__).with_name("labels")
CATALOGUE_LANGUAGES: tuple[str, ...] = ("en", "nl", "fr", "de", "es")
FALLBACK_LANGUAGE = "en"

# Code lists by the name their meanings are filed under in every catalogue.
CODE_LISTS: dict[str, tuple[str, ...]] = {
    "urgency": cat.URGENCY,
    "confidentiality": cat.CONFIDENTIALITY,
    "proceedings": cat.PROCEEDINGS,
    "sex": cat.SEX,
    "person_role": cat.PERSON_ROLE,
    "hearing_mode": cat.HEARING_MODE,
    "witness_status": cat.WITNESS_STATUS,
    "eio_measures": cat.EIO_MEASURES,
    "eaw_purpose": cat.EAW_PURPOSE,
    "list_offences": cat.LIST_OFFENCES,
    "languages": cat.LANGUAGES,
    "reply_kind": cat.REPLY_KINDS,
    "reply_decision": cat.REPLY_DECISIONS,
    "refusal_grounds": cat.REFUSAL_GROUNDS,
    "handling": cat.HANDLING_LABELS,
}
_PARTS = ("ui", "forms", "sections", "fields", "codes")
_V = TypeVar("_V")


class UnknownLabel(DomainError):
    code = "unknown-label"
    status = 500


class UnsupportedLanguage(DomainError):
    code = "unsupported-language"
    status = 422


@dataclass(frozen=True)
class LabelCatalogue:
    """All hand-written labels of one language."""

    language: str
    ui: Mapping[str, str]
    forms: Mapping[str, Mapping[str, str]]
    sections: Mapping[str, Mapping[str, str]]
    fields: Mapping[str, str]
    codes: Mapping[str, Mapping[str, str]]

    def text(self, key: str) -> str:
        return _lookup(self.ui, key, f"{self.language}:ui.{key}")

    def form(self, request_type: str, key: str) -> str:
        part = _lookup(self.forms, request_type, f"{self.language}:forms.{request_type}")
        return _lookup(part, key, f"{self.language}:forms.{request_type}.{key}")

    def section_title(self, request_type: str, section_key: str) -> str:
        part = _lookup(self.sections, request_type, f"{self.language}:sections.{request_type}")
        return _lookup(part, section_key, f"{self.language}:sections.{request_type}.{section_key}")

    def field_label(self, field_key: str) -> str:
        return _lookup(self.fields, field_key, f"{self.language}:fields.{field_key}")

    def code_meaning(self, list_name: str, value: str) -> str:
        part = _lookup(self.codes, list_name, f"{self.language}:codes.{list_name}")
        return _lookup(part, value, f"{self.language}:codes.{list_name}.{value}")

    def has_code(self, list_name: str, value: str) -> bool:
        return value in self.codes.get(list_name, {})


def code_list_name(codes: tuple[str, ...]) -> str:
    """The catalogue name of a field's code list (field specs carry the tuple itself)."""
    for name, values in CODE_LISTS.items():
        if values == codes:
            return name
    raise UnknownLabel(f"no catalogue entry for code list {codes[:3]}...")


@cache
def load_catalogue(language: str) -> LabelCatalogue:
    """The catalogue of `language`; raises UnsupportedLanguage if none is kept."""
    if language not in CATALOGUE_LANGUAGES:
        raise UnsupportedLanguage(f"no label catalogue for language {language!r}")
    raw = json.loads((CATALOGUE_DIR / f"{language}.json").read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("language") != language:
        raise UnknownLabel(f"label catalogue {language}.json is malformed")
    parts = {name: _string_tree(raw.get(name), f"{language}:{name}") for name in _PARTS}
    return LabelCatalogue(
        language=language,
        ui=_flat(parts["ui"], f"{language}:ui"),
        forms=_nested(parts["forms"], f"{language}:forms"),
        sections=_nested(parts["sections"], f"{language}:sections"),
        fields=_flat(parts["fields"], f"{language}:fields"),
        codes=_nested(parts["codes"], f"{language}:codes"),
    )


def catalogue_for(language: str) -> LabelCatalogue:
    """The catalogue of `language`, or the English one when no catalogue is kept for it."""
    if language in CATALOGUE_LANGUAGES:
        return load_catalogue(language)
    return load_catalogue(FALLBACK_LANGUAGE)


def missing_entries(catalogue: LabelCatalogue, reference: LabelCatalogue) -> list[str]:
    """Keys present in `reference` but absent from `catalogue` (for completeness checks)."""
    missing = [f"ui.{k}" for k in reference.ui if k not in catalogue.ui]
    missing += [f"fields.{k}" for k in reference.fields if k not in catalogue.fields]
    for part_name in ("forms", "sections", "codes"):
        ours: Mapping[str, Mapping[str, str]] = getattr(catalogue, part_name)
        theirs: Mapping[str, Mapping[str, str]] = getattr(reference, part_name)
        for group, entries in theirs.items():
            mine = ours.get(group, {})
            missing += [f"{part_name}.{group}.{k}" for k in entries if k not in mine]
    return missing


def _lookup(mapping: Mapping[str, _V], key: str, where: str) -> _V:
    try:
        return mapping[key]
    except KeyError:
        raise UnknownLabel(f"label {where} is missing") from None


def _string_tree(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnknownLabel(f"label catalogue part {where} is missing")
    return value


def _flat(tree: dict[str, Any], where: str) -> dict[str, str]:
    if not all(isinstance(v, str) for v in tree.values()):
        raise UnknownLabel(f"label catalogue part {where} must map keys to strings")
    return dict(tree)


def _nested(tree: dict[str, Any], where: str) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for group, entries in tree.items():
        if not isinstance(entries, dict):
            raise UnknownLabel(f"label catalogue part {where}.{group} must be an object")
        result[group] = _flat(entries, f"{where}.{group}")
    return result
