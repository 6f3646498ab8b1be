"""The rows of a newly accepted request, written by intake's write step in one transaction.

Request row (received, then verified by the transition table), object and data-key rows,
its audit entries in one Merkle append, the SubmissionAcceptance receipt (signed under
the log's head lock, since it names the leaf index of `received`) and its first task;
for the requests of one group commit at once (one insert per table, one append).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from sqlalchemy.engine import Connection

from gateway.audit import ledger
from gateway.audit.entries import AuditEntry
from gateway.domain.forms import RequestForm
from gateway.domain.request_types import RequestType
from gateway.domain.states import Event, State, next_state
from gateway.domain.submission import Submission
from gateway.persistence import authorities_store, exchange_store, outbox_store, requests_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.blobs import PreparedObject, commit_prepared
from gateway.persistence.outbox_store import OutboxMessage
from gateway.services import evidences, legal_clocks
from gateway.services.evidences import Evidence, Sealer
from gateway.services.lifecycle import AUDIT_EVENT, audit_entry


def reply_target(form: RequestForm) -> str:
    return str(form.data["sections"]["R"]["in_reply_to"])


@dataclass(frozen=True)
class NewRequest:
    id: str
    submission: Submission
    form: RequestForm
    executing: Authority
    message_sha256: str
    prepared: list[PreparedObject]
    signer: x509.Certificate
    sealer: Sealer | None  # signs its SubmissionAcceptance receipt when given
    claim_task: bool  # its first task is claimed for the caller, who sends it
    now: datetime


@dataclass(frozen=True)
class Stored:
    receipt: Evidence | None
    task: OutboxMessage | None  # claimed for the caller, when it asked to send it


def insert_many(conn: Connection, news: Sequence[NewRequest]) -> dict[str, OutboxMessage]:
    """Each request's row (verified; its `received` index comes with `seal_many`), its
    objects and its first task (the claimed ones by request id): one insert per table
    for all the requests of a group commit, before the audit head is locked (on
    PostgreSQL that lock serialises every gateway process's intake until commit)."""
    requests_store.insert_many(conn, [_request_row(new) for new in news])
    commit_prepared(conn, [item for new in news for item in new.prepared])  # name the rows
    return _first_tasks(conn, news)


def seal_many(
    conn: Connection, news: Sequence[NewRequest], tasks: dict[str, OutboxMessage]
) -> list[Stored]:
    """After `insert_many`: under the audit head's lock, each request's `received`
    index, its audit entries (one append for all; each request's entries together) and
    its receipt, which names the leaf index of its own `received`."""
    head = ledger.locked_head(conn)  # the receipts name leaf indices: hold the head first
    index = head.size
    entries: list[AuditEntry] = []
    receipts: list[Evidence | None] = []
    indices: list[tuple[str, int]] = []
    for new in news:
        own = _entries(new)
        indices.append((new.id, index))
        receipt = None
        if new.sealer is not None:
            # signed under the log's head lock: the receipt names the index of `received`
            receipt = evidences.sign_first(
                new.sealer,
                evidences.SUBMISSION_ACCEPTANCE,
                request_id=new.id,
                message_id=new.submission.message_id,
                message_sha256=new.message_sha256,
                audit_index=index,
                now=new.now,
            )
            own.append(
                audit_entry(
                    new.id,
                    _parties(new.form),
                    "evidence_issued",
                    actor="gateway:evidence",
                    artefacts={"evidence": receipt.sha256},
                    detail={"kind": receipt.kind},
                )
            )
        receipts.append(receipt)
        entries += own
        index += len(own)
    requests_store.set_received_audit_indices(conn, indices)
    appended = ledger.append_many(conn, entries, head=head)
    if appended[0].index != head.size:
        raise RuntimeError("the audit log head moved under its lock")
    exchange_store.add_evidences(
        conn,
        [
            (new.id, receipt.kind, receipt.sha256, receipt.der, new.now)
            for new, receipt in zip(news, receipts, strict=True)
            if receipt is not None
        ],
    )
    return [Stored(receipt, tasks.get(new.id)) for new, receipt in zip(news, receipts, strict=True)]


def _parties(form: RequestForm) -> tuple[str, str]:
    return (form.issuing_authority, form.executing_authority)


def _entries(new: NewRequest) -> list[AuditEntry]:
    """`received` and `verified` (received -> verified by the transition table, recorded as
    two entries as ever)."""
    artefacts: dict[str, str] = {}
    attachments = 0
    for item in new.prepared:
        if item.kind == "form":
            artefacts["form"] = item.sha256
        elif item.kind == "attachment":
            # numbered, not named: file names are free text and stay out of the log
            attachments += 1
            artefacts[f"attachment:{attachments}"] = item.sha256
    parties = _parties(new.form)
    return [
        audit_entry(
            new.id,
            parties,
            "received",
            actor=f"authority:{new.form.issuing_authority}",
            artefacts={"signed-request": new.message_sha256},
        ),
        audit_entry(
            new.id,
            parties,
            AUDIT_EVENT[Event.VERIFY],
            actor="gateway:intake",
            artefacts=artefacts,
            detail={"from": State.RECEIVED.value, "to": _VERIFIED.value},
        ),
    ]


_VERIFIED = next_state(State.RECEIVED, Event.VERIFY)


def _request_row(new: NewRequest) -> dict[str, Any]:
    form, submission = new.form, new.submission
    section_b = form.data["sections"].get("B")
    deadline = section_b.get("deadline") if isinstance(section_b, dict) else None
    return {
        "id": new.id,
        "message_id": submission.message_id,
        "message_sha256": new.message_sha256,
        "request_type": form.request_type.value,
        "issuing_authority_id": form.issuing_authority,
        "executing_authority_id": form.executing_authority,
        "source_language": form.language,
        "target_language": new.executing.working_language,
        "state": _VERIFIED.value,
        "attempts": 0,
        "progress_done": 0,
        "progress_total": 0,
        "signer_fingerprint": authorities_store.fingerprint(new.signer),
        "deadline": datetime.fromisoformat(deadline).date() if deadline else None,
        "in_reply_to": reply_target(form) if form.request_type is RequestType.REPLY else None,
        "received_audit_index": None,  # set under the audit head's lock (seal_many)
    }


def awaits_uploads(new: NewRequest) -> bool:
    """Whether a large attachment of the manifest is still to come: neither inline nor
    stored with the submission (a streamed submission's, services/streamed_intake.py)."""
    present = {
        str(item.staged.description["name"]) for item in new.prepared if item.kind == "attachment"
    }
    return any(ref.inline is None and ref.name not in present for ref in new.submission.attachments)


def _first_tasks(conn: Connection, news: Sequence[NewRequest]) -> dict[str, OutboxMessage]:
    """Queue each request's first task (the claimed ones by request id). Large attachments
    uploaded later (services/attachments.py): the last one queues it for those."""
    ready = [n for n in news if not awaits_uploads(n)]
    outbox_store.enqueue_many(
        conn, "rogatory.translate", [{"request_id": n.id} for n in ready if not n.claim_task]
    )
    claimed = outbox_store.enqueue_claimed_many(
        conn,
        "rogatory.translate",
        [({"request_id": n.id}, n.now) for n in ready if n.claim_task],
    )
    return {str(task.payload["request_id"]): task for task in claimed}


def urgent(form: RequestForm) -> bool:
    """As legal_clocks.urgent_among will judge the request from its stored terms."""
    if form.request_type is RequestType.REPLY:
        return False
    section_b = form.data["sections"].get("B")
    urgency = section_b.get("urgency", "normal") if isinstance(section_b, dict) else "normal"
    handling = [str(label) for label in form.data.get("handling", ())]
    return legal_clocks.is_urgent(str(urgency), handling)
