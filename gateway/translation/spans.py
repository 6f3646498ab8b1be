"""Protected spans: text MT must not touch is swapped for placeholders and put back after.

Placeholders look like `[[7]]`: ASCII brackets and digits survive sentencepiece (no `_`,
which argostranslate's decoder turns into spaces) and rule-based MT (Apertium) verbatim.
Restoration tolerates whitespace the engine inserts (`[ [7] ]`) and a dropped bracket pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PLACEHOLDER_RE = re.compile(r"\[(?:\s?\[)?\s?(\d{1,4})\s?\](?:\s?\])?")

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|"
    "januari|februari|maart|mei|juni|juli|augustus|oktober|"
    "Januar|Februar|März|Mai|Oktober|Dezember|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|"
    "janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre"
)
_STATUTE_CODES = (
    "Sr|Sv|WvSr|WvSv|StGB|StPO|BGB|ZPO|CP|CPP|LECrim|CC|TFEU|TEU|ECHR|AWG|Opiumwet|Wwft|"
    "WED|OLW|IRG|Code pénal|Código Penal"
)
_NUMBER = r"\d{1,3}(?:[.,\u00a0 ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CURRENCY = r"EUR|USD|GBP|CHF|PLN|SEK|DKK|CZK|HUF|RON|BGN|€|\$|£"

# (kind, pattern) in priority order; earlier kinds win ties of equal length.
_DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("literal-placeholder", PLACEHOLDER_RE),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)]")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")),
    (
        "amount",
        re.compile(
            rf"(?:(?:{_CURRENCY})\s?(?:{_NUMBER})(?:\s?(?:million|billion|mln|mio))?)"
            rf"|(?:\b(?:{_NUMBER})\s?(?:million |billion )?(?:{_CURRENCY}|euros?\b))"
        ),
    ),
    (
        "statute",
        re.compile(
            r"(?:\b(?:[Aa]rt(?:icle|ikel|ículo|\.)?s?|[Ss]ection|[Ss]ec\.)|§§?)\s?\d+[a-z]*"
            r"(?:\s?\(\d+[a-z]?\))*(?:\s?(?:bis|ter|quater)\b)?"
            rf"(?:,? (?:(?:of the |of |des |del )?(?:{_STATUTE_CODES})\b))?"
        ),
    ),
    (
        "date",
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b"
            rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\.? (?:de )?(?:{_MONTHS})\.?,? (?:de )?\d{{4}}\b"
            rf"|\b(?:{_MONTHS}) \d{{1,2}}(?:st|nd|rd|th)?, \d{{4}}\b"
        ),
    ),
    ("phone", re.compile(r"(?:\+|\b00)\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}\b")),
    (
        "case-number",
        re.compile(r"\b(?=[A-Z0-9./-]*\d)[A-Z0-9]{1,12}(?:[-/.][A-Z0-9]{1,12}){1,6}\b"),
    ),
)
_TITLE_NAME = re.compile(
    r"\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Judge|Justice|Me|Mme|Herr|Frau|Dhr|Mevr|Sr|Sra|Mag)\.? "
    r"(?:[A-Z]\. ?)*(?:(?:van|de|der|den|von|di|da|del|la|le|ter) )*[A-Z][\w'-]+"
    r"(?: [A-Z][\w'-]+)?"
)
_CAPITALISED_RUN = re.compile(
    r"\b[A-Z][a-zà-ÿ'-]+(?: (?:(?:van|de|der|den|von|di|da|del|ter) )*[A-Z][a-zà-ÿ'-]+)+"
)
_NOT_NAME_START = frozenset(
    [
        "The",
        "A",
        "An",
        "In",
        "On",
        "At",
        "Of",
        "For",
        "From",
        "To",
        "By",
        "With",
        "This",
        "That",
        "These",
        "Those",
        "Please",
        "It",
        "He",
        "She",
        "They",
        "We",
        "You",
        "I",
        "If",
        "When",
        "Where",
        "While",
        "After",
        "Before",
        "During",
        "Under",
        "Article",
        "Section",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "Court",
        "Public",
        "European",
        "Investigation",
        "Order",
        "Framework",
        "Decision",
        "Directive",
        "Convention",
    ]
)


@dataclass(frozen=True)
class ProtectedSpan:
    kind: str
    original: str
    replacement: str


@dataclass(frozen=True)
class MaskedText:
    """`pieces` alternates text and span indexes; `masked` is what the engine sees."""

    source: str
    masked: str
    spans: tuple[ProtectedSpan, ...]
    pieces: tuple[str | int, ...]

    def text_pieces(self) -> list[str]:
        return [p for p in self.pieces if isinstance(p, str)]

    def reassemble(self, translated_pieces: Iterable[str]) -> str:
        """Rebuild from pieces translated one by one around the spans (the fallback path)."""
        it = iter(translated_pieces)
        out = []
        for piece in self.pieces:
            out.append(next(it) if isinstance(piece, str) else self.spans[piece].replacement)
        return "".join(out)


def placeholder(index: int) -> str:
    return f"[[{index + 1}]]"


class SpanProtector:
    """Finds the spans of one request; `known_*` come from the form's non-free-text fields."""

    def __init__(
        self,
        *,
        known_names: Iterable[str] = (),
        known_addresses: Iterable[str] = (),
        known_identifiers: Iterable[str] = (),
        glossary: Mapping[str, str] | None = None,
    ) -> None:
        self._literal: list[tuple[str, re.Pattern[str]]] = []
        names = _name_variants(known_names)
        if names:
            self._literal.append(("person-name", _alternation(names)))
        addresses = _address_variants(known_addresses)
        if addresses:
            self._literal.append(("address", _alternation(addresses)))
        identifiers = {i.strip() for v in known_identifiers for i in v.split(";") if i.strip()}
        if identifiers:
            self._literal.append(("identifier", _alternation(identifiers)))
        self._glossary = {k.casefold(): v for k, v in (glossary or {}).items() if k.strip()}
        self._glossary_re = (
            _alternation(set(glossary or {}), ignore_case=True) if self._glossary else None
        )

    def mask(self, text: str) -> MaskedText:
        candidates: list[tuple[int, int, int, str, str]] = []
        for priority, (kind, pattern) in enumerate(self._literal + list(_DETECTORS)):
            for m in pattern.finditer(text):
                candidates.append((m.start(), m.end(), priority, kind, m.group(0)))
        for m in _TITLE_NAME.finditer(text):
            candidates.append((m.start(), m.end(), 50, "person-name", m.group(0)))
        for m in _CAPITALISED_RUN.finditer(text):
            if m.group(0).split(" ")[0] not in _NOT_NAME_START:
                candidates.append((m.start(), m.end(), 60, "name-heuristic", m.group(0)))
        if self._glossary_re is not None:
            for m in self._glossary_re.finditer(text):
                target = self._glossary[m.group(0).casefold()]
                candidates.append((m.start(), m.end(), 70, "glossary:" + target, m.group(0)))
        return _build(text, _choose(candidates))


