"""TranslationResult: the exact JSON the PDF renderer and the delivery package consume."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.translation.ports import Leg

RESULT_FORMAT = "rogatory.translation/1"
# "not-needed": the request is already in the target language; target is null, never a copy.
# "unavailable": no installed engine serves the language pair; delivered untranslated, marked.
# "not-requested": the issuer's handling label `no-machine-translation`; no engine saw it.
SegmentStatus = Literal[
    "translated", "needs-review", "failed", "not-needed", "unavailable", "not-requested"
]
ResultStatus = Literal[
    "complete", "needs-review", "failed", "not-needed", "unavailable", "not-requested"
]
DocumentStatus = Literal["translated", "not-machine-translated"]


@dataclass(frozen=True)
class Provenance:
    engine: str
    model: str
    model_version: str
    model_sha256: str
    legs: tuple[Leg, ...]
    source_sha256: str
    translated_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "model": self.model,
            "model_version": self.model_version,
            "model_sha256": self.model_sha256,
            "legs": [leg.to_json() for leg in self.legs],
            "source_sha256": self.source_sha256,
            "translated_at": self.translated_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Provenance:
        legs = tuple(
            Leg(leg["from"], leg["to"], leg["model"], leg["model_sha256"]) for leg in data["legs"]
        )
        return cls(
            engine=data["engine"],
            model=data["model"],
            model_version=data["model_version"],
            model_sha256=data["model_sha256"],
            legs=legs,
            source_sha256=data["source_sha256"],
            translated_at=data["translated_at"],
        )


@dataclass(frozen=True)
class SegmentResult:
    path: str
    source: str
    target: str | None
    status: SegmentStatus
    flags: tuple[str, ...]
    provenance: Provenance
    # Output guard: must-survive items not found byte-exact in the target.
    missing: tuple[str, ...] = ()
    # Source words the engine left untranslated (passthrough) and words it did not know.
    untranslated: tuple[str, ...] = ()
    unknown_words: tuple[str, ...] = ()
    # Engine markup (Apertium `*`, `#`, `@`) removed from the target.
    marks_removed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "target": self.target,
            "status": self.status,
            "flags": list(self.flags),
            "provenance": self.provenance.to_json(),
            "missing": list(self.missing),
            "untranslated": list(self.untranslated),
            "unknown_words": list(self.unknown_words),
            "marks_removed": self.marks_removed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SegmentResult:
        return cls(
            path=data["path"],
            source=data["source"],
            target=data["target"],
            status=data["status"],
            flags=tuple(data["flags"]),
            provenance=Provenance.from_json(data["provenance"]),
            missing=tuple(data.get("missing", ())),
            untranslated=tuple(data.get("untranslated", ())),
            unknown_words=tuple(data.get("unknown_words", ())),
            marks_removed=int(data.get("marks_removed", 0)),
        )


@dataclass(frozen=True)
class DocumentResult:
    name: str
    media_type: str
    sha256: str
    status: DocumentStatus
    reason: str | None
    segments: tuple[SegmentResult, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "media_type": self.media_type,
            "sha256": self.sha256,
            "status": self.status,
            "reason": self.reason,
            "segments": [segment.to_json() for segment in self.segments],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentResult:
        return cls(
            name=data["name"],
            media_type=data["media_type"],
            sha256=data["sha256"],
            status=data["status"],
            reason=data["reason"],
            segments=tuple(SegmentResult.from_json(s) for s in data["segments"]),
        )

    def companion_text(self) -> str:
        """The translated companion: target paragraphs, untranslated ones marked, never copied."""
        lines = []
        for segment in self.segments:
            if segment.target is None:
                lines.append(f"[{segment.path}: not translated ({segment.status})]")
            else:
                lines.append(segment.target)
        return "\n\n".join(lines)


@dataclass(frozen=True)
class TranslationResult:
    request_id: str
    source_language: str
    target_language: str
    status: ResultStatus
    fields: tuple[SegmentResult, ...]
    documents: tuple[DocumentResult, ...]

    def all_segments(self) -> list[SegmentResult]:
        return list(self.fields) + [s for d in self.documents for s in d.segments]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RESULT_FORMAT,
            "request_id": self.request_id,
            "source_language": self.source_language,
            "target_language": self.target_language,
            "status": self.status,
            "fields": [segment.to_json() for segment in self.fields],
            "documents": [document.to_json() for document in self.documents],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TranslationResult:
        if data.get("format") != RESULT_FORMAT:
            raise ValueError(f"not a {RESULT_FORMAT} document")
        return cls(
            request_id=data["request_id"],
            source_language=data["source_language"],
            target_language=data["target_language"],
            status=data["status"],
            fields=tuple(SegmentResult.from_json(s) for s in data["fields"]),
            documents=tuple(DocumentResult.from_json(d) for d in data["documents"]),
        )
