"""Per-authority-pair glossaries (CSV and TBX import) that force legal terms in MT output."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from gateway.domain.errors import DomainError

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MAX_GLOSSARY_BYTES = 5 * 1024 * 1024
MAX_ENTRIES = 50_000


class InvalidGlossary(DomainError):
    code = "invalid-glossary"
    status = 422


@dataclass(frozen=True)
class GlossaryEntry:
    source: str
    target: str
    # Grammar of the target term, for agreement: "m"/"f"/"n" and "sg"/"pl" (or None).
    gender: str | None = None
    number: str | None = None


@dataclass(frozen=True)
class Glossary:
    """Terms one issuing authority agreed with one executing authority for one language pair."""

    issuing_authority: str
    executing_authority: str
    source_language: str
    target_language: str
    entries: tuple[GlossaryEntry, ...]

    def terms(self) -> dict[str, str]:
        return {entry.source: entry.target for entry in self.entries}

    def grammar(self) -> dict[str, tuple[str | None, str | None]]:
        """Target term -> (gender, number) for entries that carry them."""
        return {
            entry.target: (entry.gender, entry.number)
            for entry in self.entries
            if entry.gender or entry.number
        }

    def applies_to(self, issuing: str, executing: str, source: str, target: str) -> bool:
        return (self.issuing_authority, self.executing_authority) == (issuing, executing) and (
            self.source_language,
            self.target_language,
        ) == (source, target)

    @classmethod
    def from_csv(
        cls,
        text: str,
        *,
        issuing_authority: str,
        executing_authority: str,
        source_language: str,
        target_language: str,
    ) -> Glossary:
        """Header `source,target` or the two language codes (`en,es`), one term pair a row.

        Optional columns `gender` (m/f/n) and `number` (sg/pl) describe the target term.
        """
        _check_size(text.encode("utf-8"))
        reader = csv.reader(io.StringIO(text))
        header = [h.strip().lower() for h in next(reader, [])]
        columns = _csv_columns(header, source_language, target_language)
        gender_column = header.index("gender") if "gender" in header else None
        number_column = header.index("number") if "number" in header else None
        entries = []
        for row in reader:
            if len(row) <= max(columns) or not row[columns[0]].strip():
                continue
            entries.append(
                GlossaryEntry(
                    row[columns[0]].strip(),
                    row[columns[1]].strip(),
                    _gender(_cell(row, gender_column)),
                    _number(_cell(row, number_column)),
                )
            )
        return cls(
            issuing_authority,
            executing_authority,
            source_language,
            target_language,
            _checked(entries),
        )

    @classmethod
    def from_tbx(
        cls,
        data: bytes,
        *,
        issuing_authority: str,
        executing_authority: str,
        source_language: str,
        target_language: str,
    ) -> Glossary:
        """TBX 2 (`termEntry/langSet/tig/term`) or TBX 3 (`conceptEntry/langSec/termSec`)."""
        _check_size(data)
        try:
            root = SafeET.fromstring(data, forbid_dtd=True)
        except Exception as exc:  # defusedxml raises several types for hostile input
            raise InvalidGlossary(f"TBX is not acceptable XML: {type(exc).__name__}") from None
        entries = []
        for concept in _elements(root, ("termEntry", "conceptEntry")):
            by_language: dict[str, list[tuple[str, str | None, str | None]]] = {}
            for lang_set in _elements(concept, ("langSet", "langSec")):
                language = (lang_set.get(_XML_LANG) or lang_set.get("lang") or "").lower()
                by_language.setdefault(language.split("-")[0], []).extend(_tbx_terms(lang_set))
            targets = by_language.get(target_language, [])
            for source, _, _ in by_language.get(source_language, []):
                if targets:
                    target, gender, number = targets[0]
                    entries.append(GlossaryEntry(source, target, gender, number))
        return cls(
            issuing_authority,
            executing_authority,
            source_language,
            target_language,
            _checked(entries),
        )


def select_glossary(
    glossaries: Iterable[Glossary], issuing: str, executing: str, source: str, target: str
) -> Glossary | None:
    for glossary in glossaries:
        if glossary.applies_to(issuing, executing, source, target):
            return glossary
    return None


def _csv_columns(header: list[str], source: str, target: str) -> tuple[int, int]:
    for names in (("source", "target"), (source, target)):
        if names[0] in header and names[1] in header:
            return header.index(names[0]), header.index(names[1])
    raise InvalidGlossary(f"CSV header must name 'source,target' or '{source},{target}'")


def _tbx_terms(lang_set: Element) -> list[tuple[str, str | None, str | None]]:
    """(term, gender, number) per tig/termSec; termNote grammaticalGender/Number if given."""
    found = []
    for holder in _elements(lang_set, ("tig", "termSec", "ntig")) or [lang_set]:
        notes = {
            (note.get("type") or ""): (note.text or "").strip()
            for note in _elements(holder, ("termNote",))
        }
        for term in _elements(holder, ("term",)):
            if term.text and term.text.strip():
                found.append(
                    (
                        term.text.strip(),
                        _gender(notes.get("grammaticalGender")),
                        _number(notes.get("grammaticalNumber")),
                    )
                )
    return found


def _cell(row: list[str], column: int | None) -> str | None:
    return row[column].strip() if column is not None and column < len(row) else None


_GENDERS = {"m": "m", "masculine": "m", "f": "f", "feminine": "f", "n": "n", "neuter": "n"}
_NUMBERS = {"sg": "sg", "singular": "sg", "s": "sg", "pl": "pl", "plural": "pl", "p": "pl"}


def _gender(value: str | None) -> str | None:
    if not value:
        return None
    if value.lower() not in _GENDERS:
        raise InvalidGlossary(f"unknown grammatical gender {value[:20]!r} (m, f, n)")
    return _GENDERS[value.lower()]


def _number(value: str | None) -> str | None:
    if not value:
        return None
    if value.lower() not in _NUMBERS:
        raise InvalidGlossary(f"unknown grammatical number {value[:20]!r} (sg, pl)")
    return _NUMBERS[value.lower()]


def _elements(parent: Element, names: tuple[str, ...]) -> list[Element]:
    return [e for e in parent.iter() if e.tag.rsplit("}", 1)[-1] in names]


def _check_size(data: bytes) -> None:
    if len(data) > MAX_GLOSSARY_BYTES:
        raise InvalidGlossary(f"glossary larger than {MAX_GLOSSARY_BYTES} bytes")


def _checked(entries: list[GlossaryEntry]) -> tuple[GlossaryEntry, ...]:
    if len(entries) > MAX_ENTRIES:
        raise InvalidGlossary(f"more than {MAX_ENTRIES} glossary entries")
    if not entries:
        raise InvalidGlossary("the glossary holds no term pair for this language pair")
    return tuple(entries)
