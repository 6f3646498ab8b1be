"""`rogatory worker`: keep the Celery worker (and the embedded broker) running.

Celery stops for good on some broker errors (a Redis that refuses writes, `MISCONF`
on a full disk, answers "Unrecoverable error" and exits). The supervisor restarts the
worker with a growing backoff and restarts the embedded Redis when it dies, each with
one clear log line. SIGTERM/SIGINT are passed on to the worker (warm shutdown).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType

from gateway.config import Settings
from gateway.runtime.broker import BrokerError, _alive, ensure_embedded_broker

log = logging.getLogger("gateway.runtime.supervisor")

CHECK_INTERVAL = 1.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0  # a worker up this long resets the backoff
REFUSED_TO_START = 2  # error[code] at start-up (bad settings or keys): restarting cannot help


class Supervisor:
    def __init__(self, settings: Settings, worker_args: list[str]) -> None:
        self.settings = settings
        self.command = [sys.executable, "-m", "workers", *worker_args]
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False
        self.backoff = 1.0

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self._ensure_broker()
        child, started = self._start()
        while True:
            time.sleep(CHECK_INTERVAL)
            if self.stopping:
                return self._wait_child()
            if self.settings.embedded_broker and not _alive(self.settings.broker_socket):
                log.error(
                    "embedded broker is down; restarting it",
                    extra={"socket": str(self.settings.broker_socket)},
                )
                self._ensure_broker()
            code = child.poll()
            if code is None:
                if time.monotonic() - started > STABLE_AFTER:
                    self.backoff = 1.0
                continue
            if code == REFUSED_TO_START:
                log.error("worker refused to start; not restarting it", extra={"exit_code": code})
                return code
            log.error(
                "worker exited; restarting it",
                extra={"exit_code": code, "restart_in_seconds": self.backoff},
            )
            if self._sleep(self.backoff):
                return 0
            self.backoff = min(MAX_BACKOFF, self.backoff * 2)
            self._ensure_broker()
            child, started = self._start()

    def _start(self) -> tuple[subprocess.Popen[bytes], float]:
        self.child = subprocess.Popen(self.command)  # noqa: S603  (our own interpreter)
        return self.child, time.monotonic()

    def _ensure_broker(self) -> None:
        if not self.settings.embedded_broker:
            return
        delay = 1.0
        while not self.stopping:
            try:
                ensure_embedded_broker(self.settings)
                return
            except (BrokerError, OSError, subprocess.SubprocessError):
                log.exception("embedded broker did not start; retrying", extra={"in": delay})
                if self._sleep(delay):
                    return
                delay = min(MAX_BACKOFF, delay * 2)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless asked to stop; True when stopping."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.stopping:
                return True
            time.sleep(0.1)
        return self.stopping

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)

    def _wait_child(self) -> int:
        if self.child is None:
            return 0
        return self.child.wait()


def supervise(settings: Settings, worker_args: list[str], *, configure: Callable[[], None]) -> int:
    configure()
    return Supervisor(settings, worker_args).run()
