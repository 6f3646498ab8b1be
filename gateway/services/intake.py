"""Intake: open, verify and accept a magistrate's submission in one transaction.

Every refusal raises IntakeRefused with a stable code. A refusal a verified signer
answers for leaves a `rejected` audit entry; one before any signer was verified
(garbage, undecryptable, untrusted) only the bounded rejection record. Decryption
failures reach the sender as one opaque code; the precise reason goes to the log only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn, Protocol

from cryptography import x509
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gateway.config import Settings
from gateway.crypto import (
    CryptoError,
    RecipientKey,
    TrustConfig,
    decrypt_envelope_mode,
    verify_decrypted,
)
from gateway.domain.errors import DomainError, FieldProblem, NotFound
from gateway.domain.forms import RequestForm, completeness_warnings, validate_form
from gateway.domain.reply_kinds import ReplyNotApplicable, check_reply, reply_kind
from gateway.domain.request_types import RequestType
from gateway.domain.submission import Submission, parse_submission
from gateway.persistence import authorities_store, requests_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.blobs import BlobStore, PreparedObject
from gateway.persistence.db import read_transaction, statement_reads, transaction
from gateway.persistence.group_commit import GroupCommitter
from gateway.persistence.outbox_store import OutboxMessage
from gateway.persistence.storage_errors import is_out_of_space
from gateway.services import (
    legal_workflow,
    rejections,
    upload_capabilities,
)
from gateway.services.evidences import Evidence, Sealer
from gateway.services.intake_records import (
    NewRequest,
    Stored,
    awaits_uploads,
    insert_many,
    reply_target,
    seal_many,
    urgent,
)
from gateway.services.lifecycle import record
from gateway.services.upload_capabilities import UploadCapability

log = logging.getLogger(__name__)


class IntakeRefused(DomainError):
    """A submission the gateway will not accept; `code` is the stable reason."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True)
class Accepted:
    request_id: str
    message_id: str
    message_sha256: str
    duplicate: bool
    # pre-flight warnings: reported in the 202 answer, never a refusal
    warnings: tuple[FieldProblem, ...] = ()
    # issued in the intake transaction when a sealer was given (None for a duplicate)
    receipt: Evidence | None = None
    upload: UploadCapability | None = None
    # the first task, claimed by this caller to send after commit (dispatch.send_claimed)
    task: OutboxMessage | None = None
    urgent: bool = False
    # what the 202's translation outlook needs, known at intake (None for a duplicate)
    source_language: str | None = None
    executing_languages: tuple[str, ...] = ()


_STATUS_FOR_CODE = {
    "undecryptable": 400,
    "malformed": 400,
    "unsupported-algorithm": 400,
    "signature-invalid": 403,
    "certificate-expired": 403,
    "certificate-revoked": 403,
    "untrusted-signer": 403,
    "signer-not-authorised": 403,
    "wrong-recipient": 422,
    "stale": 422,
    "replayed": 409,
    "insufficient-storage": 507,
}
_CRYPTO_MESSAGE = "the message was refused by the gateway's cryptographic checks"


def refusal_status(code: str) -> int:
    """The HTTP status intake answers a refusal code with."""
    return _STATUS_FOR_CODE.get(code, 400)


class AttachmentBinding(Protocol):
    """Objects stored before the submission arrived (a streamed submission's large
    attachments), bound to the request by intake's write step.

    ``bind`` checks them against the verified manifest and its signer (IntakeRefused
    otherwise) and returns them to be recorded with the request; intake never discards
    them: their owner does, unless the answer is a new request.
    """

    request_id: str

    def bind(self, submission: Submission, signer: x509.Certificate) -> list[PreparedObject]: ...