def restore(masked: MaskedText, translated: str) -> str | None:
    """Put the spans back; None unless every placeholder came back exactly once."""
    found = [int(m.group(1)) - 1 for m in PLACEHOLDER_RE.finditer(translated)]
    if sorted(found) != list(range(len(masked.spans))):
        return None
    return PLACEHOLDER_RE.sub(lambda m: masked.spans[int(m.group(1)) - 1].replacement, translated)


def _choose(candidates: list[tuple[int, int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    # Longest match first, then priority; keep those that do not overlap an accepted one.
    accepted: list[tuple[int, int, str, str]] = []
    for start, end, _, kind, text in sorted(candidates, key=lambda c: (c[0] - c[1], c[2], c[0])):
        if all(end <= s or start >= e for s, e, _, _ in accepted):
            accepted.append((start, end, kind, text))
    return sorted(accepted)


def _build(text: str, chosen: list[tuple[int, int, str, str]]) -> MaskedText:
    spans: list[ProtectedSpan] = []
    pieces: list[str | int] = []
    masked: list[str] = []
    cursor = 0
    for start, end, kind, original in chosen:
        pieces.append(text[cursor:start])
        masked.append(text[cursor:start])
        if kind.startswith("glossary:"):
            span = ProtectedSpan("glossary", original, kind.removeprefix("glossary:"))
        else:
            span = ProtectedSpan(kind, original, original)
        pieces.append(len(spans))
        masked.append(placeholder(len(spans)))
        spans.append(span)
        cursor = end
    pieces.append(text[cursor:])
    masked.append(text[cursor:])
    return MaskedText(text, "".join(masked), tuple(spans), tuple(pieces))


def _alternation(values: Iterable[str], *, ignore_case: bool = False) -> re.Pattern[str]:
    ordered = sorted({v for v in values if v}, key=len, reverse=True)
    body = "|".join(re.escape(v) for v in ordered)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE if ignore_case else 0)


def _name_variants(names: Iterable[str]) -> set[str]:
    variants: set[str] = set()
    whole = [n.strip() for n in names if n and n.strip()]
    variants.update(whole)
    tokens = [t for n in whole for t in re.split(r"[\s,;]+", n) if len(t) > 1 and t[0].isupper()]
    variants.update(tokens)
    # Forename + surname combinations as they appear in running text.
    for first in whole:
        for second in whole:
            if first != second:
                variants.add(f"{first} {second}")
    return variants


def _address_variants(addresses: Iterable[str]) -> set[str]:
    variants: set[str] = set()
    for address in addresses:
        if not address or not address.strip():
            continue
        variants.add(address.strip())
        variants.update(p.strip() for p in address.split(",") if re.search(r"\d", p))
    return {v for v in variants if len(v) > 3}
