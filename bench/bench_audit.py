"""Audit log benchmark: append throughput and proof generation time at 1 M entries.

    /tmp/venv/bin/python bench/bench_audit.py            # 1 M entries on SQLite (~1-2 min)
    /tmp/venv/bin/python bench/bench_audit.py --quick    # 100 k entries
    /tmp/venv/bin/python bench/bench_audit.py --postgres # also single appends on PostgreSQL

Ratios are against baselines measured in the same run: a bare SHA-256 of an
entry (append) and a single primary-key node lookup (proofs).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, select

from gateway.audit import ledger, merkle
from gateway.audit.entries import AuditEntry
from gateway.persistence.audit_tables import AUDIT_TABLES, audit_node
from gateway.persistence.metadata import metadata

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
EVENTS = ["received", "verified", "translated", "rendered", "made_available", "retrieved"]


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        request_id=f"REQ-{n // 8:07d}",
        event=EVENTS[n % len(EVENTS)],
        actor="gateway",
        time=EPOCH + timedelta(milliseconds=n),
        artefacts={"document": hashlib.sha256(n.to_bytes(8, "big")).hexdigest()},
        parties=("AUTH-FR-1", "AUTH-DE-7"),
        detail={"step": n % 7},
    )


def fresh_engine(url: str) -> Engine:
    engine = create_engine(url)
    metadata.drop_all(engine, tables=AUDIT_TABLES)
    metadata.create_all(engine, tables=AUDIT_TABLES)
    return engine


def sha_baseline(count: int) -> float:
    data = [entry(i).encode() for i in range(count)]
    start = time.perf_counter()
    for item in data:
        merkle.leaf_hash(item)
    return count / (time.perf_counter() - start)


def single_appends(engine: Engine, count: int, offset: int) -> float:
    """One transaction per entry, as a state change records itself."""
    start = time.perf_counter()
    for n in range(offset, offset + count):
        with engine.begin() as conn:
            ledger.append(conn, entry(n))
    return count / (time.perf_counter() - start)


def bulk_load(engine: Engine, total: int, batch: int = 10_000) -> float:
    with engine.connect() as conn:
        start_size = ledger.tree_size(conn)
    start = time.perf_counter()
    for first in range(start_size, total, batch):
        with engine.begin() as conn:
            ledger.append_many(conn, [entry(n) for n in range(first, min(total, first + batch))])
    return (total - start_size) / (time.perf_counter() - start)


def timed_ms(action: object, samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return times


def describe(name: str, times: list[float], baseline_ms: float) -> None:
    mean = statistics.fmean(times)
    p99 = sorted(times)[int(len(times) * 0.99) - 1]
    print(f"{name:<30} mean {mean:6.3f} ms p99 {p99:6.3f} ms = {mean / baseline_ms:5.1f}x lookup")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100 k entries instead of 1 M")
    parser.add_argument(
        "--postgres", action="store_true", help="also time single appends on PostgreSQL"
    )
    parser.add_argument(
        "--verify", action="store_true", help="also time verify_database at full size"
    )
    args = parser.parse_args()
    total = 100_000 if args.quick else 1_000_000
    rng = random.Random(9162)

    with tempfile.TemporaryDirectory() as tmp:
        engine = fresh_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        sha_rate = sha_baseline(20_000)
        print(f"baseline: bare SHA-256 leaf hash {sha_rate:9.0f} /s")
        single = single_appends(engine, 2_000, 0)
        print(
            f"append, 1 tx/entry (SQLite)     {single:9.0f} /s = {single / sha_rate:.4f}x SHA-256"
        )
        bulk = bulk_load(engine, total)
        print(f"append_many, 10 k/tx (SQLite)   {bulk:9.0f} /s = {bulk / sha_rate:.4f}x SHA-256")

        with engine.connect() as conn:
            size = ledger.tree_size(conn)
            print(f"tree size {size}, root {ledger.root(conn).hex()[:16]}...")

            def lookup() -> None:
                level, index = 0, rng.randrange(size)
                conn.execute(
                    select(audit_node.c.hash).where(
                        audit_node.c.level == level, audit_node.c.idx == index
                    )
                ).one()

            baseline_ms = statistics.fmean(timed_ms(lookup, 2_000))
            print(f"baseline: one node lookup by primary key   {baseline_ms:7.3f} ms")
            inclusion = timed_ms(
                lambda: ledger.inclusion_proof(conn, rng.randrange(size), size), 1_000
            )
            describe(f"inclusion proof at {size}", inclusion, baseline_ms)
            consistency = timed_ms(
                lambda: ledger.consistency_proof(conn, rng.randrange(1, size), size), 1_000
            )
            describe(f"consistency proof to {size}", consistency, baseline_ms)
            root_times = timed_ms(lambda: ledger.root(conn, rng.randrange(1, size)), 1_000)
            describe("root of a random older size", root_times, baseline_ms)
            if args.verify:
                from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

                start = time.perf_counter()
                report = ledger.verify_database(conn, Ed25519PrivateKey.generate().public_key())
                print(f"verify_database {report.entries}: {time.perf_counter() - start:.0f} s")
        engine.dispose()

    if args.postgres:
        import psycopg

        name = f"audit_bench_{uuid.uuid4().hex[:10]}"
        admin_dsn = "host=127.0.0.1 port=5432 dbname=test user=postgres"
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            pg = fresh_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
            rate = single_appends(pg, 2_000, 0)
            print(
                f"append, 1 tx/entry (PostgreSQL) {rate:9.0f} /s = {rate / sha_rate:.4f}x SHA-256"
            )
            pg.dispose()
        finally:
            with psycopg.connect(admin_dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
