"""Signed submissions per second and p95 latency over real HTTP, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/bench_exchange.py [--quick] [--no-postgres] [--intake-key ec|rsa]

Submissions are signed with the dev PKI's RSA-3072 magistrate key and encrypted (ECDH,
AES-256-GCM) to an EC P-256 intake certificate the bench adds beside the RSA-3072 one;
`--intake-key rsa` encrypts to the RSA one instead (RSA-OAEP: ~0.8 ms more per submission).

Baseline (same run): opening and verifying the same envelopes in process, no HTTP and
no database; the ratio shows what HTTP + intake + storage + audit cost on top.
The gateway is `rogatory serve`'s gunicorn (gthread) with --server-processes workers.
Targets (issue 16): >= 200 submissions/s with p95 < 100 ms on SQLite, >= 150/s on
PostgreSQL; PostgreSQL is also run with two gateway nodes (two gunicorn arbiters on the
same database, clients spread over both) to show how intake scales out.

Durable before the 202 (README, "Durability"): one transaction, shared by concurrent
submissions of one gateway process (group commit), commits the request, the ciphertext of
its signed request, form and inline attachments up to 64 KiB each (encrypted before the
transaction; larger ones are files, fsynced with their directory before it), its audit
entries and its signed receipt (PostgreSQL: WAL flushed at commit; SQLite: WAL with
synchronous=FULL, fsynced at commit).
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.config import Settings, load_settings
from gateway.crypto import encrypt_envelope, open_submission, sign
from gateway.crypto.devpki import add_ec_intake_key
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import build_submission
from gateway.runtime.container import build_runtime
from gateway.runtime.key_import import KeyImporter
from gateway.runtime.setup import initialise
from gateway.web.app import create_app
from gateway.web.server import GatewayServer

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://127.0.0.1:5432"
CONNECTIONS = 8  # concurrent kept-alive client connections per gateway node
TARGETS = {"sqlite": 200.0, "postgresql": 150.0}  # submissions/s (issue 16)
P95_TARGET = 0.100  # seconds


class NullSender:
    def send(self, task: str, payload: dict[str, Any], *, queue: str) -> None:
        pass

    def close(self) -> None:
        pass


INTAKE_CERTS = {"ec": "gateway-intake-ec.pem", "rsa": "gateway-intake.pem"}


def add_intake_key(settings: Settings, kind: str) -> str:
    """For ``ec``, a second intake key (EC P-256, ECDH) beside the dev PKI's RSA-3072 one,
    as a deployment serving systems (ECDH) and browsers (RSA-OAEP only) holds; a label."""
    if kind == "rsa":
        return "RSA-3072 intake key (RSA-OAEP)"
    pair = add_ec_intake_key(settings.keys_dir / "dev-pki")
    for _line in KeyImporter(settings.keys_dir).intake([(pair.key, pair.cert)], replace=False):
        pass
    return "EC P-256 intake key (ECDH; the RSA-3072 one stays configured)"


def make_envelopes(settings: Settings, count: int, intake_key: str) -> list[bytes]:
    pki = settings.keys_dir / "dev-pki"
    key = load_private_key(pki / "magistrate-rsa.key")
    cert = load_certificate(pki / "magistrate-rsa.pem")
    intake = load_certificate(pki / INTAKE_CERTS[intake_key])
    request = json.loads((ROOT / "tests" / "fixtures" / "mla_request.json").read_text())
    envelopes = []
    for _ in range(count):
        content = build_submission(
            gateway=settings.gateway_id,
            message_id=f"bench-{uuid.uuid4().hex}",
            created=datetime.now(UTC),
            request=request,
            attachments=[],
        )
        envelopes.append(encrypt_envelope(sign(content, key, cert), [intake]))  # type: ignore[arg-type]
    return envelopes


def baseline(settings: Settings, envelopes: list[bytes]) -> float:
    """Seconds per envelope to decrypt and verify in process (no HTTP, no database)."""
    runtime = build_runtime(settings)
    keys = runtime.keys
    trust = keys.trust(allow_stale_crl=False, max_skew_seconds=600)
    started = time.perf_counter()
    for data in envelopes:
        open_submission(data, keys.intake, trust, now=datetime.now(UTC))
    runtime.close()
    return (time.perf_counter() - started) / len(envelopes)


class BenchServer(GatewayServer):
    """`rogatory serve`'s gunicorn arbiter, with a sender that drops tasks (intake only)."""

    def load(self) -> Any:
        import logging

        logging.getLogger("gunicorn.error").setLevel(logging.WARNING)
        runtime = build_runtime(self._settings)
        runtime.sender = NullSender()  # type: ignore[assignment]
        app = create_app(self._settings, runtime=runtime)
        app.config["ROGATORY_RATE_LIMITS"] = {"intake": (1e6, 1_000_000)}  # all from 127.0.0.1
        return app


