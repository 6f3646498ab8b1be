"""Translation memory: reviewed segments reused for later requests between the same authorities.

Entries are stored *masked*: protected items (names, dates, case numbers, glossary terms)
become the same `[[n]]` placeholders the engine sees, so "hearing of [[1]] on [[2]]" from one
request matches another request with other names and dates, and `restore` puts that request's
own items back. Exact matches (whitespace normalised) replace the engine call; fuzzy matches
(rapidfuzz ratio >= 85) are only ever suggestions for a human.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from gateway.translation.ports import TranslatedText, Translator
from gateway.translation.spans import SpanProtector, placeholder

TM_ENGINE = "tm"
FUZZY_THRESHOLD = 85.0
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Whitespace runs become one space, ends stripped: the only normalisation of exact match."""
    return _SPACE.sub(" ", text).strip()


def lookup_key(masked_source: str) -> str:
    return hashlib.sha256(normalise(masked_source).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MemoryEntry:
    """One reviewed segment: what was said, what a human (or a TMX file) made of it."""

    id: str
    source: str
    target: str
    masked_source: str
    masked_target: str
    created_by: str
    created_at: str
    request_id: str | None

    @property
    def key(self) -> str:
        return lookup_key(self.masked_source)


@dataclass(frozen=True)
class FuzzyMatch:
    entry: MemoryEntry
    score: float


def mask_pair(protector: SpanProtector, source: str, target: str) -> tuple[str, str]:
    """Mask `source` and put the same placeholders where its protected items occur in `target`.

    A protected item the target does not contain stays literal in neither: the masked target
    then lacks that placeholder, and `restore` refuses it later (the engine translates instead).
    """
    masked = protector.mask(source)
    masked_target = target
    # Longest first, so "Art. 12 WvSr" is replaced before "12".
    order = sorted(range(len(masked.spans)), key=lambda i: -len(masked.spans[i].replacement))
    for index in order:
        span = masked.spans[index]
        for literal in dict.fromkeys((span.replacement, span.original)):
            if literal and literal in masked_target:
                masked_target = masked_target.replace(literal, placeholder(index), 1)
                break
    return normalise(masked.masked), normalise(masked_target)


class MemoryLookup:
    """The entries of one authority pair and language pair, indexed by their lookup key."""

    def __init__(self, entries: Sequence[MemoryEntry]) -> None:
        self._by_key: dict[str, MemoryEntry] = {}
        for entry in entries:
            self._by_key[entry.key] = entry
        self._choices: dict[str, str] | None = None

    def __len__(self) -> int:
        return len(self._by_key)

    def exact(self, masked_source: str) -> MemoryEntry | None:
        return self._by_key.get(lookup_key(masked_source))

    def fuzzy(
        self, masked_source: str, *, limit: int = 3, threshold: float = FUZZY_THRESHOLD
    ) -> list[FuzzyMatch]:
        """Suggestions for a translator, best first; never applied automatically."""
        if self._choices is None:
            self._choices = {key: e.masked_source for key, e in self._by_key.items()}
        found = process.extract(
            normalise(masked_source),
            self._choices,
            scorer=fuzz.ratio,
            limit=limit,
            score_cutoff=threshold,
        )
        return [FuzzyMatch(self._by_key[key], float(score)) for _, score, key in found]


class MemoryTranslator:
    """A Translator that answers exact TM matches itself and sends only the rest to `inner`.

    The engine is not called at all when every text of a batch is in the memory.
    """

    def __init__(
        self,
        inner: Translator,
        memory: MemoryLookup,
        *,
        on_hit: Callable[[MemoryEntry], None] | None = None,
    ) -> None:
        self.inner = inner
        self.memory = memory
        self.name = inner.name
        self.hits = 0
        self.misses = 0
        self.engine_calls = 0
        self._on_hit = on_hit

    def pairs(self) -> set[tuple[str, str]]:
        return self.inner.pairs()

    def translate_batch(
        self, texts: Sequence[str], source: str, target: str
    ) -> list[TranslatedText]:
        answers: dict[int, TranslatedText] = {}
        missing: list[int] = []
        for index, text in enumerate(texts):
            entry = self.memory.exact(text)
            if entry is None:
                missing.append(index)
                continue
            answers[index] = from_memory(entry)
            if self._on_hit is not None:
                self._on_hit(entry)
        self.hits += len(answers)
        self.misses += len(missing)
        if missing:
            self.engine_calls += 1
            outputs = self.inner.translate_batch([texts[i] for i in missing], source, target)
            if len(outputs) != len(missing):
                return list(outputs)  # the caller's count check fails the chunk loudly
            answers.update(zip(missing, outputs, strict=True))
        return [answers[i] for i in range(len(texts))]


def from_memory(entry: MemoryEntry) -> TranslatedText:
    """The engine-shaped answer of a TM hit; provenance reads `tm:<entry id>`."""
    digest = hashlib.sha256(
        (entry.masked_source + "\x00" + entry.masked_target).encode("utf-8")
    ).hexdigest()
    return TranslatedText(
        text=entry.masked_target,
        engine=TM_ENGINE,
        model=f"tm:{entry.id}",
        model_version=entry.created_at,
        model_sha256=digest,
        legs=(),
        flags=("tm",),
    )


def provenance_label(engine: str, model: str) -> str:
    """`engine:<name>`, `tm:<entry>` or `human:<user>` as shown to readers."""
    if engine == TM_ENGINE:
        return model
    if engine.startswith("human:"):
        return engine
    return f"engine:{engine}"


def entries_by_id(entries: Sequence[MemoryEntry]) -> Mapping[str, MemoryEntry]:
    return {e.id: e for e in entries}
