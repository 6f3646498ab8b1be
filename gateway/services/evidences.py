"""Signed receipts ("evidences") named after e-CODEX / ETSI EN 319 522 REM events.

Each evidence is a CMS SignedData made with the gateway seal key over canonical JSON:
request id, message hash, event, time, the previous evidence's hash (a chain per
request) and the audit leaf index of the event it attests. Anyone holding the gateway
CA certificate can check it offline (`openssl cms -verify -inform DER -CAfile ca.pem`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy.engine import Connection, Engine

from gateway.audit import ledger
from gateway.audit.entries import DetailValue, canonical_json
from gateway.crypto import TrustConfig, sign, verify_signed
from gateway.crypto.signing import check_signature, load_signed_data
from gateway.persistence import exchange_store, requests_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import read_transaction, transaction
from gateway.persistence.requests_store import RequestRow
from gateway.services.lifecycle import record

EVIDENCE_FORMAT = "rogatory.evidence/1"

SUBMISSION_ACCEPTANCE = "SubmissionAcceptance"
SUBMISSION_REJECTION = "SubmissionRejection"
RELAY_ACCEPTANCE = "RelayREMMDAcceptance"
RELAY_FAILURE = "RelayREMMDFailure"
DELIVERY = "Delivery"
NON_DELIVERY = "NonDelivery"
RETRIEVAL = "Retrieval"
NON_RETRIEVAL = "NonRetrieval"
ACKNOWLEDGEMENT = "CounterpartAcknowledgement"
TRANSLATION_REVIEWED = "TranslationReviewed"  # issue 19: a translator signed off a version
WITHDRAWAL = "RequestWithdrawal"

EVIDENCE_KINDS = frozenset(
    {
        SUBMISSION_ACCEPTANCE,
        SUBMISSION_REJECTION,
        RELAY_ACCEPTANCE,
        RELAY_FAILURE,
        DELIVERY,
        NON_DELIVERY,
        RETRIEVAL,
        NON_RETRIEVAL,
        ACKNOWLEDGEMENT,
        TRANSLATION_REVIEWED,
        WITHDRAWAL,
    }
)


@dataclass(frozen=True)
class Sealer:
    """The gateway's seal key and certificate, and the name it signs as."""

    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    gateway_id: str


@dataclass(frozen=True)
class Evidence:
    kind: str
    sha256: str
    der: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sha256": self.sha256,
            "evidence": base64.b64encode(self.der).decode("ascii"),
        }


def _body(
    sealer: Sealer,
    kind: str,
    *,
    request_id: str | None,
    message_id: str | None,
    message_sha256: str | None,
    previous: str | None,
    audit_index: int | None,
    detail: dict[str, DetailValue],
    now: datetime,
) -> bytes:
    if kind not in EVIDENCE_KINDS:
        raise ValueError(f"unknown evidence kind {kind!r}")
    return canonical_json(
        {
            "format": EVIDENCE_FORMAT,
            "evidence": kind,
            "gateway": sealer.gateway_id,
            "request_id": request_id,
            "message_id": message_id,
            "message_sha256": message_sha256,
            "time": now.astimezone(UTC).isoformat(),
            "previous_evidence_sha256": previous,
            "audit_index": audit_index,
            "detail": detail,
        }
    )


def latest_audit_index(conn: Connection, request_id: str, event: str | None = None) -> int | None:
    """Leaf index of the newest audit entry of a request (of one event if given)."""
    query = sa.select(audit_leaf.c.idx, audit_leaf.c.entry).where(
        audit_leaf.c.request_id == request_id
    )
    for idx, entry in conn.execute(query.order_by(audit_leaf.c.idx.desc())):
        if event is None or json.loads(bytes(entry)).get("event") == event:
            return int(idx)
    return None


def issue(
    conn: Connection,
    request: RequestRow,
    kind: str,
    sealer: Sealer,
    *,
    audit_event: str | None = None,
    detail: dict[str, DetailValue] | None = None,
    now: datetime | None = None,
) -> Evidence:
    """Sign, store and audit one evidence in the caller's transaction."""
    now = now or datetime.now(UTC)
    body = _body(
        sealer,
        kind,
        request_id=request.id,
        message_id=request.message_id,
        message_sha256=request.message_sha256,
        previous=exchange_store.last_evidence_sha256(conn, request.id),
        audit_index=latest_audit_index(conn, request.id, audit_event),
        detail=dict(detail or {}),
        now=now,
    )
    der = sign(body, sealer.key, sealer.cert, signing_time=now)
    digest = hashlib.sha256(der).hexdigest()
    exchange_store.add_evidence(conn, request.id, kind, digest, der, now)
    record(
        conn,
        request,
        "evidence_issued",
        actor="gateway:evidence",
        artefacts={"evidence": digest},
        detail={"kind": kind},
    )
    return Evidence(kind, digest, der)


