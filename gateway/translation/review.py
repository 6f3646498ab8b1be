"""Human review of a machine translation: per-segment decisions and the signed-off version.

Segments are addressed by a stable id (`s1`, `s2`, ... in `all_segments()` order). A human
target must keep every protected item (name, date, amount, glossary term) of its source;
one that does not stays flagged `missing-items` and blocks sign-off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from gateway.translation.result import SegmentResult, TranslationResult
from gateway.translation.spans import SpanProtector

DecisionStatus = Literal["accepted", "edited", "flagged"]
ATTENTION_FLAGS = frozenset(
    {"needs-review", "placeholders-lost", "span-fallback", "missing-items", "unknown-words"}
)


@dataclass(frozen=True)
class Decision:
    status: DecisionStatus
    target: str
    by: str
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "target": self.target,
            "by": self.by,
            "flags": list(self.flags),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        return cls(data["status"], data["target"], data["by"], tuple(data["flags"]))


class ReviewRefused(ValueError):
    """A decision or sign-off that cannot be taken; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def segment_ids(result: TranslationResult) -> list[tuple[str, SegmentResult]]:
    return [(f"s{i + 1}", s) for i, s in enumerate(result.all_segments())]


def needs_attention(segment: SegmentResult) -> bool:
    """Segments the workspace jumps between: anything not plainly translated."""
    return segment.status != "translated" or bool(ATTENTION_FLAGS & set(segment.flags))


def missing_items(protector: SpanProtector, source: str, target: str) -> list[str]:
    """Protected items of `source` (as the engine would restore them) absent from `target`."""
    masked = protector.mask(source)
    return [span.replacement for span in masked.spans if span.replacement not in target]


def decide(
    protector: SpanProtector, segment: SegmentResult, target: str | None, *, by: str
) -> Decision:
    """Accept (target None or unchanged) or edit; an edit losing a protected item is flagged."""
    if target is None or target == segment.target:
        if segment.target is None:
            raise ReviewRefused("nothing-to-accept", f"{segment.path} has no translation")
        return Decision("accepted", segment.target, by)
    if not target.strip():
        raise ReviewRefused("empty-target", f"{segment.path}: the translation is empty")
    lost = missing_items(protector, segment.source, target)
    if lost:
        return Decision("flagged", target, by, ("missing-items",))
    return Decision("edited", target, by)


def open_segments(result: TranslationResult, decisions: Mapping[str, Decision]) -> list[str]:
    """Ids that still block sign-off: undecided, or flagged."""
    return [
        sid
        for sid, segment in segment_ids(result)
        if segment.status != "not-needed"
        and (sid not in decisions or decisions[sid].status == "flagged")
    ]


def reviewed_result(
    result: TranslationResult,
    decisions: Mapping[str, Decision],
    *,
    reviewed_at: str,
) -> TranslationResult:
    """The signed-off version: edited segments carry `human:<user>` provenance."""
    if open_segments(result, decisions):
        raise ReviewRefused("review-incomplete", "every segment must be accepted or edited")
    by_id = dict(segment_ids(result))
    changed: dict[int, SegmentResult] = {}
    for sid, segment in by_id.items():
        decision = decisions.get(sid)
        if decision is None:
            continue
        kept = tuple(f for f in segment.flags if f not in ATTENTION_FLAGS)
        if decision.status == "edited":
            provenance = replace(
                segment.provenance,
                engine=f"human:{decision.by}",
                model="",
                model_version="",
                model_sha256="",
                legs=(),
                translated_at=reviewed_at,
            )
            new = replace(
                segment,
                target=decision.target,
                status="translated",
                flags=(*kept, "reviewed"),
                provenance=provenance,
            )
        else:
            new = replace(segment, status="translated", flags=(*kept, "reviewed"))
        changed[id(segment)] = new
    fields = tuple(changed.get(id(s), s) for s in result.fields)
    documents = tuple(
        replace(d, segments=tuple(changed.get(id(s), s) for s in d.segments))
        for d in result.documents
    )
    status = "complete" if all(d.status == "translated" for d in documents) else "needs-review"
    return replace(result, fields=fields, documents=documents, status=status)
