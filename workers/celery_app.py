"""The Celery application of the workers; configured from Settings, JSON only, acks late."""

from __future__ import annotations

from celery import Celery

from gateway.config import Settings, load_settings
from gateway.runtime.celery_sender import celery_config
from gateway.services.audit_checkpoints import CHECKPOINT_INTERVAL_SECONDS

app = Celery("rogatory", include=["workers.tasks", "workers.delivery", "workers.legal"])


def configure(settings: Settings | None = None) -> Celery:
    settings = settings or load_settings()
    app.conf.update(celery_config(settings))
    app.conf.beat_schedule = {
        "flush-outbox": {"task": "rogatory.flush_outbox", "schedule": 5.0},
        "sweep": {"task": "rogatory.sweep", "schedule": 30.0},
        "checkpoint": {"task": "rogatory.checkpoint", "schedule": CHECKPOINT_INTERVAL_SECONDS},
        "refresh-crls": {"task": "rogatory.refresh_crls", "schedule": 3600.0},
        "check-certificates": {"task": "rogatory.check_certificates", "schedule": 86_400.0},
        "legal-clocks": {"task": "rogatory.legal_clocks", "schedule": 600.0},
    }
    return app