def _run_gateway(settings: Settings, port: int) -> None:
    BenchServer(settings, "127.0.0.1", port).run()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_gateways(
    settings: Settings, nodes: int, processes: int
) -> tuple[list[int], list[multiprocessing.process.BaseProcess]]:
    """`nodes` gunicorn arbiters (one per gateway node), each with `processes` workers."""
    tuned = dataclasses.replace(settings, http_workers=processes, log_level="WARNING")
    # spawn, not fork: the arbiter must not inherit this process's threads and locks
    context = multiprocessing.get_context("spawn")
    ports, arbiters = [], []
    for _ in range(nodes):
        port = _free_port()
        arbiter = context.Process(target=_run_gateway, args=(tuned, port), daemon=False)
        arbiter.start()
        ports.append(port)
        arbiters.append(arbiter)
    deadline = time.monotonic() + 60
    for port in ports:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gateway did not start")
            time.sleep(0.2)
    return ports, arbiters


def _post_all(
    urls: list[str], envelopes: list[bytes], connections: int
) -> tuple[list[float], float, float]:
    """Send every envelope over `connections` kept-alive HTTP/1.1 connections (spread
    over `urls`); (latencies, wall seconds, client CPU seconds). http.client, not httpx:
    the client must cost far less than the server it measures."""
    queue = list(reversed(envelopes))
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []

    def sender(url: str) -> None:
        parsed = urlsplit(url)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        headers = {"Content-Type": "application/pkcs7-mime"}
        try:
            while True:
                with lock:
                    if not queue or failures:
                        return
                    data = queue.pop()
                began = time.perf_counter()
                conn.request("POST", parsed.path, body=data, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                elapsed = time.perf_counter() - began
                with lock:
                    if response.status != 202:
                        failures.append(f"{response.status} {answer[:300]!r}")
                    latencies.append(elapsed)
        finally:
            conn.close()

    threads = [
        threading.Thread(target=sender, args=(urls[i % len(urls)],)) for i in range(connections)
    ]
    cpu, started = time.process_time(), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if failures:
        raise SystemExit(f"submission refused: {failures[0]}")
    return latencies, wall, cpu


@dataclasses.dataclass(frozen=True)
class Run:
    rate: float  # submissions/s
    p50: float  # seconds
    p95: float
    client_cpu: float  # client CPU seconds per second of run (1.0 = one core)
    server_cpu: float  # gateway worker processes' CPU seconds per submission
    worker_shares: tuple[int, ...]  # % of that CPU per worker process (how evenly spread)


def run_http(
    settings: Settings,
    envelopes: list[bytes],
    processes: int,
    nodes: int = 1,
    connections: int = CONNECTIONS,
) -> Run:
    """`connections` client connections per node to `nodes` gateway nodes (gunicorn
    arbiters) of `processes` workers each, all on the same database."""
    ports, arbiters = start_gateways(settings, nodes, processes)
    urls = [f"http://127.0.0.1:{port}/api/v1/submissions" for port in ports]
    warm = max(2 * connections * nodes, len(envelopes) // 10)
    try:
        _post_all(urls, envelopes[:warm], connections * nodes)  # imports, pools, caches
        workers = [
            child
            for arbiter in arbiters
            for child in psutil.Process(arbiter.pid).children(recursive=True)
        ]
        before = [_cpu_seconds(worker) for worker in workers]
        latencies, wall, cpu = _post_all(urls, envelopes[warm:], connections * nodes)
        used = [_cpu_seconds(worker) - first for worker, first in zip(workers, before, strict=True)]
    finally:
        for arbiter in arbiters:
            arbiter.terminate()  # SIGTERM: gunicorn's graceful stop
            arbiter.join(timeout=30)
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    total = sum(used)
    shares = tuple(round(100 * one / total) if total else 0 for one in used)
    rate, p50 = len(ordered) / wall, statistics.median(ordered)
    return Run(rate, p50, p95, cpu / wall, total / len(ordered), shares)


def _cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU seconds a gateway worker process has used so far."""
    times = process.cpu_times()
    return float(times.user + times.system)


def postgres_settings(base: Settings, name: str) -> Settings:
    admin = sa.create_engine(
        "postgresql+psycopg://127.0.0.1:5432/test", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    settings = load_settings(
        {},
        overrides={
            "data_dir": base.data_dir / "pg",
            "keys_dir": base.keys_dir,
            "database_url": f"{PG_SERVER}/{name}",
        },
    )
    for _line in initialise(settings, dev_pki=False, demo_authorities=True):
        pass
    return settings


def drop_postgres(name: str) -> None:
    admin = sa.create_engine(
        "postgresql+psycopg://127.0.0.1:5432/test", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def report(label: str, run: Run, base: float, target: float | None) -> None:
    """One run's line; with a target (one node) its PASS/MISS, else for comparison only."""
    if target is None:
        verdict = "comparison with 1 node: twice the connections on the same 2 cores"
    else:
        passed = run.rate >= target and run.p95 < P95_TARGET
        verdict = f"target >= {target:.0f}/s and p95 < {P95_TARGET * 1000:.0f} ms: " + (
            "PASS" if passed else "MISS"
        )
    print(
        f"{label:10s} {run.rate:7.1f} submissions/s  p50 {run.p50 * 1000:6.1f} ms  "
        f"p95 {run.p95 * 1000:6.1f} ms  ratio to in-process ceiling {run.rate * base:5.2f}  "
        f"client CPU {run.client_cpu:4.2f} core  server CPU {run.server_cpu * 1000:4.1f} ms each "
        f"(per worker %: {'/'.join(map(str, run.worker_shares))})  "
        f"[{verdict}]"
    )


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="120 submissions per run")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--server-processes", type=int, default=2)
    parser.add_argument(
        "--connections",
        type=int,
        default=CONNECTIONS,
        help="concurrent kept-alive client connections per gateway node",
    )
    parser.add_argument(
        "--intake-key",
        choices=sorted(INTAKE_CERTS),
        default="ec",
        help="the intake certificate the submissions are encrypted to (default: ec)",
    )
    args = parser.parse_args()
    count = 120 if args.quick else 600
    with tempfile.TemporaryDirectory(prefix="bench-exchange-") as tmp:
        settings = load_settings({}, overrides={"data_dir": Path(tmp) / "sqlite"})
        for _line in initialise(settings, dev_pki=True, demo_authorities=True):
            pass
        intake_label = add_intake_key(settings, args.intake_key)
        envelopes = make_envelopes(settings, count, args.intake_key)
        base = baseline(settings, envelopes)
        print(
            f"in-process ceiling (open+verify, one thread): {1 / base:7.1f}/s "
            f"({base * 1000:.2f} ms each); {args.server_processes} server processes, "
            f"{args.connections} connections per node, {count} submissions per run; "
            f"signed RSA-3072, encrypted to the {intake_label}"
        )
        backends = [("sqlite", settings)]
        pg_name = f"exch_bench_{uuid.uuid4().hex[:8]}"
        if not args.no_postgres:
            backends.append(("postgresql", postgres_settings(settings, pg_name)))
        try:
            for label, backend in backends:
                # fresh envelopes per run: message ids are unique per database
                run = run_http(
                    backend,
                    make_envelopes(backend, count, args.intake_key),
                    args.server_processes,
                    connections=args.connections,
                )
                report(label, run, base, TARGETS[label])
                if label == "postgresql":
                    two = run_http(
                        backend,
                        make_envelopes(backend, count, args.intake_key),
                        args.server_processes,
                        nodes=2,
                        connections=args.connections,
                    )
                    report("pg 2 nodes", two, base, None)
                    print(
                        f"postgresql 1 gateway node {run.rate:7.1f}/s, 2 gateway nodes "
                        f"{two.rate:7.1f}/s (x{two.rate / run.rate:4.2f}; same 2 cores)"
                    )
        finally:
            if not args.no_postgres:
                drop_postgres(pg_name)


if __name__ == "__main__":
    main()
