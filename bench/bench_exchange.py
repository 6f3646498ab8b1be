"""Signed submissions per second and p95 latency over real HTTP, on SQLite and PostgreSQL.

Run: /tmp/venv/bin/python bench/bench_exchange.py [--quick] [--no-postgres]

Baseline (same run): opening and verifying the same envelopes in process, no HTTP and
no database; the ratio shows what HTTP + intake + storage + audit cost on top.
Targets: >= 50 submissions/s, p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.config import Settings, load_settings
from gateway.crypto import encrypt_envelope, open_submission, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import build_submission
from gateway.runtime.container import build_runtime
from gateway.runtime.setup import initialise
from gateway.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://127.0.0.1:5432"
CLIENT_THREADS = 2


class NullSender:
    def send(self, task: str, payload: dict[str, Any], *, queue: str) -> None:
        pass

    def close(self) -> None:
        pass


def make_envelopes(settings: Settings, count: int) -> list[bytes]:
    pki = settings.keys_dir / "dev-pki"
    key = load_private_key(pki / "magistrate-rsa.key")
    cert = load_certificate(pki / "magistrate-rsa.pem")
    intake = load_certificate(pki / "gateway-intake.pem")
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


def _serve(settings: Settings, fd: int) -> None:
    """One pre-forked server process (like gunicorn workers) on the shared socket."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    runtime = build_runtime(settings)
    runtime.sender = NullSender()  # type: ignore[assignment]
    app = create_app(settings, runtime=runtime)
    app.config["ROGATORY_RATE_LIMITS"] = {"intake": (1e6, 1_000_000)}  # all from 127.0.0.1
    make_server("127.0.0.1", 0, app, threaded=True, fd=fd).serve_forever()


def run_http(
    settings: Settings, envelopes: list[bytes], processes: int
) -> tuple[float, float, float]:
    """(submissions/s, p50 s, p95 s): CLIENT_THREADS clients, `processes` server processes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    context = multiprocessing.get_context("fork")
    servers = [
        context.Process(target=_serve, args=(settings, listener.fileno()), daemon=True)
        for _ in range(processes)
    ]
    for server in servers:
        server.start()
    url = f"http://127.0.0.1:{port}/api/v1/submissions"
    latencies: list[float] = []
    lock = threading.Lock()
    local = threading.local()

    def submit(data: bytes) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(timeout=60)
        began = time.perf_counter()
        response = local.http.post(
            url, content=data, headers={"Content-Type": "application/pkcs7-mime"}
        )
        elapsed = time.perf_counter() - began
        if response.status_code != 202:
            raise SystemExit(f"submission refused: {response.status_code} {response.text}")
        with lock:
            latencies.append(elapsed)

    warm = max(2, len(envelopes) // 10)
    for data in envelopes[:warm]:
        submit(data)
    latencies.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(pool.map(submit, envelopes[warm:]))
    wall = time.perf_counter() - started
    for server in servers:
        server.terminate()
        server.join(timeout=5)
    listener.close()
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return len(ordered) / wall, statistics.median(ordered), p95


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


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="60 submissions per backend")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--server-processes", type=int, default=2)
    args = parser.parse_args()
    count = 60 if args.quick else 300
    with tempfile.TemporaryDirectory(prefix="bench-exchange-") as tmp:
        settings = load_settings({}, overrides={"data_dir": Path(tmp) / "sqlite"})
        for _line in initialise(settings, dev_pki=True, demo_authorities=True):
            pass
        envelopes = make_envelopes(settings, count)
        base = baseline(settings, envelopes)
        print(f"baseline open+verify in process: {1 / base:7.1f}/s ({base * 1000:.1f} ms each)")
        backends = [("sqlite", settings)]
        pg_name = f"exch_bench_{uuid.uuid4().hex[:8]}"
        if not args.no_postgres:
            backends.append(("postgresql", postgres_settings(settings, pg_name)))
        try:
            for label, backend in backends:
                # fresh envelopes per backend: message ids are unique per database anyway
                rate, p50, p95 = run_http(
                    backend, make_envelopes(backend, count), args.server_processes
                )
                verdict = "ok" if rate >= 50 and p95 < 0.3 else "BELOW TARGET"
                print(
                    f"{label:10s} {rate:7.1f} submissions/s  p50 {p50 * 1000:6.1f} ms  "
                    f"p95 {p95 * 1000:6.1f} ms  ratio to baseline {rate * base:5.2f}  [{verdict}]"
                )
        finally:
            if not args.no_postgres:
                drop_postgres(pg_name)


if __name__ == "__main__":
    main()
