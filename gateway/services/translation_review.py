"""A translator reviews a request's machine translation and signs off a new version.

Only translators of the issuing or executing authority see a request (others get NotFound,
like a request that does not exist). Sign-off stores the reviewed translation as version 2, 3,
... beside the machine version 1 (kept unchanged), feeds the translation memory, appends an
audit entry, issues a signed evidence and queues the re-rendering of the bilingual PDF.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from gateway.domain.errors import DomainError, NotFound
from gateway.domain.forms import validate_form
from gateway.persistence import authorities_store, outbox_store, requests_store, review_store
from gateway.persistence.blobs import BlobStore, StoredObject
from gateway.persistence.db import transaction
from gateway.persistence.requests_store import RequestRow
from gateway.persistence.review_store import Draft
from gateway.services import evidences
from gateway.services.evidences import Sealer
from gateway.services.glossaries import glossary_for_request
from gateway.services.lifecycle import record
from gateway.services.translation_memory import memory_for_request, record_reviewed
from gateway.translation.memory import FuzzyMatch, provenance_label
from gateway.translation.request_translation import _protector_for
from gateway.translation.result import SegmentResult, TranslationResult
from gateway.translation.review import (
    Decision,
    ReviewRefused,
    decide,
    needs_attention,
    open_segments,
    reviewed_result,
    segment_ids,
)
from gateway.translation.spans import SpanProtector
from gateway.translation.xliff import InvalidXliff, export_xliff, parse_xliff

log = logging.getLogger(__name__)

REVIEWED_TRANSLATION = "translation-reviewed"
REVIEWED_PDF = "pdf-reviewed"
REVIEWED_PACKAGE = "package-reviewed"
RENDER_TASK = "rogatory.render_review"


class ReviewError(DomainError):
    status = 409


@dataclass(frozen=True)
class Reviewer:
    user: str  # account name, shown as `human:<user>` in provenance
    name: str  # display name printed in the review notice
    authority_id: str

    @property
    def actor(self) -> str:
        return f"human:{self.user}"


@dataclass(frozen=True)
class SegmentView:
    id: str
    segment: SegmentResult
    decision: Decision | None
    attention: bool
    origin: str
    glossary_terms: tuple[str, ...]
    suggestions: tuple[FuzzyMatch, ...] = field(default=())


@dataclass(frozen=True)
class ReviewView:
    request: RequestRow
    result: TranslationResult
    draft: Draft
    segments: list[SegmentView]
    versions: list[int]

    @property
    def progress(self) -> tuple[int, int]:
        todo = [s for s in self.segments if s.segment.status != "not-needed"]
        done = [s for s in todo if s.decision and s.decision.status != "flagged"]
        return len(done), len(todo)


@dataclass(frozen=True)
class ImportReport:
    accepted: list[str]
    edited: list[str]
    flagged: list[str]


def open_review(
    engine: Engine, blobs: BlobStore, reviewer: Reviewer, request_id: str
) -> ReviewView:
    with transaction(engine) as conn:
        request = _authorised(conn, reviewer, request_id)
        result = _machine_result(conn, blobs, request_id)
        draft = review_store.load(conn, blobs.kek, request_id)
        memory = memory_for_request(conn, blobs.kek, request)
        protector = _protector(conn, blobs, request)
        versions = [1] + [v for v, _ in _reviewed_objects(conn, blobs, request_id)]
    segments = []
    for sid, segment in segment_ids(result):
        masked = protector.mask(segment.source)
        terms = tuple(s.original for s in masked.spans if s.kind.startswith("glossary"))
        attention = needs_attention(segment)
        suggestions = tuple(memory.fuzzy(masked.masked)) if attention and len(memory) else ()
        segments.append(
            SegmentView(
                sid,
                segment,
                draft.decisions.get(sid),
                attention,
                provenance_label(segment.provenance.engine, segment.provenance.model),
                terms,
                suggestions,
            )
        )
    return ReviewView(request, result, draft, segments, versions)


def decide_segment(
    engine: Engine,
    blobs: BlobStore,
    reviewer: Reviewer,
    request_id: str,
    segment_id: str,
    target: str | None,
) -> Decision:
    """Accept (target None) or edit one segment; a lost protected item leaves it flagged."""
    with transaction(engine) as conn:
        request = _authorised(conn, reviewer, request_id)
        result = _machine_result(conn, blobs, request_id)
        segment = dict(segment_ids(result)).get(segment_id)
        if segment is None:
            raise NotFound(f"no segment {segment_id} in request {request_id}")
        draft = review_store.load(conn, blobs.kek, request_id)
        decision = _decide(_protector(conn, blobs, request), segment, target, reviewer)
        review_store.save(
            conn, blobs.kek, draft, {**draft.decisions, segment_id: decision}, by=reviewer.actor
        )
    return decision


def export_for_review(
    engine: Engine, blobs: BlobStore, reviewer: Reviewer, request_id: str
) -> bytes:
    """XLIFF 2.0 of the request's segments with the decisions taken so far (audited)."""
    with transaction(engine) as conn:
        request = _authorised(conn, reviewer, request_id)
        result = _machine_result(conn, blobs, request_id)
        draft = review_store.load(conn, blobs.kek, request_id)
        data = export_xliff(result, draft.decisions)
        _audit(conn, request, reviewer, "xliff-exported", {"xliff": _sha(data)})
    return data


def import_review(
    engine: Engine, blobs: BlobStore, reviewer: Reviewer, request_id: str, data: bytes
) -> ImportReport:
    """Take an XLIFF's targets as decisions; unknown segment ids refuse the whole file."""
    document = parse_xliff(data)
    with transaction(engine) as conn:
        request = _authorised(conn, reviewer, request_id)
        result = _machine_result(conn, blobs, request_id)
        if document.original != request_id:
            raise InvalidXliff(f"the XLIFF is for request {document.original!r}, not this one")
        if (document.source_language, document.target_language) != (
            result.source_language,
            result.target_language,
        ):
            raise InvalidXliff("the XLIFF's languages are not the request's")
        by_id = dict(segment_ids(result))
        unknown = sorted(set(document.targets) - set(by_id))
        if unknown:
            raise InvalidXliff(f"unknown segment id(s): {', '.join(unknown[:5])}")
        protector = _protector(conn, blobs, request)
        draft = review_store.load(conn, blobs.kek, request_id)
        decisions = dict(draft.decisions)
        report = ImportReport([], [], [])
        for sid, target in document.targets.items():
            decision = _decide(protector, by_id[sid], target, reviewer)
            decisions[sid] = decision
            {"accepted": report.accepted, "edited": report.edited, "flagged": report.flagged}[
                decision.status
            ].append(sid)
        review_store.save(conn, blobs.kek, draft, decisions, by=reviewer.actor)
        _audit(
            conn,
            request,
            reviewer,
            "xliff-imported",
            {"xliff": _sha(data)},
            accepted=len(report.accepted),
            edited=len(report.edited),
            flagged=len(report.flagged),
        )
    return report


def sign_off(
    engine: Engine, blobs: BlobStore, sealer: Sealer, reviewer: Reviewer, request_id: str
) -> int:
    """Make the reviewed version; returns its number (the machine translation is version 1)."""
    with transaction(engine) as conn:
        request = _authorised(conn, reviewer, request_id)
        result = _machine_result(conn, blobs, request_id)
        draft = review_store.load(conn, blobs.kek, request_id)
        blocking = open_segments(result, draft.decisions)
        if blocking:
            raise ReviewError(
                f"{len(blocking)} segment(s) still need a decision: {', '.join(blocking[:5])}",
                code="review-incomplete",
            )
        now = datetime.now(UTC)
        reviewed = reviewed_result(
            result, draft.decisions, reviewed_at=now.isoformat(timespec="seconds")
        )
        version = draft.signed_off + 2
        authority = authorities_store.get(conn, reviewer.authority_id)
        document = reviewed.to_json() | {
            "version": version,
            "review": {
                "by": reviewer.actor,
                "name": reviewer.name,
                "authority": authority.name,
                "authority_id": authority.id,
                "date": now.date().isoformat(),
                "signed_off_at": now.isoformat(timespec="seconds"),
                "machine_version_sha256": _machine_sha(conn, blobs, request_id),
            },
        }
        data = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        blobs.put(
            conn,
            request_id=request_id,
            kind=REVIEWED_TRANSLATION,
            name=f"v{version}.json",
            media_type="application/json",
            data=data,
        )
        review_store.save(
            conn, blobs.kek, draft, draft.decisions, by=reviewer.actor, signed_off=version - 1
        )
        form = validate_form(json.loads(_read(conn, blobs, request_id, "form")))
        pairs = [
            (s.source, d.target)
            for sid, s in segment_ids(result)
            if (d := draft.decisions.get(sid)) is not None and d.status != "flagged"
        ]
        record_reviewed(
            conn,
            blobs.kek,
            request,
            form,
            glossary_for_request(conn, request),
            pairs,
            actor=reviewer.actor,
        )
        record(
            conn,
            request,
            "translation_reviewed",
            actor=reviewer.actor,
            artefacts={"translation": _sha(data)},
            detail={
                "version": version,
                "authority": reviewer.authority_id,
                "edited": sum(d.status == "edited" for d in draft.decisions.values()),
            },
        )
        evidences.issue(
            conn,
            request,
            evidences.TRANSLATION_REVIEWED,
            sealer,
            audit_event="translation_reviewed",
            detail={"version": version, "reviewer": reviewer.actor},
        )
        outbox_store.enqueue(conn, RENDER_TASK, {"request_id": request_id, "version": version})
    log.info("translation signed off", extra={"request_id": request_id, "version": version})
    return version


