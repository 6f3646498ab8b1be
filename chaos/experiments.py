"""Bounded fault experiments against real processes; each returns one row of the table."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psutil
from harness import Backend, Tally, post, submit_with_retries

FINAL_STATES = {"acknowledged"}
ACCEPTED_STATES = {"available", "retrieved", "acknowledged"}


@dataclass
class Row:
    backend: str
    experiment: str
    submitted: int
    accepted: int
    available: int
    acknowledged: int
    lost: int
    duplicate_receipts: int
    duplicate_deliveries: int
    http_5xx: int
    stuck: int
    recovery_s: float | None
    note: str = ""
    duplicate_leases: int | None = None  # parallel leasing only
    duplicate_acks: int | None = None


@dataclass
class Options:
    requests: int = 6
    kills: int = 25
    gateway_kills: int = 10
    pause_seconds: float = 60.0
    settle_seconds: float = 300.0


Inject = Callable[[Backend, Tally, Options], str]


def run(backend: Backend, name: str, inject: Inject, options: Options, *, workers: int = 1) -> Row:
    backend.stop()
    gateway = backend.start_gateway()
    for _ in range(workers):
        backend.start_worker()
    tally = Tally()
    url = gateway.url
    bodies = [backend.submission() for _ in range(options.requests)]
    pool = ThreadPoolExecutor(max_workers=max(1, len(bodies)))
    futures = [
        pool.submit(submit_with_retries, tally, lambda: url, mid, body) for mid, body in bodies
    ]
    note = inject(backend, tally, options)
    faults_over = time.monotonic()
    for future in futures:
        future.result()
    pool.shutdown()
    return settle(backend, name, tally, options, faults_over, note)


def settle(
    backend: Backend, name: str, tally: Tally, options: Options, since: float, note: str
) -> Row:
    """Wait (bounded) until every accepted request is acknowledged, then count."""
    request_ids = set(tally.accepted.values())
    recovery: float | None = None
    end = time.monotonic() + options.settle_seconds
    states: dict[str, str] = {}
    while time.monotonic() < end:
        all_states = backend.states()
        states = {rid: all_states.get(rid, "missing") for rid in request_ids}
        if all(state in FINAL_STATES for state in states.values()):
            recovery = time.monotonic() - since
            break
        time.sleep(1)
    evidences = backend.acceptance_evidences()
    return Row(
        backend=backend.name,
        experiment=name,
        submitted=len(tally.submitted),
        accepted=len(tally.accepted),
        available=sum(1 for s in states.values() if s in ACCEPTED_STATES),
        acknowledged=sum(1 for s in states.values() if s == "acknowledged"),
        lost=sum(1 for s in states.values() if s == "missing"),
        duplicate_receipts=sum(1 for r in tally.receipts.values() if len(r) > 1)
        + sum(1 for rid in request_ids if evidences[rid] > 1),
        duplicate_deliveries=sum(1 for rid in request_ids if backend.peer.received[rid] > 1),
        http_5xx=sum(n for code, n in tally.statuses.items() if code >= 500 and code != 507),
        stuck=sum(1 for s in states.values() if s not in FINAL_STATES),
        recovery_s=None if recovery is None else round(recovery, 1),
        note=note,
    )


def _celery_main(backend: Backend) -> psutil.Process | None:
    for worker in backend.workers:
        if worker.process.poll() is None:
            for child in psutil.Process(worker.process.pid).children():
                if child.cmdline()[-1] == "no-beat":  # the Celery worker, not the scheduler
                    return child
    return None


def kill_worker_groups(backend: Backend, tally: Tally, options: Options) -> str:
    for _ in range(options.kills):
        time.sleep(random.uniform(0.5, 3.0))  # noqa: S311  (fault timing, not crypto)
        worker = backend.workers[-1]
        worker.kill()
        backend.start_worker()
    return f"{options.kills} process-group SIGKILLs"


def kill_pool_children(backend: Backend, tally: Tally, options: Options) -> str:
    killed = 0
    for _ in range(options.kills):
        time.sleep(random.uniform(0.5, 3.0))  # noqa: S311
        main = _celery_main(backend)
        children = main.children() if main is not None else []
        if children:
            random.choice(children).send_signal(signal.SIGKILL)  # noqa: S311
            killed += 1
    return f"{killed} pool-child SIGKILLs"


def kill_gateway(backend: Backend, tally: Tally, options: Options) -> str:
    # a burst of its own, with client retries, while the gateway dies and comes back
    gateway = backend.gateways[-1]
    port = gateway.port
    bodies = [backend.submission() for _ in range(options.requests * 2)]
    pool = ThreadPoolExecutor(max_workers=len(bodies))
    url = gateway.url
    futures = [
        pool.submit(submit_with_retries, tally, lambda: url, mid, body) for mid, body in bodies
    ]
    for _ in range(options.gateway_kills):
        time.sleep(random.uniform(0.3, 2.0))  # noqa: S311
        backend.gateways[-1].kill()
        time.sleep(0.5)
        backend.start_gateway(port=port)
    for future in futures:
        future.result()
    pool.shutdown()
    return f"{options.gateway_kills} gateway SIGKILLs, clients retry"


def pause_broker(backend: Backend, tally: Tally, options: Options) -> str:
    time.sleep(2)
    if backend.proxy is not None:
        backend.proxy.pause()
        time.sleep(options.pause_seconds)
        backend.proxy.resume()
        return f"broker proxy paused {options.pause_seconds:g} s"
    pid = int((backend.settings.broker_socket.parent / "redis.pid").read_text())
    os.kill(pid, signal.SIGSTOP)  # our own embedded Redis
    try:
        time.sleep(options.pause_seconds)
    finally:
        os.kill(pid, signal.SIGCONT)
    return f"embedded Redis SIGSTOPped {options.pause_seconds:g} s"


def refuse_broker_writes(backend: Backend, tally: Tally, options: Options) -> str:
    """Our embedded Redis answers every write with an error (as `MISCONF` on a full disk)."""
    if not backend.settings.embedded_broker:
        return "n/a (shared broker is never reconfigured)"
    import redis

    client = redis.Redis(unix_socket_path=str(backend.settings.broker_socket))
    time.sleep(2)
    client.config_set("min-replicas-to-write", 1)  # NOREPLICAS on every write
    try:
        time.sleep(min(options.pause_seconds, 30))
    finally:
        client.config_set("min-replicas-to-write", 0)
        client.close()
    restarts = sum(
        w.log_path.read_text().count("worker exited; restarting it") for w in backend.workers
    )
    return f"writes refused {min(options.pause_seconds, 30):g} s; {restarts} worker restarts"


def terminate_backends(backend: Backend, tally: Tally, options: Options) -> str:
    if backend.database is None:
        return "n/a (SQLite)"
    terminated = 0
    for _ in range(10):
        time.sleep(random.uniform(0.5, 2.0))  # noqa: S311
        terminated += backend.terminate_own_backends()
    return f"{terminated} own PostgreSQL backends terminated"


def duplicate_races(backend: Backend, options: Options) -> Row:
    backend.stop()
    gateway = backend.start_gateway()
    backend.start_worker()
    tally = Tally()
    same_id, same = backend.submission()
    other_id = f"chaos-{os.urandom(8).hex()}"
    different = [backend.submission(other_id)[1] for _ in range(50)]
    tally.submitted |= {same_id, other_id}
    replayed = 0

    def send(item: tuple[str, bytes]) -> None:
        nonlocal replayed
        message_id, body = item
        response = post(gateway.url, body)
        tally.record(message_id, response)
        if response.status_code == 409:
            replayed += 1

    with ThreadPoolExecutor(max_workers=100) as pool:
        list(pool.map(send, [(same_id, same)] * 50 + [(other_id, b) for b in different]))
    return settle(
        backend, "duplicate races", tally, options, time.monotonic(), f"{replayed}x 409 replayed"
    )


def disk_full(backend: Backend, options: Options) -> Row:
    """The object store on a small tmpfs we mount (root), filled; 507s, then recovery."""
    backend.stop()
    objects = backend.settings.data_dir / "objects"
    objects.mkdir(parents=True, exist_ok=True)
    mount = ["/usr/bin/mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(objects)]
    subprocess.run(mount, check=True)  # noqa: S603
    try:
        gateway = backend.start_gateway()
        backend.start_worker()
        filler = objects / "filler"
        with open(filler, "wb") as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError:
                pass
        tally = Tally()
        full_answers: list[int] = []
        for _ in range(3):
            message_id, body = backend.submission()
            tally.submitted.add(message_id)
            response = post(gateway.url, body)
            tally.record(message_id, response)
            full_answers.append(response.status_code)
        leftovers = list((objects / "staging").glob("*")) if (objects / "staging").exists() else []
        filler.unlink()
        since = time.monotonic()
        for _ in range(options.requests):
            message_id, body = backend.submission()
            submit_with_retries(tally, lambda: gateway.url, message_id, body)
        row = settle(
            backend,
            "disk full (tmpfs)",
            tally,
            options,
            since,
            f"full: {full_answers}, staging leftovers {len(leftovers)}",
        )
        backend.stop()
        return row
    finally:
        backend.stop()
        subprocess.run(["/usr/bin/umount", "-l", str(objects)], check=False)  # noqa: S603


EXPERIMENTS: list[tuple[str, Inject]] = [
    ("worker SIGKILL (group)", kill_worker_groups),
    ("worker SIGKILL (pool child)", kill_pool_children),
    ("gateway SIGKILL, retries", kill_gateway),
    ("broker paused", pause_broker),
    ("broker refuses writes", refuse_broker_writes),
    ("PG backends terminated", terminate_backends),
]


def in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread
