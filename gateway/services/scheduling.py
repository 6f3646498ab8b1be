"""Periodic jobs, once per cluster: every worker's beat may fire them, a lease decides.

A job's run is granted by a conditional UPDATE of its `periodic_jobs` row (row lock on
PostgreSQL, the write lock on SQLite), so N schedulers give one run per period.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine

from gateway.config import Settings
from gateway.persistence import periodic_store
from gateway.persistence.db import transaction
from gateway.services.audit_checkpoints import CHECKPOINT_INTERVAL_SECONDS


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    period: timedelta


def periodic_jobs(settings: Settings) -> list[PeriodicJob]:
    return [
        PeriodicJob("sweep", "rogatory.sweep", timedelta(seconds=settings.sweep_interval_seconds)),
        PeriodicJob(
            "checkpoint", "rogatory.checkpoint", timedelta(seconds=CHECKPOINT_INTERVAL_SECONDS)
        ),
        PeriodicJob("refresh-crls", "rogatory.refresh_crls", timedelta(hours=1)),
        PeriodicJob("check-certificates", "rogatory.check_certificates", timedelta(days=1)),
        PeriodicJob("legal-clocks", "rogatory.legal_clocks", timedelta(minutes=10)),
    ]


def lease(engine: Engine, settings: Settings, name: str) -> bool:
    """True if this caller may run job `name` now (nobody ran it this period)."""
    job = next(job for job in periodic_jobs(settings) if job.name == name)
    holder = f"{socket.gethostname()}:{os.getpid()}"
    with transaction(engine) as conn:
        return periodic_store.try_acquire(conn, name, job.period, holder)


def runs(engine: Engine, name: str) -> int:
    with transaction(engine) as conn:
        return periodic_store.runs(conn, name)