def reviewed_versions(conn: Connection, blobs: BlobStore, request_id: str) -> list[int]:
    """Reviewed version numbers whose PDF and package are ready (for inbox and pull)."""
    packages = {o.name for o in blobs.list(conn, request_id, REVIEWED_PACKAGE)}
    return [v for v, _ in _reviewed_objects(conn, blobs, request_id) if f"v{v}.p7m" in packages]


def package_object(
    conn: Connection, blobs: BlobStore, request_id: str, version: int | None
) -> StoredObject | None:
    """The delivery package to pull: the latest version by default, `version` if given."""
    ready = reviewed_versions(conn, blobs, request_id)
    chosen = version if version is not None else (ready[-1] if ready else 1)
    if chosen == 1:
        return blobs.find(conn, request_id, "package")
    if chosen not in ready:
        raise NotFound(f"request {request_id} has no translation version {chosen}")
    return blobs.find(conn, request_id, REVIEWED_PACKAGE, f"v{chosen}.p7m")


def _reviewed_objects(conn: Connection, blobs: BlobStore, request_id: str) -> list[tuple[int, Any]]:
    found = [
        (int(o.name[1:].split(".")[0]), o)
        for o in blobs.list(conn, request_id, REVIEWED_TRANSLATION)
    ]
    return sorted(found, key=lambda pair: pair[0])


def _decide(
    protector: SpanProtector, segment: SegmentResult, target: str | None, reviewer: Reviewer
) -> Decision:
    try:
        return decide(protector, segment, target, by=reviewer.user)
    except ReviewRefused as exc:
        raise ReviewError(str(exc), code=exc.code) from None


def _authorised(conn: Connection, reviewer: Reviewer, request_id: str) -> RequestRow:
    """The request, if the reviewer's authority is a party to it; NotFound otherwise."""
    try:
        request = requests_store.get(conn, request_id)
    except NotFound:
        request = None
    if request is None or not request.is_party(reviewer.authority_id):
        raise NotFound(f"no request {request_id}")
    return request


def _machine_result(conn: Connection, blobs: BlobStore, request_id: str) -> TranslationResult:
    stored = blobs.find(conn, request_id, "translation")
    if stored is None:
        raise ReviewError(f"request {request_id} is not translated yet", code="not-translated")
    return TranslationResult.from_json(json.loads(blobs.read(conn, stored.id)))


def _machine_sha(conn: Connection, blobs: BlobStore, request_id: str) -> str:
    stored = blobs.find(conn, request_id, "translation")
    assert stored is not None  # noqa: S101 - read in this transaction
    return stored.sha256


def _protector(conn: Connection, blobs: BlobStore, request: RequestRow) -> SpanProtector:
    form = validate_form(json.loads(_read(conn, blobs, request.id, "form")))
    return _protector_for(form, glossary_for_request(conn, request))


def _read(
    conn: Connection, blobs: BlobStore, request_id: str, kind: str, name: str | None = None
) -> bytes:
    stored = blobs.find(conn, request_id, kind, name)
    if stored is None:
        raise NotFound(f"request {request_id} has no {kind} object")
    return blobs.read(conn, stored.id)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _audit(
    conn: Connection,
    request: RequestRow,
    reviewer: Reviewer,
    action: str,
    artefacts: dict[str, str],
    **counts: int,
) -> None:
    record(
        conn,
        request,
        "admin_action",
        actor=reviewer.actor,
        artefacts=artefacts,
        detail={"action": action, "authority": reviewer.authority_id, **counts},
    )