def accept_submission(
    engine: Engine,
    blobs: BlobStore,
    settings: Settings,
    data: bytes,
    *,
    recipient_keys: list[RecipientKey],
    trust: TrustConfig,
    now: datetime | None = None,
    client: str = "unknown",
    sealer: Sealer | None = None,
    committer: GroupCommitter | None = None,
    sends_first_task: bool = False,
    binding: AttachmentBinding | None = None,
) -> Accepted:
    """Accept `data` or raise IntakeRefused. With `sealer`, the SubmissionAcceptance
    receipt is signed, stored and audited in the same transaction as the request; with
    `committer`, that transaction is shared with concurrent submissions (group commit);
    with `sends_first_task`, the first task's outbox row is claimed for the caller, who
    sends it right after (Accepted.task), else it waits for the next outbox flush; with
    `binding`, the objects it staged become the request's (see AttachmentBinding)."""
    now = now or datetime.now(UTC)
    envelope_sha256 = hashlib.sha256(data).hexdigest()
    if not data:
        _refuse_anonymous(
            engine, "malformed", "empty body", envelope_sha256, client, "the body is empty"
        )
    try:
        inner, mode = decrypt_envelope_mode(
            data, recipient_keys, allow_legacy_cbc=settings.allow_legacy_cbc
        )
        try:
            verified = verify_decrypted(inner, mode, trust, now=now)
        except CryptoError:
            # A byte-identical resend gets its original receipt whenever it arrives: the
            # SignedData was fully verified when it was accepted, so freshness (or a
            # revocation since) is not re-judged. (One that verifies again is found as a
            # duplicate by the write step.)
            resend = _resend_of_accepted(engine, hashlib.sha256(inner).hexdigest())
            if resend is not None:
                return resend
            raise
    except CryptoError as exc:
        if exc.code in rejections.ANONYMOUS_CODES:
            # no verified signer yet: nothing permanent may be written for this caller
            _refuse_anonymous(
                engine, exc.code, exc.detail, envelope_sha256, client, _CRYPTO_MESSAGE
            )
        # raised after the chain verified (stale): the signer answers for it, in the log
        _refuse(engine, exc.code, exc.detail, envelope_sha256, public=_CRYPTO_MESSAGE)
    try:
        submission = parse_submission(verified.content)
    except DomainError as exc:
        _refuse(engine, exc.code, exc.message, envelope_sha256, public=exc.message)
    message_sha256 = hashlib.sha256(verified.signed_data_der).hexdigest()
    request_id = binding.request_id if binding is not None else str(uuid.uuid4())
    prepared: list[PreparedObject] = []
    try:
        # a duplicate and the checks are answered from a read, outside the write lock and
        # before any object is written for a submission that will not be stored
        admitted = _admit(engine, settings, submission, message_sha256, verified.signer)
        if isinstance(admitted, Accepted):
            return admitted
        bound = binding.bind(submission, verified.signer) if binding is not None else []
        # encrypt and fsync before the write transaction: the lock is held for rows only
        prepared = _prepare_objects(blobs, request_id, submission, verified.signed_data_der)
        write = _Write(
            _Verified(request_id, submission, message_sha256, verified.signer),
            checked=admitted,
            prepared=prepared + bound,
            sealer=sealer,
            claim_task=sends_first_task,
            now=now,
        )
        if committer is None:
            with transaction(engine) as conn:
                accepted = _write_many(conn, [write])[0]
        else:  # with other threads' submissions: one transaction, one insert per table
            accepted = committer.run_together(_write_many, write)
    except IntegrityError:
        # A concurrent intake of the same message id committed first (PostgreSQL lets both
        # read "absent"); the unique key decides, and the first message's answer stands.
        _discard(prepared)
        return _after_conflict(engine, submission, message_sha256, envelope_sha256)
    except DomainError as exc:
        _discard(prepared)
        _refuse(
            engine, exc.code, exc.message, envelope_sha256, public=exc.message, status=exc.status
        )
    except BaseException as exc:
        _discard(prepared)
        if isinstance(exc, Exception) and is_out_of_space(exc):
            _refuse_out_of_space(engine, envelope_sha256, exc)
        raise
    log.info("submission accepted", extra={"request_id": request_id})
    return accepted


@dataclass(frozen=True)
class _Verified:
    request_id: str
    submission: Submission
    message_sha256: str
    signer: x509.Certificate


def _admit(
    engine: Engine,
    settings: Settings,
    submission: Submission,
    message_sha256: str,
    signer: x509.Certificate,
) -> Accepted | tuple[RequestForm, Authority]:
    """The first answer to an earlier message with this id, or the checked form and the
    executing authority (IntakeRefused otherwise); read-only, so it runs in the request
    thread. A concurrent first intake of the same id is caught by the write's unique key."""
    with statement_reads(engine) as conn:  # independent reads: no snapshot needed
        duplicate = _duplicate(conn, submission, message_sha256)
        if duplicate is not None:
            return duplicate
        return _check(conn, settings, submission, signer)


