"""`rogatory worker` supervises: a dead Celery worker and a dead embedded Redis are
restarted (one clear log line each) and requests keep flowing; the orphan sweep removes
staging files and row-less object files older than the grace period."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import psutil
from foundation_support import accept, sealed_submission
from process_support import WorkerProcess, wait_for

from gateway.config import Settings
from gateway.domain.states import State
from gateway.persistence import requests_store
from gateway.persistence.blobs import INLINE_LIMIT
from gateway.persistence.db import transaction
from gateway.persistence.orphan_files import sweep_orphans
from gateway.runtime.container import build_runtime


def _celery_main(worker: WorkerProcess) -> psutil.Process:
    children = psutil.Process(worker.process.pid).children()
    mains = [c for c in children if c.cmdline()[-1] == "no-beat"]
    assert len(mains) == 1, [c.cmdline() for c in children]
    return mains[0]


def _scheduler(worker: WorkerProcess) -> psutil.Process:
    children = psutil.Process(worker.process.pid).children()
    schedulers = [c for c in children if c.cmdline()[-1] == "scheduler"]
    assert len(schedulers) == 1, [c.cmdline() for c in children]
    return schedulers[0]


def test_killed_worker_and_killed_embedded_broker_are_restarted(
    make_settings: Callable[..., Settings], start_worker: Callable[..., WorkerProcess]
) -> None:
    settings = make_settings(translation_engine="apertium")
    worker = start_worker(settings)
    rt = build_runtime(settings)
    first = _celery_main(worker)
    first.send_signal(signal.SIGKILL)  # e.g. "Unrecoverable error" after a broker write error
    wait_for(
        lambda: "worker exited; restarting it" in worker.log_path.read_text(),
        what="the supervisor to notice",
    )
    wait_for(lambda: worker.log_path.read_text().count(" ready.") >= 2, what="a new worker")
    assert _celery_main(worker).pid != first.pid
    scheduler = _scheduler(worker)
    scheduler.send_signal(signal.SIGKILL)  # the periodic jobs run in a process of their own
    wait_for(
        lambda: "scheduler exited; restarting it" in worker.log_path.read_text(),
        what="the supervisor to restart the scheduler",
    )
    wait_for(
        lambda: any(
            c.pid != scheduler.pid and c.cmdline()[-1] == "scheduler"
            for c in psutil.Process(worker.process.pid).children()
        ),
        what="a new scheduler",
    )
    redis_pid = int((settings.broker_socket.parent / "redis.pid").read_text())
    os.kill(redis_pid, signal.SIGKILL)
    wait_for(
        lambda: "embedded broker is down; restarting it" in worker.log_path.read_text(),
        what="the supervisor to restart the broker",
    )
    time.sleep(1)
    request_id = accept(rt, sealed_submission(settings))

    def available() -> bool:
        with transaction(rt.engine) as conn:
            return requests_store.get(conn, request_id).state is State.AVAILABLE

    wait_for(available, timeout=240, what="the request to get through after both restarts")
    rt.close()


def test_orphan_sweep_removes_only_old_leftovers_and_reports_them(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    rt = build_runtime(settings)
    scan = os.urandom(INLINE_LIMIT + 1)  # a file of the store (a small form is a row)
    submission = sealed_submission(settings, attachments=[("scan.png", "image/png", scan)])
    request_id = accept(rt, submission, flush=False)
    objects = settings.data_dir / "objects"
    (objects / "staging").mkdir(parents=True, exist_ok=True)
    old = time.time() - 7200
    leftovers = [
        objects / "staging" / "killed-writer.tmp",
        objects / "ab" / "abcdef00-0000-0000-0000-000000000000.enc",
    ]
    fresh = objects / "staging" / "still-writing.tmp"
    for path in [*leftovers, fresh]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"ciphertext")
    for path in leftovers:
        os.utime(path, (old, old))
    with transaction(rt.engine) as conn:
        stored = [rt.blobs.backend.path(o.id) for o in rt.blobs.list(conn, request_id)]
    kept = [path for path in stored if path.exists()]
    assert len(kept) == 2  # the attachment and the signed request that carries it
    for path in kept:  # real objects, as old as the leftovers: they stay
        os.utime(path, (old, old))
    report = sweep_orphans(rt.engine, rt.blobs.root, grace_seconds=3600)
    assert (report.staging_files, report.object_files) == (1, 1)
    assert not any(path.exists() for path in leftovers)
    assert fresh.exists()
    assert kept
    assert all(path.exists() for path in kept)
    rt.close()
