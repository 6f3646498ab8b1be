"""Prometheus metrics of the gateway and its workers (prometheus_client).

Counters and histograms live in the process that observes them (web: rejected
submissions; workers: step durations, step failures, MT segments). Gauges of the
work itself (requests by state, outbox backlog, queue depth, audit log size, days to
the earliest certificate expiry) are read from the database and the broker when
scraped, so any gateway process reports the same numbers. With PROMETHEUS_MULTIPROC_DIR
set (the worker sets it for its child processes), the process metrics of every child
are summed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.runtime.broker import queue_depths
from gateway.services.operations_metrics import work_snapshot

if TYPE_CHECKING:
    from gateway.runtime.container import Runtime

log = logging.getLogger(__name__)

REJECTED_SUBMISSIONS = Counter(
    "rogatory_submissions_rejected", "Submissions refused, by problem code", ["code"]
)
STEP_DURATION = Histogram(
    "rogatory_step_duration_seconds",
    "Duration of pipeline steps run by workers",
    ["step"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
STEP_FAILURES = Counter("rogatory_step_failures", "Pipeline steps that failed", ["step"])
MT_SEGMENTS = Counter("rogatory_mt_segments", "Segments machine-translated", ["engine"])
MT_SECONDS = Counter("rogatory_mt_seconds", "Time spent machine-translating", ["engine"])
MT_RATE = Gauge(
    "rogatory_mt_segments_per_second",
    "Segments per second of the last translated batch",
    ["engine"],
    multiprocess_mode="mostrecent",
)


def record_translation(engine: str, segments: int, seconds: float) -> None:
    MT_SEGMENTS.labels(engine).inc(segments)
    MT_SECONDS.labels(engine).inc(seconds)
    if seconds > 0:
        MT_RATE.labels(engine).set(segments / seconds)


class WorkCollector(Collector):
    """Gauges read from the database, the broker and the keyring at scrape time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = work_snapshot(self.runtime.engine)
        states = GaugeMetricFamily("rogatory_requests", "Requests by state", labels=["state"])
        for state, count in sorted(snapshot.requests_by_state.items()):
            states.add_metric([state], count)
        yield states
        yield GaugeMetricFamily(
            "rogatory_outbox_backlog",
            "Tasks written but not yet sent",
            value=snapshot.outbox_backlog,
        )
        yield GaugeMetricFamily(
            "rogatory_audit_log_entries",
            "Entries in the audit log",
            value=snapshot.audit_log_entries,
        )
        depth = GaugeMetricFamily("rogatory_queue_depth", "Tasks waiting", labels=["queue"])
        try:
            for queue, count in queue_depths(self.runtime.settings).items():
                depth.add_metric([queue], count)
        except Exception as exc:  # an unreachable broker must not break the scrape
            log.warning("queue depth unavailable", extra={"reason": type(exc).__name__})
        yield depth
        try:
            yield from self._expiry(snapshot.earliest_authority_certificate_expiry)
        except Exception as exc:  # a broken keyring shows in /ready, not as a failed scrape
            log.warning("certificate expiry unavailable", extra={"reason": type(exc).__name__})

    def _expiry(self, authority_expiry: datetime | None) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC)
        candidates = [c.not_valid_after_utc for c in self.runtime.keys.certificates().values()]
        if authority_expiry is not None:
            candidates.append(authority_expiry)
        days = (min(candidates) - now).total_seconds() / 86_400
        yield GaugeMetricFamily(
            "rogatory_certificate_expiry_days",
            "Days until the earliest certificate (gateway, CA or authority) expires",
            value=round(days, 3),
        )


def process_registry() -> CollectorRegistry:
    """This process's counters, or every worker child's in multiprocess mode."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
    return registry


def render(runtime: Runtime) -> tuple[bytes, str]:
    """The `/metrics` body and content type."""
    work = CollectorRegistry(auto_describe=False)
    work.register(WorkCollector(runtime))
    return generate_latest(work) + generate_latest(process_registry()), CONTENT_TYPE_LATEST
