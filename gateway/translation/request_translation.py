"""Translate one request: its free-text fields and attachment paragraphs, never codes or labels."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from gateway.domain.fields import FieldKind
from gateway.domain.forms import RequestForm, field_values, translatable_segments
from gateway.translation.agreement import Grammar, fix_agreement
from gateway.translation.documents import ExtractedDocument
from gateway.translation.glossary import Glossary
from gateway.translation.output_guard import check as guard
from gateway.translation.ports import TranslatedText, TranslationFailed, Translator
from gateway.translation.result import (
    DocumentResult,
    Provenance,
    ResultStatus,
    SegmentResult,
    SegmentStatus,
    TranslationResult,
)
from gateway.translation.spans import MaskedText, SpanProtector, restore

DEFAULT_CHUNK_SEGMENTS = 512
_NAME_KINDS = {FieldKind.PERSON_NAME}
_ADDRESS_KINDS = {FieldKind.ADDRESS}
_IDENTIFIER_KINDS = {FieldKind.IDENTIFIER, FieldKind.CONTACT, FieldKind.AUTHORITY}
# Failures that no smaller batch can cure: the whole call fails at once.
_WHOLE_CALL_FAILURES = {"unsupported-pair", "engine-unavailable"}


@dataclass(frozen=True)
class _Unit:
    path: str
    source: str
    masked: MaskedText


def translate_request(
    form: RequestForm,
    documents: Sequence[ExtractedDocument],
    translator: Translator,
    *,
    target: str,
    glossary: Glossary | None,
    request_id: str,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
    chunk_segments: int = DEFAULT_CHUNK_SEGMENTS,
) -> TranslationResult:
    """Never raises for engine trouble: failed segments carry status `failed` and no target."""
    if form.language == target:
        return _not_needed(form, documents, request_id=request_id, stamp=_rfc3339(now))
    if "no-machine-translation" in form.data.get("handling", ()):
        # the issuer forbade MT: no text reaches an engine, the reader is told so
        return _not_requested(form, documents, target, request_id=request_id, stamp=_rfc3339(now))
    if (form.language, target) not in translator.pairs():
        # no engine serves the pair: delivered untranslated and marked, never a retry loop
        return unavailable_result(form, documents, request_id=request_id, target=target, now=now)
    protector = _protector_for(form, glossary)
    field_units = [_unit(protector, s.path, s.text) for s in translatable_segments(form)]
    document_units = [
        [_unit(protector, f"p[{i}]", p) for i, p in enumerate(doc.paragraphs) if p.strip()]
        if doc.machine_translatable
        else []
        for doc in documents
    ]
    units = field_units + [u for group in document_units for u in group]
    stamp = _rfc3339(now)
    grammar = glossary.grammar() if glossary is not None else None
    session = _Session(translator, form.language, target, stamp, grammar)
    results: dict[int, SegmentResult] = {}
    total = len(units)
    if progress is not None:
        progress(0, total)
    for start in range(0, total, max(1, chunk_segments)):
        chunk = units[start : start + chunk_segments]
        for offset, segment in enumerate(session.translate(chunk)):
            results[id(chunk[offset])] = segment
        if progress is not None:
            progress(min(start + len(chunk), total), total)
    fields = tuple(results[id(u)] for u in field_units)
    document_results = tuple(
        _document_result(doc, tuple(results[id(u)] for u in group))
        for doc, group in zip(documents, document_units, strict=True)
    )
    return TranslationResult(
        request_id=request_id,
        source_language=form.language,
        target_language=target,
        status=_overall_status(fields, document_results),
        fields=fields,
        documents=document_results,
    )


def translate_segments(
    items: Sequence[tuple[str, str]],
    translator: Translator,
    *,
    protector: SpanProtector,
    source: str,
    target: str,
    now: datetime,
    grammar: Mapping[str, Grammar] | None = None,
) -> list[SegmentResult]:
    """Translate (path, text) pairs outside a request form, e.g. for evaluation sets."""
    units = [_unit(protector, path, text) for path, text in items]
    return _Session(translator, source, target, _rfc3339(now), grammar).translate(units)


class _Session:
    """Translates chunks of units, each an isolated segment; checks and flags every output."""

    def __init__(
        self,
        translator: Translator,
        source: str,
        target: str,
        stamp: str,
        grammar: Mapping[str, Grammar] | None = None,
    ) -> None:
        self.translator = translator
        self.source = source
        self.target = target
        self.stamp = stamp
        self.grammar = dict(grammar or {})

    def translate(self, chunk: list[_Unit]) -> list[SegmentResult]:
        try:
            outputs = self._call([u.masked.masked for u in chunk])
        except Exception as exc:  # any engine error fails loudly, never passthrough
            code = _error_code(exc)
            if len(chunk) > 1 and code not in _WHOLE_CALL_FAILURES:
                # one segment may have broken the batch: halve until only it fails
                half = len(chunk) // 2
                return self.translate(chunk[:half]) + self.translate(chunk[half:])
            return [self._failed(u, code) for u in chunk]
        segments: list[SegmentResult | None] = []
        lost: list[tuple[int, _Unit]] = []
        for index, (unit, output) in enumerate(zip(chunk, outputs, strict=True)):
            agreed, changes = fix_agreement(output.text, self._grammar_of(unit), self.target)
            restored = restore(unit.masked, agreed)
            if restored is None:
                lost.append((index, unit))
                segments.append(None)
            else:
                extra = ("agreement-fixed",) if changes else ()
                segments.append(self._segment(unit, restored, output, extra))
        if lost:
            for index, segment in self._fallback(lost):
                segments[index] = segment
        return [s for s in segments if s is not None]

    def _grammar_of(self, unit: _Unit) -> dict[int, Grammar]:
        return {
            index: self.grammar[span.replacement]
            for index, span in enumerate(unit.masked.spans)
            if span.kind == "glossary" and span.replacement in self.grammar
        }

    def _fallback(self, lost: list[tuple[int, _Unit]]) -> list[tuple[int, SegmentResult]]:
        """Placeholders did not survive: translate the text between spans, flag for review."""
        pieces: list[str] = []
        for _, unit in lost:
            pieces.extend(p.strip() for p in unit.masked.text_pieces() if _has_words(p))
        try:
            outputs = iter(self._call(pieces)) if pieces else iter(())
        except Exception as exc:
            return [(i, self._failed(u, _error_code(exc))) for i, u in lost]
        done = []
        for index, unit in lost:
            translated: list[str] = []
            last: TranslatedText | None = None
            for piece in unit.masked.text_pieces():
                if not _has_words(piece):
                    translated.append(piece)
                    continue
                last = next(outputs)
                lead = piece[: len(piece) - len(piece.lstrip())]
                trail = piece[len(piece.rstrip()) :]
                translated.append(lead + last.text.strip() + trail)
            if last is None:
                done.append((index, self._failed(unit, "placeholders-lost")))
                continue
            target = unit.masked.reassemble(translated)
            flags = ("placeholders-lost", "span-fallback")
            done.append((index, self._segment(unit, target, last, flags)))
        return done

    def _call(self, texts: list[str]) -> list[TranslatedText]:
        """One output per text, in order; a count mismatch is retried one text at a time."""
        outputs = self.translator.translate_batch(texts, self.source, self.target)
        if len(outputs) == len(texts):
            return outputs
        if len(texts) == 1:
            raise TranslationFailed("engine returned a different number of texts")
        return [self._call([text])[0] for text in texts]

    def _segment(
        self, unit: _Unit, target: str, output: TranslatedText, extra: tuple[str, ...]
    ) -> SegmentResult:
        flags = list(extra) + [f for f in output.flags if f not in extra]
        if any(span.kind == "glossary" for span in unit.masked.spans):
            flags.append("glossary")
        if len(output.legs) > 1:
            flags.append("pivot")
        if not target.strip():
            return self._failed(unit, "empty-output")
        report = guard(
            unit.masked, target, unknown_words=output.unknown_words, source_language=self.source
        )
        # one flag per item: the PDF shows each flag (up to 80 characters) next to the field
        flags.extend(f"missing: {item}" for item in report.missing)
        if report.needs_review and report.untranslated:
            flags.append("untranslated words: " + ", ".join(report.untranslated))
        if output.unknown_words:
            flags.append("unknown words: " + ", ".join(output.unknown_words))
        review = "placeholders-lost" in flags or report.needs_review
        status: SegmentStatus = "needs-review" if review else "translated"
        return SegmentResult(
            path=unit.path,
            source=unit.source,
            target=target,
            status=status,
            flags=tuple(flags),
            provenance=Provenance(
                engine=output.engine,
                model=output.model,
                model_version=output.model_version,
                model_sha256=output.model_sha256,
                legs=output.legs,
                source_sha256=_sha256(unit.source),
                translated_at=self.stamp,
            ),
            missing=report.missing,
            untranslated=report.untranslated,
            unknown_words=output.unknown_words,
            marks_removed=output.marks_removed,
        )

    def _failed(self, unit: _Unit, code: str) -> SegmentResult:
        return SegmentResult(
            path=unit.path,
            source=unit.source,
            target=None,
            status="failed",
            flags=(code,),
            provenance=Provenance(
                engine=getattr(self.translator, "name", "unknown"),
                model="",
                model_version="",
                model_sha256="",
                legs=(),
                source_sha256=_sha256(unit.source),
                translated_at=self.stamp,
            ),
        )


def _not_needed(
    form: RequestForm, documents: Sequence[ExtractedDocument], *, request_id: str, stamp: str
) -> TranslationResult:
    """Source and target language are the same: say so per segment; no engine, no copy."""
    return _untranslated(
        form,
        documents,
        request_id=request_id,
        stamp=stamp,
        target=form.language,
        status="not-needed",
        reason="same-language",
        document_reason=lambda d: (
            "same-language" if d.machine_translatable else (d.reason or "no-text")
        ),
    )


def unavailable_result(
    form: RequestForm,
    documents: Sequence[ExtractedDocument],
    *,
    request_id: str,
    target: str,
    now: datetime,
) -> TranslationResult:
    """No installed engine serves the pair: every segment `unavailable`, target null."""
    return _untranslated(
        form,
        documents,
        request_id=request_id,
        stamp=_rfc3339(now),
        target=target,
        status="unavailable",
        reason="no-engine-for-pair",
        document_reason=lambda _d: "no-engine-for-pair",
    )


def _not_requested(
    form: RequestForm,
    documents: Sequence[ExtractedDocument],
    target: str,
    *,
    request_id: str,
    stamp: str,
) -> TranslationResult:
    """The issuer's label no-machine-translation: no text reached an engine."""
    return _untranslated(
        form,
        documents,
        request_id=request_id,
        stamp=stamp,
        target=target,
        status="not-requested",
        reason="no-machine-translation",
        document_reason=lambda _d: "no-machine-translation",
    )


def _untranslated(
    form: RequestForm,
    documents: Sequence[ExtractedDocument],
    *,
    request_id: str,
    stamp: str,
    target: str,
    status: Literal["not-needed", "unavailable", "not-requested"],
    reason: str,
    document_reason: Callable[[ExtractedDocument], str],
) -> TranslationResult:
    """No engine runs: every segment says why (`status`, flag `reason`); target null, never
    a copy of the source."""
    provenance = Provenance("none", "", "", "", (), "", stamp)
    fields = tuple(
        SegmentResult(
            path=s.path,
            source=s.text,
            target=None,
            status=status,
            flags=(reason,),
            provenance=replace(provenance, source_sha256=_sha256(s.text)),
        )
        for s in translatable_segments(form)
    )
    document_results = tuple(
        DocumentResult(
            doc.name, doc.media_type, doc.sha256, "not-machine-translated", document_reason(doc)
        )
        for doc in documents
    )
    return TranslationResult(
        request_id=request_id,
        source_language=form.language,
        target_language=target,
        status=status,
        fields=fields,
        documents=document_results,
    )


def _protector_for(form: RequestForm, glossary: Glossary | None) -> SpanProtector:
    names, addresses, identifiers = [], [], [form.case_reference]
    for _, spec, value in field_values(form):
        if not isinstance(value, str):
            continue
        if spec.kind in _NAME_KINDS:
            names.append(value)
        elif spec.kind in _ADDRESS_KINDS:
            addresses.append(value)
        elif spec.kind in _IDENTIFIER_KINDS:
            identifiers.append(value)
    return SpanProtector(
        source_language=form.language,
        known_names=names,
        known_addresses=addresses,
        known_identifiers=identifiers,
        glossary=glossary.terms() if glossary is not None else None,
    )


def _unit(protector: SpanProtector, path: str, text: str) -> _Unit:
    return _Unit(path, text, protector.mask(text))


def _document_result(doc: ExtractedDocument, segments: tuple[SegmentResult, ...]) -> DocumentResult:
    if not doc.machine_translatable:
        reason = doc.reason or "no-text"
        return DocumentResult(
            doc.name, doc.media_type, doc.sha256, "not-machine-translated", reason
        )
    return DocumentResult(doc.name, doc.media_type, doc.sha256, "translated", None, segments)


def _overall_status(
    fields: tuple[SegmentResult, ...], documents: tuple[DocumentResult, ...]
) -> ResultStatus:
    segments = list(fields) + [s for d in documents for s in d.segments]
    if any(s.status == "failed" for s in segments):
        return "failed"
    if any(s.status == "needs-review" for s in segments) or any(
        d.status == "not-machine-translated" for d in documents
    ):
        return "needs-review"
    return "complete"


def _has_words(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _error_code(exc: Exception) -> str:
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code else "engine-error"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
