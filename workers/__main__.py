"""`python -m workers QUEUES CONCURRENCY BEAT`: the process `rogatory worker` execs into."""

from __future__ import annotations

import os
import sys

from gateway.config import load_settings
from gateway.logs import configure_logging
from workers.celery_app import configure
from workers.engines import warn_unserved_pairs


def main(queues: str, concurrency: str, beat: str) -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    warn_unserved_pairs(settings)
    app = configure(settings)
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
    if beat == "beat":
        # in memory: every worker may run a beat; the database lease of each job (not a
        # shared schedule file) decides which one runs it (services/scheduling.py)
        argv += ["--beat", "--scheduler", "celery.beat:Scheduler"]
    app.worker_main(argv)


if __name__ == "__main__":
    main(*sys.argv[1:4])
