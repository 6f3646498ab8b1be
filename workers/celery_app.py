"""The Celery application of the workers; configured from Settings, JSON only, acks late."""

from __future__ import annotations

from celery import Celery

from gateway.config import Settings, load_settings
from gateway.runtime.asn1_names import register_asn1_names
from gateway.runtime.celery_sender import celery_config
from gateway.services.scheduling import periodic_jobs

app = Celery("rogatory", include=["workers.tasks", "workers.delivery", "workers.legal"])


def configure(settings: Settings | None = None) -> Celery:
    settings = settings or load_settings()
    # before any task runs: pool children inherit the registered names
    register_asn1_names()
    app.conf.update(celery_config(settings))
    # a worker waits out a broker outage (reconnecting with backoff) instead of giving up
    app.conf.broker_connection_max_retries = None
    # every worker's beat may fire these; each job runs once per period per cluster
    # (a database lease decides, see services/scheduling.py)
    app.conf.beat_schedule = {
        "flush-outbox": {"task": "rogatory.flush_outbox", "schedule": 5.0},
        **{
            job.name: {"task": job.task, "schedule": job.period.total_seconds()}
            for job in periodic_jobs(settings)
        },
    }
    return app
