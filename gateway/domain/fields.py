"""Field and section specifications: what a form field holds and whether MT may touch it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldKind(StrEnum):
    """What a field holds. Only FREE_TEXT is ever sent to machine translation."""

    FREE_TEXT = "free-text"
    CODE = "code"
    CODES = "codes"
    DATE = "date"
    DATETIME = "datetime"
    IDENTIFIER = "identifier"
    PERSON_NAME = "person-name"
    PLACE = "place"
    ADDRESS = "address"
    CONTACT = "contact"
    COUNTRY = "country"
    LANGUAGE = "language"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    AUTHORITY = "authority"

    @property
    def translatable(self) -> bool:
        return self is FieldKind.FREE_TEXT


@dataclass(frozen=True)
class FieldSpec:
    key: str
    kind: FieldKind
    required: bool = False
    codes: tuple[str, ...] = ()
    max_length: int = 20_000


@dataclass(frozen=True)
class SectionSpec:
    """A numbered section of an official form (e.g. EIO Annex A section C)."""

    key: str
    fields: tuple[FieldSpec, ...]
    required: bool = False
    repeated: bool = False
    max_items: int = 50


def text(key: str, *, required: bool = False, max_length: int = 20_000) -> FieldSpec:
    return FieldSpec(key, FieldKind.FREE_TEXT, required, max_length=max_length)


def code(key: str, codes: tuple[str, ...], *, required: bool = False) -> FieldSpec:
    return FieldSpec(key, FieldKind.CODE, required, codes)


def codes(key: str, allowed: tuple[str, ...], *, required: bool = False) -> FieldSpec:
    return FieldSpec(key, FieldKind.CODES, required, allowed)


def of(kind: FieldKind, key: str, *, required: bool = False) -> FieldSpec:
    return FieldSpec(key, kind, required, max_length=256)
