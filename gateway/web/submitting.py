"""The one submission path shared by the API and the web interface."""

from __future__ import annotations

import logging

from gateway.runtime.container import Runtime
from gateway.services.dispatch import flush_outbox
from gateway.services.evidences import Evidence, Sealer, submission_receipt
from gateway.services.intake import Accepted, accept_submission

log = logging.getLogger(__name__)


def submit_sealed(rt: Runtime, data: bytes) -> tuple[Accepted, Evidence]:
    """Intake, then send the first task and issue the signed receipt (the same for a duplicate)."""
    keys = rt.keys
    accepted = accept_submission(
        rt.engine,
        rt.blobs,
        rt.settings,
        data,
        recipient_keys=keys.intake,
        trust=keys.trust(
            allow_stale_crl=rt.settings.allow_stale_crl,
            max_skew_seconds=rt.settings.max_clock_skew_seconds,
        ),
    )
    try:
        flush_outbox(rt.engine, rt.sender)
    except Exception:  # the sweeper sends it later; the submission is safely stored
        log.warning("outbox flush deferred", exc_info=True)
    sealer = Sealer(keys.seal_key, keys.seal_cert, rt.settings.gateway_id)
    return accepted, submission_receipt(rt.engine, accepted.request_id, sealer)
