"""`make chaos`: bounded fault experiments on the embedded default, PostgreSQL + Redis and
PostgreSQL + RabbitMQ, against real gateway and worker processes; prints one table.

Traffic goes only to 127.0.0.1. Shared services are never stopped: the broker is
"paused" through our own TCP proxy (the embedded Redis, ours, is SIGSTOPped), and only
our own database's PostgreSQL backends are terminated. Disk full uses a tmpfs we
mount (root needed) and unmount afterwards.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from experiments import EXPERIMENTS, Options, Row, disk_full, duplicate_races, run
from harness import make_backend, make_keys_template
from leasing import NAME as PARALLEL_LEASES
from leasing import parallel_leases

BACKENDS = ["embedded", "postgresql+redis", "postgresql+rabbitmq"]
COLUMNS = [
    ("backend", "backend"),
    ("experiment", "experiment"),
    ("submitted", "subm"),
    ("accepted", "acc"),
    ("available", "avail"),
    ("acknowledged", "ack"),
    ("lost", "lost"),
    ("duplicate_receipts", "dup rcpt"),
    ("duplicate_deliveries", "dup deliv"),
    ("duplicate_leases", "dup lease"),
    ("duplicate_acks", "dup ack"),
    ("http_5xx", "5xx"),
    ("stuck", "stuck"),
    ("recovery_s", "recovery s"),
    ("note", "note"),
]


def table(rows: list[Row]) -> str:
    cells = [[h for _, h in COLUMNS]] + [
        ["-" if getattr(r, k) is None else str(getattr(r, k)) for k, _ in COLUMNS] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--experiments", default="", help="substrings to select (default all)")
    parser.add_argument("--requests", type=int, default=6)
    parser.add_argument("--kills", type=int, default=25, help="per kill experiment (x2 = 50)")
    parser.add_argument("--gateway-kills", type=int, default=10)
    parser.add_argument("--pause", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=300.0)
    parser.add_argument("--no-disk-full", action="store_true")
    args = parser.parse_args()
    options = Options(args.requests, args.kills, args.gateway_kills, args.pause, args.settle)
    wanted = [w for w in args.experiments.split(",") if w]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="rogatory-chaos-") as tmp:
        root = Path(tmp)
        keys = make_keys_template(root)
        for name in args.backends.split(","):
            backend = make_backend(name, root, keys)
            try:
                plan = [(n, f) for n, f in EXPERIMENTS if not wanted or any(w in n for w in wanted)]
                for experiment, inject in plan:
                    started = time.monotonic()
                    row = run(backend, experiment, inject, options)
                    rows.append(row)
                    print(f"[{time.monotonic() - started:5.0f} s] {row}", flush=True)
                if not wanted or any(w in "duplicate races" for w in wanted):
                    rows.append(duplicate_races(backend, options))
                    print(rows[-1], flush=True)
                if not wanted or any(w in PARALLEL_LEASES for w in wanted):
                    rows.append(parallel_leases(backend, options))
                    print(rows[-1], flush=True)
                if not args.no_disk_full and (not wanted or any(w in "disk full" for w in wanted)):
                    rows.append(disk_full(backend, options))
                    print(rows[-1], flush=True)
            finally:
                backend.close()
    print()
    print(table(rows))
    bad = [
        r
        for r in rows
        if r.lost
        or r.duplicate_receipts
        or r.duplicate_deliveries
        or r.duplicate_leases
        or r.duplicate_acks
        or r.http_5xx
        or r.stuck
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