@dataclass(frozen=True)
class _Write:
    verified: _Verified
    checked: tuple[RequestForm, Authority]
    prepared: list[PreparedObject]
    sealer: Sealer | None
    claim_task: bool
    now: datetime


def _write_many(conn: Connection, writes: list[_Write]) -> list[Accepted]:
    """The write step of intakes: their only database writes, in `conn`'s transaction (for
    several submissions of one group commit at once)."""
    for write in writes:
        form = write.checked[0]
        if form.request_type is RequestType.REPLY:
            _check_reply(conn, form)  # again: the original may have moved since the read
    news = [
        NewRequest(
            w.verified.request_id,
            w.verified.submission,
            *w.checked,
            w.verified.message_sha256,
            w.prepared,
            w.verified.signer,
            w.sealer,
            w.claim_task,
            w.now,
        )
        for w in writes
    ]
    # rows first; the audit head (on PostgreSQL locked until commit across processes) last
    tasks = insert_many(conn, news)
    legal_workflow.record_terms(conn, [(new.id, new.form) for new in news])
    stored = seal_many(conn, news, tasks)
    legal_workflow.on_replies(conn, [(new.id, new.form, new.now) for new in news])
    return [_accepted(conn, new, kept) for new, kept in zip(news, stored, strict=True)]


def _accepted(conn: Connection, new: NewRequest, stored: Stored) -> Accepted:
    form, executing, now = new.form, new.executing, new.now
    upload = upload_capabilities.issue(conn, new.id, now) if awaits_uploads(new) else None
    return Accepted(
        new.id,
        new.submission.message_id,
        new.message_sha256,
        duplicate=False,
        warnings=tuple(completeness_warnings(form, today=now.astimezone(UTC).date())),
        receipt=stored.receipt,
        upload=upload,
        task=stored.task,
        urgent=urgent(form),
        source_language=form.language,
        executing_languages=tuple(executing.languages),
    )


def _resend_of_accepted(engine: Engine, message_sha256: str) -> Accepted | None:
    with read_transaction(engine) as conn:
        existing = requests_store.find_by_message_sha256(conn, message_sha256)
    if existing is None:
        return None
    log.info("identical resend of an accepted message", extra={"request_id": existing.id})
    return Accepted(existing.id, existing.message_id, message_sha256, duplicate=True)


def _after_conflict(
    engine: Engine, submission: Submission, message_sha256: str, envelope_sha256: str
) -> Accepted:
    try:
        with transaction(engine) as conn:
            duplicate = _duplicate(conn, submission, message_sha256)
    except DomainError as exc:
        _refuse(
            engine, exc.code, exc.message, envelope_sha256, public=exc.message, status=exc.status
        )
    if duplicate is None:  # the conflict was not on the message id: a real fault
        raise RuntimeError("intake insert conflicted on something other than the message id")
    log.info("concurrent duplicate submission", extra={"request_id": duplicate.request_id})
    return duplicate


def _refuse_out_of_space(engine: Engine, envelope_sha256: str, exc: Exception) -> NoReturn:
    """507: nothing of the submission was kept; audited if the database can still write."""
    log.error(
        "submission refused: storage full",
        extra={"code": "insufficient-storage", "reason": type(exc).__name__},
    )
    try:
        _refuse(
            engine,
            "insufficient-storage",
            f"{type(exc).__name__}: out of space",
            envelope_sha256,
            public="the gateway has no storage space left; retry later",
            status=507,
        )
    except IntakeRefused:
        raise
    except Exception:  # the audit write itself failed for lack of space: refuse all the same
        log.exception("could not audit the storage-full refusal")
        raise IntakeRefused(
            "insufficient-storage",
            "the gateway has no storage space left; retry later",
            status=507,
        ) from None


def _duplicate(conn: Connection, submission: Submission, message_sha256: str) -> Accepted | None:
    existing = requests_store.find_by_message_id(conn, submission.message_id)
    if existing is None:
        return None
    if existing.message_sha256 != message_sha256:
        raise IntakeRefused("replayed", "this message id was used for another message", status=409)
    return Accepted(existing.id, existing.message_id, message_sha256, duplicate=True)


