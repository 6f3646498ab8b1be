"""Canonical audit entries: deterministic JSON that never holds document text (pure).

Encoding: UTF-8 JSON, sorted keys, no whitespace, of
``{v, request_id, event, actor, time, artefacts, parties, detail}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.audit.errors import LedgerError

ENTRY_VERSION = 1

AUDIT_EVENTS = frozenset(
    {
        "received",
        "verified",
        "rejected",
        "translated",
        "rendered",
        "made_available",
        "leased",
        "retrieved",
        "acknowledged",
        "delivery_attempt",
        "key_rotation",
        "authority_changed",
        "admin_action",
        "translation_started",
        "translation_progress",
        "step_failed",
        "step_retried",
        "withdrawn",
        "lease_expired",
        "evidence_issued",
        "certificate_expiring",
        "crl_expiring",
        "attachment_received",
        "failed_permanently",
        "translation_reviewed",
        # legal workflow (clocks, answers, withdrawal)
        "refused",  # the executing authority refused the request (state rejected)
        "clock_set",
        "clock_reminder",
        "clock_breached",
        "answer_received",
        "withdrawal_applied",
    }
)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CODE = re.compile(r"[A-Za-z0-9_.:@/+\-]{1,128}")
_MAX_DETAIL_ITEMS = 16
_MAX_DETAIL_TEXT = 64

DetailValue = str | int | bool | None


def _is_code(value: object) -> bool:
    return isinstance(value, str) and bool(_CODE.fullmatch(value))


def _require(condition: bool, detail: str) -> None:
    if not condition:
        raise LedgerError("invalid-entry", detail)


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2025-01-02T03:04:05.000006Z``."""
    _require(moment.tzinfo is not None, "time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise LedgerError("invalid-entry", "time is not RFC 3339 UTC") from exc
    return moment


@dataclass(frozen=True)
class AuditEntry:
    """One event; ``artefacts`` maps a name to a SHA-256 hex digest, never content."""

    request_id: str | None
    event: str
    actor: str
    time: datetime
    artefacts: Mapping[str, str] = field(default_factory=dict)
    parties: Sequence[str] = ()
    detail: Mapping[str, DetailValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _require(self.event in AUDIT_EVENTS, f"unknown event {self.event!r}")
        _require(_is_code(self.actor), "actor must be a short code")
        _require(
            self.request_id is None or _is_code(self.request_id),
            "request_id must be a short code",
        )
        for name, digest in self.artefacts.items():
            _require(_is_code(name), "artefact name must be a short code")
            _require(
                isinstance(digest, str) and bool(_SHA256_HEX.fullmatch(digest)),
                "artefact must be lowercase SHA-256 hex",
            )
        _require(len(self.parties) <= 2, "parties is [issuing, executing]")
        _require(all(_is_code(p) for p in self.parties), "party ids must be codes")
        _require(len(self.detail) <= _MAX_DETAIL_ITEMS, "detail holds small codes only")
        for key, value in self.detail.items():
            _require(_is_code(key), "detail key must be a short code")
            _require(
                value is None
                or isinstance(value, bool | int)
                or (isinstance(value, str) and len(value) <= _MAX_DETAIL_TEXT),
                f"detail {key!r} must be a short code, number, boolean or null",
            )
        format_time(self.time)

    def to_json_obj(self) -> dict[str, Any]:
        return {
            "v": ENTRY_VERSION,
            "request_id": self.request_id,
            "event": self.event,
            "actor": self.actor,
            "time": format_time(self.time),
            "artefacts": dict(self.artefacts),
            "parties": list(self.parties),
            "detail": dict(self.detail),
        }

    def encode(self) -> bytes:
        return canonical_json(self.to_json_obj())


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def decode_entry(data: bytes) -> AuditEntry:
    """Parse entry bytes; rejects anything that is not the canonical encoding."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LedgerError("invalid-entry", "entry is not UTF-8 JSON") from exc
    _require(isinstance(obj, dict), "entry must be a JSON object")
    expected = {"v", "request_id", "event", "actor", "time", "artefacts", "parties", "detail"}
    _require(
        set(obj) == expected and obj["v"] == ENTRY_VERSION, "entry has wrong fields or version"
    )
    _require(isinstance(obj["time"], str), "time must be a string")
    _require(isinstance(obj["artefacts"], dict) and isinstance(obj["detail"], dict), "bad maps")
    _require(isinstance(obj["parties"], list), "parties must be a list")
    entry = AuditEntry(
        request_id=obj["request_id"],
        event=obj["event"],
        actor=obj["actor"],
        time=parse_time(obj["time"]),
        artefacts=obj["artefacts"],
        parties=tuple(obj["parties"]),
        detail=obj["detail"],
    )
    _require(entry.encode() == data, "entry is not canonically encoded")
    return entry
