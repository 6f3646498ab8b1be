"""The one submission path shared by the API and the web interface."""

from __future__ import annotations

import logging

from gateway.runtime.container import Runtime
from gateway.services.dispatch import flush_outbox
from gateway.services.evidences import Evidence, submission_receipt
from gateway.services.intake import Accepted, accept_submission
from gateway.services.upload_capabilities import UploadCapability, issue_if_awaiting

log = logging.getLogger(__name__)


def submit_sealed(
    rt: Runtime, data: bytes, *, client: str = "unknown"
) -> tuple[Accepted, Evidence]:
    """Intake, then send the first task and issue the signed receipt (the same for a duplicate)."""
    accepted = accept_submission(
        rt.engine,
        rt.blobs,
        rt.settings,
        data,
        recipient_keys=rt.keys.intake,
        trust=rt.trust(),
        client=client,
    )
    try:
        flush_outbox(rt.engine, rt.sender)
    except Exception:  # the sweeper sends it later; the submission is safely stored
        log.warning("outbox flush deferred", exc_info=True)
    return accepted, submission_receipt(rt.engine, accepted.request_id, rt.sealer())


def upload_capability(rt: Runtime, accepted: Accepted) -> UploadCapability | None:
    """The token for the attachment PUTs, when the signed manifest still awaits some."""
    return issue_if_awaiting(rt.engine, rt.blobs, accepted.request_id)
