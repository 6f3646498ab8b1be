"""The rows of a newly accepted request, written by intake's write step in one transaction.

Request row (received, then verified by the transition table), object and data-key rows,
its audit entries in one Merkle append, the SubmissionAcceptance receipt (signed under
the log's head lock, since it names the leaf index of `received`) and its first task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from sqlalchemy.engine import Connection

from gateway.audit import ledger
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


def store(
    conn: Connection,
    new: NewRequest,
    prepared: list[PreparedObject],
    signer: x509.Certificate,
    sealer: Sealer | None,
    claim_task: bool,
    now: datetime,
) -> tuple[Evidence | None, OutboxMessage | None]:
    """The request row (received, then verified), its objects, its audit entries in one
    append, the receipt and the first task: a handful of statements, one head update."""
    form, submission = new.form, new.submission
    section_b = form.data["sections"].get("B")
    deadline = section_b.get("deadline") if isinstance(section_b, dict) else None
    artefacts: dict[str, str] = {}
    attachments = 0
    for item in prepared:
        if item.kind == "form":
            artefacts["form"] = item.sha256
        elif item.kind == "attachment":
            # numbered, not named: file names are free text and stay out of the log
            attachments += 1
            artefacts[f"attachment:{attachments}"] = item.sha256
    parties = (form.issuing_authority, form.executing_authority)
    # received -> verified by the transition table, recorded as two entries as ever
    state = next_state(State.RECEIVED, Event.VERIFY)
    entries = [
        audit_entry(
            new.id,
            parties,
            "received",
            actor=f"authority:{form.issuing_authority}",
            artefacts={"signed-request": new.message_sha256},
        ),
        audit_entry(
            new.id,
            parties,
            AUDIT_EVENT[Event.VERIFY],
            actor="gateway:intake",
            artefacts=artefacts,
            detail={"from": State.RECEIVED.value, "to": state.value},
        ),
    ]
    head = ledger.locked_head(conn)
    received_index = head.size
    requests_store.insert(
        conn,
        id=new.id,
        message_id=submission.message_id,
        message_sha256=new.message_sha256,
        request_type=form.request_type.value,
        issuing_authority_id=form.issuing_authority,
        executing_authority_id=form.executing_authority,
        source_language=form.language,
        target_language=new.executing.working_language,
        state=state.value,
        attempts=0,
        progress_done=0,
        progress_total=0,
        signer_fingerprint=authorities_store.fingerprint(signer),
        deadline=datetime.fromisoformat(deadline).date() if deadline else None,
        in_reply_to=reply_target(form) if form.request_type is RequestType.REPLY else None,
        received_audit_index=received_index,
    )
    commit_prepared(conn, prepared)  # their rows name the request's row
    receipt = None
    if sealer is not None:
        # signed under the log's head lock: the receipt names the index of `received`
        receipt = evidences.sign_first(
            sealer,
            evidences.SUBMISSION_ACCEPTANCE,
            request_id=new.id,
            message_id=submission.message_id,
            message_sha256=new.message_sha256,
            audit_index=received_index,
            now=now,
        )
        entries.append(
            audit_entry(
                new.id,
                parties,
                "evidence_issued",
                actor="gateway:evidence",
                artefacts={"evidence": receipt.sha256},
                detail={"kind": receipt.kind},
            )
        )
    appended = ledger.append_many(conn, entries, head=head)
    if appended[0].index != received_index:
        raise RuntimeError("the audit log head moved under its lock")
    if receipt is not None:
        exchange_store.add_evidence(conn, new.id, receipt.kind, receipt.sha256, receipt.der, now)
    # Large attachments arrive later (services/attachments.py); the last one queues this.
    task = None
    if all(ref.inline is not None for ref in submission.attachments):
        payload = {"request_id": new.id}
        if claim_task:
            task = outbox_store.enqueue_claimed(conn, "rogatory.translate", payload, now=now)
        else:
            outbox_store.enqueue(conn, "rogatory.translate", payload)
    return receipt, task


def urgent(form: RequestForm) -> bool:
    """As legal_clocks.urgent_among will judge the request from its stored terms."""
    if form.request_type is RequestType.REPLY:
        return False
    section_b = form.data["sections"].get("B")
    urgency = section_b.get("urgency", "normal") if isinstance(section_b, dict) else "normal"
    handling = [str(label) for label in form.data.get("handling", ())]
    return legal_clocks.is_urgent(str(urgency), handling)
