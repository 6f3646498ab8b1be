"""Real worker processes for tests, and polling with a deadline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from gateway.config import Settings

REPO = Path(__file__).resolve().parents[1]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process load exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROGATORY_")}
    env.update(
        ROGATORY_DATA_DIR=str(settings.data_dir),
        DATABASE_URL=settings.database_url,
        BROKER_URL=settings.broker_url,
        ROGATORY_BROKER_VISIBILITY_TIMEOUT=str(settings.broker_visibility_timeout),
        ROGATORY_TRANSLATION_ENGINE=settings.translation_engine,
        ROGATORY_TRANSLATION_BEAM_SIZE=str(settings.translation_beam_size),
        ROGATORY_OBJECT_STORE=settings.object_store,
        ROGATORY_LOG_LEVEL="INFO",
        ROGATORY_STALL_SECONDS=str(settings.stall_seconds),
        ROGATORY_HEARTBEAT_SECONDS=str(settings.heartbeat_seconds),
        ROGATORY_SWEEP_INTERVAL_SECONDS=str(settings.sweep_interval_seconds),
        ROGATORY_MAX_STEP_RUNS=str(settings.max_step_runs),
        ROGATORY_ORPHAN_GRACE_SECONDS=str(settings.orphan_grace_seconds),
    )
    return env


class _OwnProcess:
    """A child in its own process group, with its output in a log file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def _spawn(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole group (main process and its children)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # graceful: the main process stops its children
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        if not self._log.closed:
            self._log.close()


class WorkerProcess(_OwnProcess):
    """A real `rogatory worker` in its own process group."""

    def __init__(
        self, settings: Settings, log_path: Path, *, beat: bool = True, queues: str | None = None
    ) -> None:
        command = [sys.executable, "-m", "gateway", "worker", "--concurrency", "1"]
        command.append("--beat" if beat else "--no-beat")
        if queues is not None:
            command += ["--queues", queues]
        self._spawn(command, settings_env(settings), log_path)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()  # no orphaned worker, no unclosed log
        raise AssertionError(f"worker did not start:\n{self.log_path.read_text()[-3000:]}")


def wait_for(predicate: Callable[[], object], *, timeout: float = 120.0, what: str = "") -> object:
    """Poll until predicate() is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class GatewayProcess(_OwnProcess):
    """A real `rogatory serve` on 127.0.0.1 in its own process group, optionally under a
    prefix command (e.g. `prlimit --nofile=1024`) and with extra environment settings."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        *,
        port: int | None = None,
        prefix: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [*prefix, sys.executable, "-m", "gateway", "serve", "--port", str(self.port)]
        self._spawn(command, {**settings_env(settings), **(env or {})}, log_path)
        self._wait_ready()

    def healthy(self, timeout: float = 2.0) -> bool:
        import httpx

        try:
            return httpx.get(f"{self.url}/api/v1/health", timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self.healthy():
                return
            time.sleep(0.2)
        self.stop()  # no orphaned server, no unclosed log, whatever happened
        raise AssertionError(f"gateway did not start:\n{self.log_path.read_text()[-3000:]}")


# Redis databases (0-15) by purpose, one per pytest-xdist process: the tests of one process
# run one at a time, so a test's queues are never read by another test's workers.
_REDIS_DB_BASE = {"run-once": 1, "cluster": 5, "broker": 10}


def private_redis_url(purpose: str) -> str:
    """A Redis database for `purpose` ("broker", "run-once", "cluster") no concurrent test uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw0", "gw1", ...
    return f"redis://127.0.0.1:6379/{_REDIS_DB_BASE[purpose] + int(worker[2:] or 0) % 4}"
