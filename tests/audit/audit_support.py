"""Shared helpers for the audit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.audit.entries import AuditEntry

ORIGIN = "rogatory.test/audit-log"
EVENTS = ["received", "verified", "translated", "rendered", "made_available", "retrieved"]


def make_entry(n: int, issuing: str = "AUTH-FR-1", executing: str = "AUTH-DE-7") -> AuditEntry:
    return AuditEntry(
        request_id=f"REQ-{n // 3:05d}",
        event=EVENTS[n % len(EVENTS)],
        actor=f"user-{n % 5}",
        time=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
        artefacts={"document": f"{n:064x}"},
        parties=(issuing, executing),
        detail={"step": n % 7, "ok": True},
    )
