"""Protected spans: text MT must not touch is swapped for placeholders and put back after.

Placeholders look like `[[7]]`: ASCII brackets and digits survive sentencepiece (no `_`,
which argostranslate's decoder turns into spaces) and rule-based MT (Apertium) verbatim.
Restoration tolerates whitespace the engine inserts (`[ [7] ]`) and a dropped bracket pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.translation.common_words import COMMON_WORDS

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

_CAP = r"[A-ZÀ-ÖØ-Þ\u0100-\u017f][^\W\d_]*(?:['\u2019-][^\W\d_]+)*"
_PARTICLES = r"(?:(?:de la|de|del|des|du|di|della|do|dos|da|van|der|den|von|la|le|of) )*"
_STREET = (
    rf"(?:\b(?:Rue|Avenue|Av\.|Boulevard|Bd\.|Calle|C/|Via|Viale|Rua|Place|Plaza|Piazza|"
    rf"Ulica|ul\.|Chaussée|Avenida|Paseo|Carrer|Strada|Calea) {_PARTICLES}{_CAP}"
    rf"(?: {_PARTICLES}{_CAP})*(?:,? (?:n[ºo°.]? ?)?\d{{1,4}}[a-zA-Z]?(?:[-/]\d{{1,4}})?)?)"
    rf"|(?:\b\d{{1,4}}[a-zA-Z]?,? (?:{_CAP} )+(?:Street|St\.|Road|Rd\.|Lane|Avenue|Drive|Square|"
    rf"Place|Way|Close|Terrace|Crescent|Gardens|Row|Hill)\b)"
    rf"|(?:\b{_CAP}(?:straat|strasse|straße|gasse|laan|gracht|platz|vej|gatan|gatvė|utca|iela)"
    rf"\b(?: \d{{1,4}}[a-zA-Z]?(?:-\d{{1,4}})?)?)"
    # suffixes that end ordinary words too ("Hearing", "Committee"): only with a number
    rf"|(?:\b{_CAP}(?:weg|plein|kade|allee|ring|tee|steeg|dijk|markt)\b"
    rf" \d{{1,4}}[a-zA-Z]?(?:-\d{{1,4}})?)"
)
_POSTCODE = r"(?:[A-Z]{1,2}-)?(?:\d{2}-\d{3}|\d{4}-\d{3}|\d{3} \d{2}|\d{4,6}(?: ?[A-Z]{2})?)"
_POSTCODE_CITY = rf"(?:\b{_POSTCODE} {_CAP}(?:[ -]{_CAP})*)"
# a bare "1049 Brussels" only after a comma: "in 2026 Maria Lopez" is not an address
_ADDRESS = re.compile(rf"(?:{_STREET})(?:,? {_POSTCODE_CITY})?|(?<=, ){_POSTCODE_CITY}")

# (kind, pattern) in priority order; earlier kinds win ties of equal length.
_DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("literal-placeholder", PLACEHOLDER_RE),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)]")),
    ("address", _ADDRESS),
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
# Latin-1 and Latin Extended-A letters (Ł, ś, ž, ő...): names from every member state
_UPPER = "A-ZÀ-ÖØ-Þ\u0100-\u017f"
_LOWER = "a-zß-öø-ÿ\u0100-\u017f"
_NAME_WORD = rf"[{_UPPER}](?:[{_LOWER}'\u2019-]|(?<=[{_LOWER}'\u2019-])[A-Z])+"
_CAPITALISED_RUN = re.compile(
    rf"\b{_NAME_WORD}(?: (?:(?:van|de|der|den|von|di|da|del|ter|de la|dos) )*{_NAME_WORD})+"
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


# A single capitalised word after a lower-case word or a comma: a place or a name.
_SINGLE_NAME = re.compile(
    r"(?<=[a-z,] )([A-ZÀ-ÖØ-Þ\u0100-\u017f](?:[^\W\d_]*)(?:['\u2019-][^\W\d_]+)*)(?![\w'\u2019-])"
)
_GLOSSARY_PROOF = frozenset(
    ["person-name", "address", "identifier", "literal-placeholder", "email", "url", "iban"]
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

    def text_only(self) -> str:
        """The source without its protected spans (what the engine had to translate)."""
        return " ".join(self.text_pieces())

    def reassemble(self, translated_pieces: Iterable[str]) -> str:
        """Rebuild from pieces translated one by one around the spans (the fallback path)."""
        it = iter(translated_pieces)
        out = []
        for piece in self.pieces:
            out.append(next(it) if isinstance(piece, str) else self.spans[piece].replacement)
        return "".join(out)


def detected_items(text: str) -> list[tuple[int, str]]:
    """Every match of every detector (numbers, dates, amounts, IBANs, ...), overlapping or not:
    the output guard checks them all, whichever one protection chose."""
    found = []
    for kind, pattern in _DETECTORS:
        if kind != "literal-placeholder":
            found.extend((m.start(), m.group(0)) for m in pattern.finditer(text))
    return found


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
        source_language: str | None = None,
    ) -> None:
        # German capitalises every noun: there a lone capitalised word is no sign of a name
        self._single_names = source_language not in ("de", "lb")
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
        for m in _CAPITALISED_RUN.finditer(text if self._single_names else ""):
            words = m.group(0).split(" ")
            # "Criminal Code", "Public Prosecutor": ordinary words are translated, not frozen
            if words[0] not in _NOT_NAME_START and not all(_common(w) for w in words):
                candidates.append((m.start(), m.end(), 60, "name-heuristic", m.group(0)))
        for m in _SINGLE_NAME.finditer(text if self._single_names else ""):
            if len(m.group(1)) > 1 and not _common(m.group(1)):
                candidates.append((m.start(1), m.end(1), 65, "name-heuristic", m.group(1)))
        chosen = _choose(candidates)
        if self._glossary_re is not None:
            terms = []
            for m in self._glossary_re.finditer(text):
                target = self._glossary[m.group(0).casefold()]
                terms.append((m.start(), m.end(), 70, "glossary:" + target, m.group(0)))
            chosen = _glossary_wins(chosen, _choose(terms))
        return _build(text, chosen)


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


def _glossary_wins(
    chosen: list[tuple[int, int, str, str]], terms: list[tuple[int, int, str, str]]
) -> list[tuple[int, int, str, str]]:
    """A glossary term beats detected spans it overlaps ("Article 301" -> "artículo 301"),
    but never literal values from the form, e-mails, URLs or IBANs."""
    result = list(chosen)
    for term in terms:
        start, end = term[0], term[1]
        overlapping = [c for c in result if not (end <= c[0] or start >= c[1])]
        if any(c[2] in _GLOSSARY_PROOF for c in overlapping):
            continue
        result = [c for c in result if c not in overlapping] + [term]
    return sorted(result)


def _common(word: str) -> bool:
    return word.strip("'\u2019").casefold() in COMMON_WORDS


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
