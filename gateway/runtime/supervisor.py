"""`rogatory worker`: keep the Celery worker (and the embedded broker) running.

Celery stops for good on some broker errors (a Redis that refuses writes, `MISCONF`
on a full disk, answers "Unrecoverable error" and exits). The supervisor restarts the
worker with a growing backoff and restarts the embedded Redis when it dies, each with
one clear log line. SIGTERM/SIGINT are passed on to the worker (warm shutdown).
"""

from __future__ import annotations

import logging
import os
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


class Child:
    """One supervised program: started again (with a growing backoff) whenever it exits."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.name = name
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.backoff = 1.0
        self.restart_at: float | None = None
        self.refused = False  # it exited with REFUSED_TO_START: restarting cannot help

    def start(self) -> None:
        self.process = subprocess.Popen(self.command)  # noqa: S603  (our own interpreter)
        self.started = time.monotonic()
        self.restart_at = None

    def check(self, now: float) -> bool:
        """True when it needs (re)starting now."""
        if self.process is None:
            return True
        code = self.process.poll()
        if code is None:
            if now - self.started > STABLE_AFTER:
                self.backoff = 1.0
            return False
        if code == REFUSED_TO_START:
            log.error(f"{self.name} refused to start; not restarting it", extra={"exit_code": code})
            self.refused = True
            return False
        if self.restart_at is None:
            log.error(
                f"{self.name} exited; restarting it",
                extra={"exit_code": code, "restart_in_seconds": self.backoff},
            )
            self.restart_at = now + self.backoff
            self.backoff = min(MAX_BACKOFF, self.backoff * 2)
        return now >= self.restart_at


class Supervisor:
    def __init__(self, settings: Settings, worker_args: list[str]) -> None:
        self.settings = settings
        queues, concurrency, mode = worker_args
        program = [sys.executable, "-m", "workers"]
        # the beat is a process of its own, so a worker's crash (or a killed pool child)
        # never takes the periodic jobs (sweeps, retries, outbox) down with it
        self.children = [Child("worker", [*program, queues, concurrency, "no-beat"])]
        if mode == "beat":
            self.children.append(Child("scheduler", [*program, queues, concurrency, "scheduler"]))
        self.stopping = False
        self._broker_unresponsive = False

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self._ensure_broker()
        while not self.stopping:
            self._watch_broker()
            now = time.monotonic()
            for child in self.children:
                if child.check(now) and not self.stopping:
                    self._ensure_broker()
                    child.start()
            if any(child.refused for child in self.children):
                self._on_signal(signal.SIGTERM, None)  # stop the others: the settings are bad
                self._wait_children()
                return REFUSED_TO_START
            time.sleep(CHECK_INTERVAL)
        return self._wait_children()

    def _watch_broker(self) -> None:
        if not self.settings.embedded_broker or _alive(self.settings.broker_socket):
            self._broker_unresponsive = False
            return
        if _broker_process_alive(self.settings):
            # stopped or busy, not dead: a second Redis on the same files would corrupt them
            if not self._broker_unresponsive:
                log.warning("embedded broker is not answering; waiting for it")
            self._broker_unresponsive = True
            return
        log.error(
            "embedded broker is down; restarting it",
            extra={"socket": str(self.settings.broker_socket)},
        )
        self._ensure_broker()

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
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signum)

    def _wait_children(self) -> int:
        codes = [c.process.wait() for c in self.children if c.process is not None]
        return max(codes, default=0)


def _broker_process_alive(settings: Settings) -> bool:
    pidfile = settings.broker_socket.parent / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def supervise(settings: Settings, worker_args: list[str], *, configure: Callable[[], None]) -> int:
    configure()
    return Supervisor(settings, worker_args).run()
