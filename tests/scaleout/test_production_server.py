"""`rogatory serve` on gunicorn: silent connection floods, graceful SIGTERM, settings."""

from __future__ import annotations

import http.client
import resource
import socket
import time

import pytest
from server_support import MIB, GatewayProcess

from gateway.config import ConfigError, load_settings
from gateway.web.server import gunicorn_options

IDLE_CONNECTIONS = 2000


def _raise_own_descriptor_limit(wanted: int) -> None:
    """This test process holds the idle sockets; only the server is limited to 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def _open_silent(port: int, count: int, deadline: float) -> list[socket.socket]:
    """Connect `count` sockets that never send a byte (non-blocking, so a full backlog
    does not stall the test)."""
    sockets: list[socket.socket] = []
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        sockets.append(sock)
    return sockets


@pytest.mark.slow
def test_two_thousand_silent_connections_do_not_starve_a_server_limited_to_1024_descriptors(
    make_settings, tmp_path
):
    _raise_own_descriptor_limit(IDLE_CONNECTIONS + 512)
    settings = make_settings()
    server = GatewayProcess(
        settings, tmp_path / "serve.log", prefix=("prlimit", "--nofile=1024", "--")
    )
    silent: list[socket.socket] = []
    try:
        before = server.rss()
        silent = _open_silent(server.port, IDLE_CONNECTIONS, time.monotonic() + 60)
        assert len(silent) == IDLE_CONNECTIONS
        time.sleep(1.0)  # the flood is in the server's accept queue and selectors now
        asked = time.monotonic()
        answered = False
        # a legitimate client retries within 10 s as browsers and load balancers do
        while not answered and time.monotonic() - asked < 10.0:
            answered = server.healthy(timeout=10.0 - (time.monotonic() - asked))
        waited = time.monotonic() - asked
        during = server.rss()
        print(
            f"\n{IDLE_CONNECTIONS} silent connections at --nofile=1024: health answered "
            f"{answered} after {waited:.1f} s; server RSS {before / MIB:.0f} MiB before, "
            f"{during / MIB:.0f} MiB during (arbiter + {len(server.processes()) - 1} workers)"
        )
        assert answered, "health was not answered within 10 s"
        assert during - before < 64 * MIB, "silent connections cost unbounded memory"
        assert server.process.poll() is None, "the server died under the flood"
        assert b"Too many open files" not in server.log_path.read_bytes()
    finally:
        for sock in silent:
            sock.close()
        server.stop()


@pytest.mark.slow
def test_sigterm_finishes_the_request_in_flight_and_accepts_no_new_ones(make_settings, tmp_path):
    settings = make_settings()
    server = GatewayProcess(settings, tmp_path / "serve.log")
    body = b"\x30\x80" + b"\x00" * 4094  # not a valid envelope: any answer will do
    try:
        client = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        head = (
            f"POST /api/v1/submissions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/pkcs7-mime\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n"
        ).encode()
        client.sendall(head + body[:100])  # the view is now reading the body
        time.sleep(1.0)
        server.terminate()
        time.sleep(1.5)
        client.sendall(body[100:])
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        client.close()
        status = answer.split(b"\r\n", 1)[0]
        assert status.startswith(b"HTTP/1.1 4"), answer[:300]
        assert b"application/problem+json" in answer
        server.process.wait(timeout=60)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
        log = server.log_path.read_text()
        assert "Handling signal: term" in log
        assert "Shutting down: Master" in log
    finally:
        server.stop()


def test_server_settings_reach_gunicorn_and_bad_values_are_refused(tmp_path):
    settings = load_settings(
        {
            "ROGATORY_HTTP_WORKERS": "3",
            "ROGATORY_HTTP_THREADS": "16",
            "ROGATORY_HTTP_KEEPALIVE": "7",
            "ROGATORY_HTTP_TIMEOUT": "90",
            "ROGATORY_HTTP_GRACEFUL_TIMEOUT": "12",
            "ROGATORY_HTTP_MAX_REQUESTS": "500",
            "ROGATORY_HTTP_KEEPALIVE_REQUESTS": "40",
        },
        overrides={"data_dir": str(tmp_path)},
    )
    options = gunicorn_options(settings, "::1", 8443)
    assert options["bind"] == ["[::1]:8443"]
    assert options["worker_class"] == "gateway.web.server.GatewayThreadWorker"
    assert (options["workers"], options["threads"], options["keepalive"]) == (3, 16, 7)
    assert (options["timeout"], options["graceful_timeout"]) == (90, 12)
    assert (options["max_requests"], options["max_requests_jitter"]) == (500, 50)
    assert options["keepalive_requests"] == 40
    with pytest.raises(ConfigError, match="http_threads"):
        load_settings({"ROGATORY_HTTP_THREADS": "0"}, overrides={"data_dir": str(tmp_path)})


def test_a_kept_alive_connection_is_closed_after_its_request_allowance(make_settings, tmp_path):
    server = GatewayProcess(
        make_settings(), tmp_path / "serve.log", env={"ROGATORY_HTTP_KEEPALIVE_REQUESTS": "3"}
    )
    try:
        client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        answers = []
        for _ in range(3):
            client.request("GET", "/api/v1/health")
            response = client.getresponse()
            response.read()
            answers.append((response.status, response.getheader("Connection")))
        client.close()
        # the first two keep the connection; the third closes it (the client reconnects)
        assert answers == [(200, "keep-alive"), (200, "keep-alive"), (200, "close")]
    finally:
        server.stop()
