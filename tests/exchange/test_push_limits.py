"""A push peer cannot hold a worker: total deadline per attempt, 64 KiB answer cap,
and soft/hard time limits on every Celery task."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway.config import Settings
from gateway.runtime.celery_sender import celery_config
from gateway.services import bounded_http


class _Peer(BaseHTTPRequestHandler):
    mode = "drip"
    sent = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        if self.mode == "huge":
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()  # no Content-Length: the cap must count what arrives
            try:
                for _ in range(400):  # up to 400 MiB, if anyone kept reading
                    self.wfile.write(b"x" * (1024 * 1024))
                    type(self).sent += 1
            except OSError:
                pass
            return
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):  # one byte every 0.3 s: never a read timeout
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.3)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def peer() -> Iterator[Callable[[str], str]]:
    servers: list[ThreadingHTTPServer] = []

    def start(mode: str) -> str:
        handler = type("Peer", (_Peer,), {"mode": mode, "sent": 0})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/push"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_dripping_peer_is_cut_off_at_the_attempt_deadline(peer: Callable[[str], str]) -> None:
    url = peer("drip")
    started = time.monotonic()
    with pytest.raises(bounded_http.DeadlineExceeded):
        bounded_http.post(url, b"package", headers={}, deadline=2.0)
    # the whole drip would take 300 s; the attempt was cut off long before
    assert time.monotonic() - started < 100


def test_an_oversized_answer_is_refused_without_reading_it_all(
    peer: Callable[[str], str],
) -> None:
    url = peer("huge")
    with pytest.raises(bounded_http.ResponseTooLarge):
        bounded_http.post(url, b"package", headers={}, deadline=30.0)


def test_every_celery_task_has_soft_and_hard_time_limits(
    make_settings: Callable[..., Settings],
) -> None:
    config = celery_config(make_settings(task_soft_time_limit=50, task_time_limit=60))
    assert (config["task_soft_time_limit"], config["task_time_limit"]) == (50, 60)
