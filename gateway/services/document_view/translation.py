"""Read a `rogatory.translation/1` document and pair its segments with original text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.services.document_view.errors import RenderError
from gateway.services.document_view.text import display_text

TRANSLATION_FORMAT = "rogatory.translation/1"
_OK = "translated"
_REVIEW = "needs-review"
_FAILED = "failed"
_NOT_NEEDED = "not-needed"  # source and target language are the same: nothing to translate
_UNAVAILABLE = "unavailable"  # no installed engine serves the pair: delivered untranslated
_NOT_REQUESTED = "not-requested"  # the issuer's label no-machine-translation


@dataclass(frozen=True)
class Bilingual:
    """One free-text value next to its machine translation, with what went wrong if anything.

    `state` is "translated", "needs-review", "failed", "not-needed" (same language),
    "unavailable" (no engine for the pair),
    "missing" (no segment for the path) or "mismatch" (the segment's source is not this text).
    """

    original: str
    translation: str | None
    state: str
    flags: tuple[str, ...] = ()
    original_omitted: int = 0
    translation_omitted: int = 0

    @property
    def marked(self) -> bool:
        return self.state not in (_OK, _NOT_NEEDED, _NOT_REQUESTED)

    @property
    def long(self) -> bool:
        """Long texts print one after the other: side-by-side table rows split badly."""
        return len(self.original) + len(self.translation or "") > 2_400


@dataclass(frozen=True)
class Provenance:
    engine: str
    model: str
    model_version: str
    model_sha256: str
    legs: tuple[str, ...]


@dataclass
class TranslationIndex:
    """Segments of one translation by path, plus what the cover page reports about it."""

    source_language: str
    target_language: str
    status: str
    segments: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    documents: list[Mapping[str, Any]] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)
    needing_review: int = 0
    failed: int = 0

    def pair(self, path: str, original: object) -> Bilingual:
        return pair_segment(self.segments.get(path), original, self)

    def count(self, item: Bilingual) -> Bilingual:
        if item.state == _REVIEW:
            self.needing_review += 1
        elif item.state not in (_OK, _NOT_NEEDED, _UNAVAILABLE, _NOT_REQUESTED):
            self.failed += 1
        return item


def index_translation(
    translation: Mapping[str, Any] | None,
    *,
    request_id: str,
    source_language: str,
    target_language: str,
) -> TranslationIndex:
    """Check that `translation` belongs to this request and language pair, and index it."""
    if translation is None:
        return TranslationIndex(source_language, target_language, "none")
    if translation.get("format") != TRANSLATION_FORMAT:
        raise RenderError("translation has an unsupported format", code="translation-format")
    if translation.get("request_id") != request_id:
        raise RenderError("translation belongs to another request", code="translation-mismatch")
    if translation.get("target_language") != target_language:
        raise RenderError("translation is not in the target language", code="translation-mismatch")
    if translation.get("source_language") != source_language:
        raise RenderError("translation has another source language", code="translation-mismatch")
    index = TranslationIndex(source_language, target_language, str(translation.get("status")))
    for segment in _list(translation.get("fields")):
        if isinstance(segment, Mapping) and isinstance(segment.get("path"), str):
            index.segments[segment["path"]] = segment
            _note_provenance(index, segment)
    for document in _list(translation.get("documents")):
        if isinstance(document, Mapping):
            index.documents.append(document)
            for segment in _list(document.get("segments")):
                if isinstance(segment, Mapping):
                    _note_provenance(index, segment)
    return index


def pair_segment(
    segment: Mapping[str, Any] | None, original: object, index: TranslationIndex | None
) -> Bilingual:
    shown = display_text(original)
    if segment is None:
        return Bilingual(shown.text, None, "missing", (), shown.omitted)
    if segment.get("source") != original:
        return Bilingual(shown.text, None, "mismatch", (), shown.omitted)
    flags = tuple(display_text(f).text[:80] for f in _list(segment.get("flags")))
    target = segment.get("target")
    status = segment.get("status")
    if status in (_NOT_NEEDED, _UNAVAILABLE, _NOT_REQUESTED):
        return Bilingual(shown.text, None, str(status), flags, shown.omitted)
    if not isinstance(target, str) or status not in (_OK, _REVIEW):
        return Bilingual(shown.text, None, _FAILED, flags, shown.omitted)
    translated = display_text(target)
    state = _OK if status == _OK else _REVIEW
    return Bilingual(shown.text, translated.text, state, flags, shown.omitted, translated.omitted)


def _note_provenance(index: TranslationIndex, segment: Mapping[str, Any]) -> None:
    raw = segment.get("provenance")
    if not isinstance(raw, Mapping):
        return
    legs = tuple(
        f"{leg.get('from')}\u2192{leg.get('to')} {leg.get('model')} ({leg.get('model_sha256')})"
        for leg in _list(raw.get("legs"))
        if isinstance(leg, Mapping)
    )
    found = Provenance(
        engine=str(raw.get("engine", "")),
        model=str(raw.get("model", "")),
        model_version=str(raw.get("model_version", "")),
        model_sha256=str(raw.get("model_sha256", "")),
        legs=legs,
    )
    if found not in index.provenance:
        index.provenance.append(found)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