def sign_first(
    sealer: Sealer,
    kind: str,
    *,
    request_id: str,
    message_id: str,
    message_sha256: str,
    audit_index: int,
    now: datetime,
) -> Evidence:
    """The first evidence of a request that is being stored (no previous evidence); the
    caller stores it and audits it in that same transaction (intake does)."""
    body = _body(
        sealer,
        kind,
        request_id=request_id,
        message_id=message_id,
        message_sha256=message_sha256,
        previous=None,
        audit_index=audit_index,
        detail={},
        now=now,
    )
    der = sign(body, sealer.key, sealer.cert, signing_time=now)
    return Evidence(kind, hashlib.sha256(der).hexdigest(), der)


def find(conn: Connection, request_id: str, kind: str) -> Evidence | None:
    for row in exchange_store.evidences_of(conn, request_id):
        if row.kind == kind:
            return Evidence(row.kind, row.sha256, row.body)
    return None


def issue_once(
    conn: Connection,
    request: RequestRow,
    kind: str,
    sealer: Sealer,
    **kwargs: Any,
) -> Evidence:
    """The existing evidence of this kind, or a new one: retries never duplicate receipts."""
    return find(conn, request.id, kind) or issue(conn, request, kind, sealer, **kwargs)


def submission_receipt(engine: Engine, request_id: str, sealer: Sealer) -> Evidence:
    """SubmissionAcceptance for an accepted (or duplicate) submission; the same one each time.

    Intake issues it in its own transaction, so this is normally a read; the write path
    remains for requests stored without one (before the receipt moved into intake)."""
    with read_transaction(engine) as conn:
        found = find(conn, request_id, SUBMISSION_ACCEPTANCE)
    if found is not None:
        return found
    with transaction(engine) as conn:
        # concurrent duplicates queue here, so exactly one receipt is ever signed
        requests_store.lock(conn, request_id)
        request = requests_store.get(conn, request_id)
        return issue_once(conn, request, SUBMISSION_ACCEPTANCE, sealer, audit_event="received")


def rejection_receipt(
    sealer: Sealer, *, envelope_sha256: str, code: str, now: datetime | None = None
) -> Evidence:
    """SubmissionRejection for a refused envelope: no request exists, so it is not stored."""
    body = _body(
        sealer,
        SUBMISSION_REJECTION,
        request_id=None,
        message_id=None,
        message_sha256=envelope_sha256,
        previous=None,
        audit_index=None,
        detail={"code": code},
        now=now or datetime.now(UTC),
    )
    der = sign(body, sealer.key, sealer.cert)
    return Evidence(SUBMISSION_REJECTION, hashlib.sha256(der).hexdigest(), der)


def receipts(
    conn: Connection, request_id: str, log_public_key: ed25519.Ed25519PublicKey | None
) -> list[dict[str, Any]]:
    """Every evidence of a request with the audit receipt of the event it attests: entry,
    leaf index and a proof bundle against the newest checkpoint (null until one covers it).
    Each `audit` object is a rogatory-audit-receipt/v1 (`rogatory audit verify-receipt`)."""
    items = []
    for row in exchange_store.evidences_of(conn, request_id):
        body = json.loads(_content(row.body))
        index = body.get("audit_index")
        audit: dict[str, Any] = {"index": index, "proof": None}
        if isinstance(index, int) and log_public_key is not None:
            audit = ledger.receipt(conn, index, log_public_key, pending_ok=True)
        items.append(
            {
                "id": row.id,
                "kind": row.kind,
                "sha256": row.sha256,
                "created_at": row.created_at.isoformat(),
                "evidence": base64.b64encode(row.body).decode("ascii"),
                "content": body,
                "audit": audit,
            }
        )
    return items


def _content(der: bytes) -> bytes:
    # our own stored evidence: the signature is checked, the chain needs no re-validation
    return check_signature(load_signed_data(cms.ContentInfo.load(der))).content


def verify_evidence(der: bytes, trust: TrustConfig, *, now: datetime) -> dict[str, Any]:
    """Check an evidence against the gateway's CA; returns its JSON body."""
    verified = verify_signed(der, trust, now=now)
    body: dict[str, Any] = json.loads(verified.content)
    if body.get("format") != EVIDENCE_FORMAT:
        raise ValueError("not a rogatory evidence")
    return body
