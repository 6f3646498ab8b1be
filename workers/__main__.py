"""`python -m workers QUEUES CONCURRENCY BEAT`: the process `rogatory worker` execs into."""

from __future__ import annotations

import logging
import os
import sys

from gateway.config import ConfigError, load_settings
from gateway.logs import configure_logging
from gateway.runtime.preflight import check_startup
from workers.celery_app import configure
from workers.engines import warn_unserved_pairs
from workers.metrics import serve_metrics


def main(queues: str, concurrency: str, mode: str) -> None:
    """`mode` is `no-beat` (a worker), `scheduler` (only the periodic jobs' beat) or, for
    callers of old, `beat` (a worker with an embedded beat)."""
    try:
        settings = load_settings()
        configure_logging(settings.log_level)
        warnings = check_startup(settings)
    except ConfigError as exc:
        print(f"error[{exc.code}]: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for warning in warnings:
        logging.getLogger("workers.startup").warning(warning)
    if mode != "scheduler":
        warn_unserved_pairs(settings)
        serve_metrics(settings)
    app = configure(settings)
    if mode == "scheduler":
        # in memory: every node may run one; the database lease of each job (not a shared
        # schedule file) decides which one runs it (services/scheduling.py)
        app.start(["beat", "--loglevel", settings.log_level, "--scheduler", _SCHEDULER])
        return
    argv = [
        "worker",
        "--loglevel",
        settings.log_level,
        "-Q",
        queues,
        "--concurrency",
        concurrency,
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"rogatory-{os.getpid()}@%h",
    ]
    if mode == "beat":
        argv += ["--beat", "--scheduler", _SCHEDULER]
    app.worker_main(argv)


_SCHEDULER = "celery.beat:Scheduler"


if __name__ == "__main__":
    main(*sys.argv[1:4])
