"""Check audit receipts in any shape the gateway hands them out (pure).

Accepted documents:
- a ``rogatory-audit-receipt/v1`` object (``rogatory audit receipt``);
- one evidence item of ``GET /api/v1/requests/{id}/receipts`` (its ``audit`` member is
  such a receipt, and the evidence must name the same request and leaf index);
- that endpoint's whole answer ``{"items": [...]}`` (every item is checked).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit.bundle import parse_proof_bundle, verify_proof_bundle
from gateway.audit.errors import VerificationError


@dataclass(frozen=True)
class ReceiptCheck:
    """Outcome for one receipt: ``code`` is None when it verified."""

    label: str
    index: int | None
    code: str | None
    detail: str

    @property
    def ok(self) -> bool:
        return self.code is None

    def line(self) -> str:
        if self.ok:
            return f"OK: {self.label} is included in the signed log"
        return f"FAILED: {self.label}: {self.code}: {self.detail}"


def _malformed(detail: str) -> VerificationError:
    return VerificationError("malformed-receipt", detail)


def _receipts_in(document: Any) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(receipt, evidence item or None) pairs found in a parsed document."""
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        items = document["items"]
    elif isinstance(document, dict) and "audit" in document:
        items = [document]
    elif isinstance(document, dict) and "entry" in document:
        return [(document, None)]
    else:
        raise _malformed("not a receipt, an evidence item or a receipts list")
    pairs: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("audit"), dict):
            raise _malformed("an evidence item has no audit receipt")
        pairs.append((item["audit"], item))
    if not pairs:
        raise _malformed("the receipts list is empty")
    return pairs


def _check_one(
    receipt: dict[str, Any], item: dict[str, Any] | None, key: Ed25519PublicKey
) -> ReceiptCheck:
    index = receipt.get("index")
    index = index if isinstance(index, int) else None
    label = f"entry {index}"
    if item is not None:
        label = f"entry {index} ({item.get('kind', 'evidence')})"
    entry, proof = receipt.get("entry"), receipt.get("proof")
    if not isinstance(entry, str):
        return ReceiptCheck(label, index, "malformed-receipt", "the receipt has no entry")
    if proof is None:
        return ReceiptCheck(
            label, index, "not-yet-checkpointed", "no signed checkpoint covers it yet"
        )
    if not isinstance(proof, str):
        return ReceiptCheck(label, index, "malformed-receipt", "proof is not a tlog-proof text")
    if item is not None:
        mismatch = _evidence_mismatch(item, index, entry)
        if mismatch:
            return ReceiptCheck(label, index, "receipt-mismatch", mismatch)
    try:
        verify_proof_bundle(proof, entry.encode("utf-8"), key)
        if index is not None and parse_proof_bundle(proof).index != index:
            return ReceiptCheck(label, index, "receipt-mismatch", "proof is for another index")
    except VerificationError as exc:
        return ReceiptCheck(label, index, exc.code, exc.detail)
    return ReceiptCheck(label, index, None, "verified")


def _evidence_mismatch(item: dict[str, Any], index: int | None, entry: str) -> str | None:
    """Why the evidence and the audit entry attached to it do not belong together."""
    content = item.get("content")
    if not isinstance(content, dict):
        return None  # nothing to cross-check (the signed evidence is checked with openssl)
    if content.get("audit_index") != index:
        return "the evidence attests another audit entry"
    try:
        entry_request = json.loads(entry).get("request_id")
    except (ValueError, AttributeError):
        return "the audit entry is not JSON"
    if entry_request != content.get("request_id"):
        return "the audit entry belongs to another request"
    return None


def check_receipts(document_text: str, key: Ed25519PublicKey) -> list[ReceiptCheck]:
    """Every receipt in the document, checked; raises VerificationError if malformed."""
    try:
        document = json.loads(document_text)
    except ValueError as exc:
        raise _malformed("the file is not JSON") from exc
    return [_check_one(receipt, item, key) for receipt, item in _receipts_in(document)]
