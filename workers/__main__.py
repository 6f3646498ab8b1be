"""`python -m workers QUEUES CONCURRENCY BEAT`: the process `rogatory worker` execs into."""

from __future__ import annotations

import os
import sys

from gateway.config import load_settings
from gateway.logs import configure_logging
from workers.celery_app import configure


def main(queues: str, concurrency: str, mode: str) -> None:
    """`mode` is `no-beat` (a worker), `scheduler` (only the periodic jobs' beat) or, for
    callers of old, `beat` (a worker with an embedded beat)."""
    settings = load_settings()
    configure_logging(settings.log_level)
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
