"""Audit errors; each carries a stable string ``code``."""

from __future__ import annotations


class AuditError(Exception):
    """Base of audit failures: ``code`` is stable API, ``detail`` one human line."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class VerificationError(AuditError):
    """A proof, signature, checkpoint, bundle or log failed verification."""


class LedgerError(AuditError):
    """The ledger cannot do what was asked (bad range, lost race, bad entry)."""
