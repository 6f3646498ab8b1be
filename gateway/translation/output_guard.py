"""Output guard: after MT and restoration, nothing that must survive is lost without a flag.

Must-survive items are found in the source independently of what was protected: every
protected span (address blocks whole), every token carrying a digit (numbers, dates,
amounts, IBANs, case and statute numbers, phones) and every capitalised word that is not
an ordinary English word (names of persons, companies, streets and places). Each must be
in the target byte-exact, as often as in the source. Passthrough: source words the engine
left untranslated (its own unknown-word report, or the same word found in the target).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.translation.common_words import COMMON_WORDS
from gateway.translation.spans import MaskedText, ProtectedSpan, detected_items

# More untranslated words than this in one segment make it `needs-review`.
PASSTHROUGH_THRESHOLD = 1
_DIGIT_TOKEN = re.compile(r"[^\s]*\d[^\s]*")
_EDGE_PUNCT = "()[]{}\"'`«»“”\u2018\u2019.,;:!?"
_CAPITALISED = re.compile(r"(?<![\w'\u2019-])[A-ZÀ-ÖØ-Þ\u0100-\u017f][\w'\u2019-]*")
_WORD = re.compile(r"(?<![\w'\u2019-])[a-zà-öø-ÿ][a-zà-öø-ÿ'\u2019-]{3,}(?![\w'\u2019-])")


@dataclass(frozen=True)
class GuardReport:
    missing: tuple[str, ...]
    untranslated: tuple[str, ...]

    @property
    def needs_review(self) -> bool:
        return bool(self.missing) or len(self.untranslated) > PASSTHROUGH_THRESHOLD


# Languages that capitalise every noun: a capital letter says nothing about a name there.
NOUN_CAPITALISING = frozenset({"de", "lb"})


def must_survive(masked: MaskedText, source_language: str | None = None) -> list[str]:
    """Items of the source that must appear in the target unchanged, in source order."""
    source = masked.source
    items: list[tuple[int, str]] = []
    covered: list[tuple[int, int]] = []
    cursor = 0
    for piece in masked.pieces:
        if isinstance(piece, int):
            span = masked.spans[piece]
            if span.kind != "glossary":
                items.append((cursor, span.original))
            covered.append((cursor, cursor + len(span.original)))
            cursor += len(span.original)
        else:
            cursor += len(piece)
    glossary_spans = [
        (c, span)
        for c, span in zip(covered, _spans_in_order(masked), strict=True)
        if span.kind == "glossary"
    ]
    for start, item in detected_items(source):
        end = start + len(item)
        if any(_inside(start, end, [c]) for c, _ in glossary_spans):
            continue
        # "Article 301" with Article->artículo in the glossary must come out "artículo 301"
        for (s, e), span in glossary_spans:
            if s < end and start < e and s >= start and e <= end:
                item = item[: s - start] + span.replacement + item[e - start :]
        items.append((start, item))
    for match in _DIGIT_TOKEN.finditer(source):
        start, token = _trimmed(match.start(), match.group(0))
        if token and not _inside(start, start + len(token), covered):
            items.append((start, token))
    names_by_capital = source_language not in NOUN_CAPITALISING
    for match in _CAPITALISED.finditer(source if names_by_capital else ""):
        start, word = _trimmed(match.start(), match.group(0))
        if (
            len(word) > 1
            and not _inside(start, start + len(word), covered)
            and not _common(word)
            and not any(ch.isdigit() for ch in word)
        ):
            items.append((start, word))
    if names_by_capital:
        items.extend(_name_runs(source, covered))
    return [item for _, item in sorted(set(items))]


def _spans_in_order(masked: MaskedText) -> list[ProtectedSpan]:
    return [masked.spans[p] for p in masked.pieces if isinstance(p, int)]


def _name_runs(source: str, covered: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """Multi-word names as units ("Jan van der Berg", "Müller & Söhne GmbH"): each word may
    survive while the whole does not (a particle translated, "&" turned into "y")."""
    runs: list[tuple[int, str]] = []
    current: list[tuple[int, str]] = []

    def close() -> None:
        while current and not _name_like(current[-1][1]):
            current.pop()
        if len(current) > 1:
            start = current[0][0]
            end = current[-1][0] + len(current[-1][1])
            if not _inside(start, end, covered):
                runs.append((start, source[start:end]))
        current.clear()

    for match in re.finditer(r"\S+", source):
        raw = match.group(0)
        start, token = _trimmed(match.start(), raw)
        ends_phrase = raw.rstrip(_EDGE_PUNCT) != raw
        if raw.rstrip(",;:") in _LEGAL_FORMS:  # "B.V." keeps its full stop
            token = raw.rstrip(",;:")
            ends_phrase = raw != token
        if token and (_name_like(token) or (current and _joiner(token))):
            current.append((start, token))
        else:
            close()
        if ends_phrase:
            close()
    close()
    return runs


def _name_like(token: str) -> bool:
    return (token[0].isupper() and not _common(token)) or token in _LEGAL_FORMS


def _joiner(token: str) -> bool:
    return token in _PARTICLES or token in _LEGAL_FORMS


_PARTICLES = frozenset(
    "& van der den de la del des du di da dos von zu ter le".split()  # noqa: SIM905
)
_LEGAL_FORMS = frozenset(
    "B.V. N.V. GmbH AG Sp. z o.o. S.L. S.A. SARL S.r.l. SpA Ltd LLP UAB AB Oy s.r.o.".split()  # noqa: SIM905
)


def check(
    masked: MaskedText,
    target: str,
    *,
    unknown_words: Iterable[str] = (),
    source_language: str | None = None,
) -> GuardReport:
    items = must_survive(masked, source_language)
    missing = []
    needed: dict[str, int] = {}
    for item in items:
        needed[item] = needed.get(item, 0) + 1
    for item, count in needed.items():
        if _occurrences(target, item) < count:
            missing.append(item)
    return GuardReport(tuple(missing), untranslated_words(masked, target, items, unknown_words))


def untranslated_words(
    masked: MaskedText, target: str, items: list[str], unknown_words: Iterable[str]
) -> tuple[str, ...]:
    """Ordinary source words still in the target: reported by the engine or found there."""
    protected = " ".join(items + [s.original for s in masked.spans])
    found: dict[str, None] = {}
    for word in unknown_words:
        if word and word[0].islower() and word not in protected and word in masked.source:
            found[word] = None
    target_words = {w.casefold() for w in _WORD.findall(target)}
    for word in _WORD.findall(masked.text_only()):
        if (
            word.casefold() in target_words
            and word.casefold() not in _SAME_IN_TARGET
            and word not in protected
        ):
            found[word] = None
    return tuple(found)


def _occurrences(text: str, item: str) -> int:
    return len(re.findall(rf"(?<![\w]){re.escape(item)}(?![\w])", text)) if item else 0


def _trimmed(start: int, token: str) -> tuple[int, str]:
    stripped = token.lstrip(_EDGE_PUNCT)
    start += len(token) - len(stripped)
    stripped = stripped.rstrip(_EDGE_PUNCT)
    if stripped.endswith(("'s", "\u2019s")):
        stripped = stripped[:-2]
    return start, stripped


def _inside(start: int, end: int, covered: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in covered)


def _common(word: str) -> bool:
    return word.casefold() in COMMON_WORDS


# Words spelt the same in English and the usual target languages: not passthrough.
_SAME_IN_TARGET = frozenset(
    """
    banco bitcoin central criminal email euro euros fatal federal final formal general hotel
    internal internet legal local mail national normal online original penal personal radio
    real regional social taxi total video
    """.split()  # noqa: SIM905
)
