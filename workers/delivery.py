"""Celery task for push delivery: one attempt per run, Celery retries with backoff."""

from __future__ import annotations

import logging

from gateway.services import push_delivery
from gateway.services.outbound import OutboundPolicy
from workers.celery_app import app
from workers.tasks import runtime

log = logging.getLogger(__name__)


@app.task(  # type: ignore[untyped-decorator]
    name="rogatory.deliver",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=push_delivery.MAX_ATTEMPTS - 1,
)
def deliver(self: object, request_id: str) -> str:
    rt = runtime()
    attempt = self.request.retries + 1  # type: ignore[attr-defined]
    try:
        result = push_delivery.deliver_once(
            rt.engine,
            rt.blobs,
            request_id,
            sealer=rt.sealer(),
            trust=rt.trust(),
            attempt=attempt,
            policy=OutboundPolicy.from_settings(rt.settings),
        )
    except Exception as exc:  # e.g. the database connection died: never drop the delivery
        log.exception("delivery attempt broke off; retrying", extra={"request_id": request_id})
        raise self.retry(countdown=10, exc=exc, max_retries=None) from None  # type: ignore[attr-defined]
    if result.retry:
        countdown = push_delivery.backoff(attempt).total_seconds()
        raise self.retry(countdown=countdown)  # type: ignore[attr-defined]
    return result.outcome