def _check(
    conn: Connection, settings: Settings, submission: Submission, signer: x509.Certificate
) -> tuple[RequestForm, Authority]:
    if submission.gateway != settings.gateway_id:
        raise IntakeRefused("wrong-recipient", "the message names another gateway", status=422)
    form = validate_form(submission.request)
    try:  # both authorities and the signer's registration, in one statement
        parties = authorities_store.parties(
            conn, form.issuing_authority, form.executing_authority, signer
        )
    except NotFound as exc:
        raise IntakeRefused("unknown-authority", exc.message, status=422) from None
    issuing, executing = parties.issuing, parties.executing
    if not (issuing.enabled and executing.enabled):
        raise IntakeRefused(
            "authority-disabled", "an authority of this request is disabled", status=422
        )
    if form.request_type is RequestType.REPLY:
        _check_reply(conn, form)
    elif form.request_type.value not in executing.request_types:
        raise IntakeRefused(
            "request-type-not-accepted",
            f"{executing.id} does not take {form.request_type.value} requests",
            status=422,
        )
    if not parties.signer_registered:
        raise IntakeRefused(
            "signer-not-authorised",
            "the signer is not registered for the issuing authority",
            status=403,
        )
    return form, executing


def _check_reply(conn: Connection, form: RequestForm) -> None:
    """A reply must answer a request its sender received from its addressee.

    Only a withdrawal travels the other way: from the request's issuer to its executor.
    """
    original_id = reply_target(form)
    try:
        original = requests_store.get(conn, original_id)
    except NotFound:
        original = None
    section = form.data["sections"]["R"]
    from_issuer = reply_kind(str(section["reply_kind"])).from_issuer
    sender, addressee = form.issuing_authority, form.executing_authority
    parties = (sender, addressee) if from_issuer else (addressee, sender)
    if (
        original is None
        or original.request_type == RequestType.REPLY.value
        or (original.issuing_authority_id, original.executing_authority_id) != parties
    ):
        raise IntakeRefused("unknown-request", "the request this replies to is unknown", status=422)
    try:
        check_reply(section, original.request_type, from_issuer=from_issuer)
        legal_workflow.check_reply_allowed(original, section)
    except ReplyNotApplicable as exc:
        raise IntakeRefused(exc.code, exc.message, status=exc.status) from None


def _prepare_objects(
    blobs: BlobStore, request_id: str, submission: Submission, signed_data_der: bytes
) -> list[PreparedObject]:
    for ref in submission.attachments:
        if ref.inline is not None and hashlib.sha256(ref.inline).hexdigest() != ref.sha256:
            raise IntakeRefused("malformed", f"attachment {ref.name} does not match its hash")
    items = [
        ("signed-request", "request.p7s", "application/pkcs7-mime", signed_data_der),
        ("form", "form.json", "application/json", _form_bytes(submission)),
    ] + [
        ("attachment", ref.name, ref.media_type, ref.inline)
        for ref in submission.attachments
        if ref.inline is not None
    ]
    # written, then synced together: one directory fsync for all of them (blobs)
    return blobs.prepare_many(request_id=request_id, items=items)


def _discard(prepared: list[PreparedObject]) -> None:
    for item in prepared:
        item.discard()


def _form_bytes(submission: Submission) -> bytes:
    return json.dumps(submission.request, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _refuse_anonymous(
    engine: Engine, code: str, detail: str, envelope_sha256: str, client: str, public: str
) -> NoReturn:
    """A refusal before any signer was verified: bounded record and counters, no log leaf."""
    log.warning(
        "submission refused",
        extra={"code": code, "reason": detail[:300], "envelope_sha256": envelope_sha256},
    )
    rejections.note(engine, "intake", code, client=client, envelope_sha256=envelope_sha256)
    raise IntakeRefused(code, public, status=_STATUS_FOR_CODE.get(code, 400))


def _refuse(
    engine: Engine,
    code: str,
    detail: str,
    envelope_sha256: str,
    *,
    public: str,
    status: int | None = None,
) -> NoReturn:
    """Record the rejection (no content, only the hash) and raise the public refusal."""
    log.warning(
        "submission refused",
        extra={"code": code, "reason": detail[:300], "envelope_sha256": envelope_sha256},
    )
    with transaction(engine) as conn:
        record(
            conn,
            None,
            "rejected",
            actor="gateway:intake",
            artefacts={"envelope": envelope_sha256},
            detail={"code": code},
        )
    raise IntakeRefused(code, public, status=status or _STATUS_FOR_CODE.get(code, 400))
