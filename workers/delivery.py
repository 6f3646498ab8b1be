"""Celery task for push delivery: one attempt per run, Celery retries with backoff."""

from __future__ import annotations

from gateway.services import push_delivery
from gateway.services.evidences import Sealer
from workers.celery_app import app
from workers.tasks import runtime


@app.task(  # type: ignore[untyped-decorator]
    name="rogatory.deliver",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=push_delivery.MAX_ATTEMPTS - 1,
)
def deliver(self: object, request_id: str) -> str:
    rt = runtime()
    keys = rt.keys
    attempt = self.request.retries + 1  # type: ignore[attr-defined]
    result = push_delivery.deliver_once(
        rt.engine,
        rt.blobs,
        request_id,
        sealer=Sealer(keys.seal_key, keys.seal_cert, rt.settings.gateway_id),
        trust=keys.trust(
            allow_stale_crl=rt.settings.allow_stale_crl,
            max_skew_seconds=rt.settings.max_clock_skew_seconds,
        ),
        attempt=attempt,
    )
    if result.retry:
        countdown = push_delivery.backoff(attempt).total_seconds()
        raise self.retry(countdown=countdown)  # type: ignore[attr-defined]
    return result.outcome
