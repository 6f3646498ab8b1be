"""The one submission path shared by the API and the web interface."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import BinaryIO, TypeVar

from sqlalchemy.exc import OperationalError

from gateway.runtime.container import Runtime
from gateway.services.dispatch import flush_outbox, send_claimed
from gateway.services.evidences import Evidence, submission_receipt
from gateway.services.intake import Accepted, AttachmentBinding, accept_submission
from gateway.services.streamed_intake import receive_stream
from gateway.services.upload_capabilities import UploadCapability, issue_if_awaiting

log = logging.getLogger(__name__)

T = TypeVar("T")
_DB_ATTEMPTS = 3


def submit_sealed(
    rt: Runtime, data: bytes, *, client: str = "unknown"
) -> tuple[Accepted, Evidence]:
    """Intake (request, audit entries and signed receipt in one transaction), then send
    the first task; a duplicate gets the receipt of the first answer."""
    accepted = _intake(rt, data, client=client, binding=None)
    return accepted, _after_intake(rt, accepted)


def submit_streamed(
    rt: Runtime, body: BinaryIO, *, client: str = "unknown"
) -> tuple[Accepted, Evidence]:
    """A streamed submission (services/streamed_intake.py): the announcement verified, the
    attachments staged, then intake as ``submit_sealed`` with them bound to the request;
    they are removed unless they became a new request's."""
    streamed = receive_stream(
        rt.engine,
        rt.blobs,
        rt.settings,
        body,
        recipient_keys=rt.keys.intake,
        trust=rt.trust(),
        client=client,
    )
    attachments = streamed.attachments
    try:
        accepted = _intake(rt, streamed.sealed, client=client, binding=attachments)
    except BaseException:
        attachments.discard_unrecorded(rt.engine)
        raise
    if accepted.duplicate:
        attachments.discard_unrecorded(rt.engine)
    return accepted, _after_intake(rt, accepted)


def _intake(
    rt: Runtime, data: bytes, *, client: str, binding: AttachmentBinding | None
) -> Accepted:
    """accept_submission with this runtime's keys, seal and committer (retried on a lost
    database connection, see _retrying_lost_connections)."""
    return _retrying_lost_connections(
        lambda: accept_submission(
            rt.engine,
            rt.blobs,
            rt.settings,
            data,
            recipient_keys=rt.keys.intake,
            trust=rt.trust(),
            client=client,
            sealer=rt.sealer(),
            committer=rt.committer,
            sends_first_task=True,
            binding=binding,
        )
    )


def _after_intake(rt: Runtime, accepted: Accepted) -> Evidence:
    """Send the first task claimed at intake; the receipt (a duplicate's: the first's)."""
    try:
        if accepted.task is not None:  # claimed in the intake transaction: send it now
            send_claimed(
                rt.engine,
                rt.sender,
                accepted.task,
                urgent=accepted.urgent,
                committer=rt.committer,
            )
        elif accepted.duplicate:  # whatever an earlier answer may have left unsent
            flush_outbox(rt.engine, rt.sender)
    except Exception:  # the sweeper sends it later; the submission is safely stored
        log.warning("outbox flush deferred", exc_info=True)
    receipt = accepted.receipt  # a new request's, signed in its intake transaction
    if receipt is None:  # a duplicate gets the first answer's receipt
        receipt = _retrying_lost_connections(
            lambda: submission_receipt(rt.engine, accepted.request_id, rt.sealer())
        )
    return receipt


def _retrying_lost_connections(call: Callable[[], T]) -> T:
    """Run `call` again when the database connection died under it (server restart,
    terminated backend): intake is idempotent, so a retry answers as the first would."""
    for attempt in range(1, _DB_ATTEMPTS + 1):
        try:
            return call()
        except OperationalError:
            if attempt == _DB_ATTEMPTS:
                raise
            log.warning("database connection lost; retrying", extra={"attempt": attempt})
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def upload_capability(rt: Runtime, accepted: Accepted) -> UploadCapability | None:
    """The token for the attachment PUTs, when the signed manifest still awaits some."""
    if not accepted.duplicate:  # intake issued it with the request, if it needs one
        return accepted.upload
    return issue_if_awaiting(rt.engine, rt.blobs, accepted.request_id)
