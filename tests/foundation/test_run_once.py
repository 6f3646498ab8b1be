"""Outbox rows are claimed before sending and periodic jobs run once per cluster.

Several flushers at once (threads here, the web process and every worker in
production) send each row exactly once; two real workers, each with its own beat,
send each row once and run each periodic job once per period between them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from process_support import WorkerProcess, private_redis_url, wait_for

from gateway.config import Settings
from gateway.persistence import outbox_store
from gateway.persistence.db import transaction
from gateway.persistence.tables import outbox
from gateway.runtime.container import build_runtime
from gateway.services import scheduling
from gateway.services.dispatch import flush_outbox

ROWS = 200


class CountingSender:
    def __init__(self) -> None:
        self.sent: list[int] = []
        self._lock = threading.Lock()

    def send(self, task: str, payload: dict[str, Any], *, queue: str) -> None:
        time.sleep(0.001)  # a real send takes time: widen the window for a double send
        with self._lock:
            self.sent.append(int(payload["n"]))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Settings:
    if request.param == "sqlite":
        return make_settings()
    return make_settings(database_url=request.getfixturevalue("fresh_postgres_url"))


def _enqueue(settings: Settings, task: str, count: int) -> None:
    rt = build_runtime(settings)
    with transaction(rt.engine) as conn:
        for n in range(count):
            outbox_store.enqueue(conn, task, {"request_id": f"probe-{n}", "n": n})
    rt.close()


def test_concurrent_flushers_send_each_outbox_row_exactly_once(
    database_settings: Settings,
) -> None:
    _enqueue(database_settings, "rogatory.translate", ROWS)
    rt = build_runtime(database_settings)
    sender = CountingSender()

    def flusher(_: int) -> int:
        total = 0
        while sent := flush_outbox(rt.engine, sender, limit=7):
            total += sent
        return total

    with ThreadPoolExecutor(max_workers=8) as pool:
        totals = list(pool.map(flusher, range(8)))
    assert sum(totals) == ROWS
    assert Counter(sender.sent) == Counter(range(ROWS))
    with transaction(rt.engine) as conn:
        unsent = conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        ).scalar()
    assert unsent == 0
    rt.close()


def _log_entries(worker: WorkerProcess) -> list[dict[str, Any]]:
    entries = []
    for line in worker.log_path.read_text().splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                entries.append(json.loads(line))
    return entries


def _queued_messages(client: redis.Redis, queue: str) -> int:
    return sum(int(client.llen(key)) for key in client.keys(f"{queue}*"))


def test_two_workers_send_each_row_once_and_run_each_job_once_per_period(
    make_settings: Callable[..., Settings],
    fresh_postgres_url: str,
    redis_broker_url: str,
    start_worker: Callable[..., WorkerProcess],
) -> None:
    # a Redis database of this test's own: the probe queue is counted there
    broker = private_redis_url("run-once")
    client = redis.Redis.from_url(broker)
    client.delete(*client.keys("translate*") or ["translate"])
    settings = make_settings(
        database_url=fresh_postgres_url, broker_url=broker, sweep_interval_seconds=2
    )
    # the workers take only `default`: what the outbox sends to `translate` stays countable
    workers = [start_worker(settings, queues="default") for _ in range(2)]
    _enqueue(settings, "rogatory.translate", 60)
    rt = build_runtime(settings)

    def all_sent() -> bool:
        with transaction(rt.engine) as conn:
            return not conn.execute(
                sa.select(outbox.c.id).where(outbox.c.sent_at.is_(None)).limit(1)
            ).first()

    wait_for(all_sent, timeout=120, what="the workers' beats to flush the outbox")
    time.sleep(10)  # several sweep periods with both beats firing
    assert _queued_messages(client, "translate") == 60
    fired = [
        len(re.findall(r"Sending due task sweep", worker.log_path.read_text()))
        for worker in workers
    ]
    assert min(fired) >= 3, fired  # both schedulers were firing
    started = sorted(
        datetime.fromisoformat(entry["time"])
        for worker in workers
        for entry in _log_entries(worker)
        if entry.get("message") == "periodic job started" and entry.get("job") == "sweep"
    )
    assert len(started) == scheduling.runs(rt.engine, "sweep") < sum(fired)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(started)]
    assert min(gaps) >= 0.8 * 2 - 0.2, gaps  # never twice in one period
    client.delete(*client.keys("translate*") or ["translate"])
    client.close()
    rt.close()
