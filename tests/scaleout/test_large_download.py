"""The package GET read straight from the socket (``large_download``), against a real
local HTTP server: whole bodies in 1 MiB pieces, the caller's headers only, a body cut
short refused, httpx left to do the work where a proxy applies."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from gateway.services.large_download import PIECE, DownloadError, open_get

BODY = os.urandom(3 * PIECE + 12345)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]] = []  # noqa: RUF012  (shared with the test on purpose)

    def do_GET(self) -> None:
        _Handler.seen.append(dict(self.headers))
        if self.path == "/api/refused":
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        cut = self.path == "/api/cut"
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[: 2 * PIECE] if cut else BODY)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    _Handler.seen.clear()


def _read_all(body) -> list[bytes]:
    pieces = []
    while piece := body.read(PIECE):
        pieces.append(piece)
    return pieces


def test_the_whole_body_arrives_in_pieces_of_one_mib_with_the_headers_given(server):
    with httpx.Client(base_url=server + "/api") as client:
        client.headers["Authorization"] = "Bearer not-sent-unless-given"
        with open_get(client, "/package", {"Lease-Token": "t-1"}, httpx.Timeout(5)) as body:
            assert body is not None
            assert body.status_code == 200
            pieces = _read_all(body)
    assert b"".join(pieces) == BODY
    assert [len(p) for p in pieces[:3]] == [PIECE] * 3
    headers = _Handler.seen[0]
    assert headers["Lease-Token"] == "t-1"
    assert "Authorization" not in headers
    assert headers.get("Accept-Encoding", "identity") == "identity"


def test_a_body_cut_short_is_an_error_not_an_end(server):
    with (
        httpx.Client(base_url=server + "/api") as client,
        open_get(client, "/cut", {}, httpx.Timeout(5)) as body,
    ):
        assert body is not None
        with pytest.raises(DownloadError, match="before the whole body"):
            _read_all(body)


def test_a_refusal_is_reported_by_its_status(server):
    with (
        httpx.Client(base_url=server + "/api") as client,
        open_get(client, "/refused", {}, httpx.Timeout(5)) as body,
    ):
        assert body is not None
        assert body.status_code == 403


def test_no_server_is_a_download_error():
    with (
        httpx.Client(base_url="http://127.0.0.1:9/api") as client,
        pytest.raises(DownloadError, match="download failed"),
        open_get(client, "/package", {}, httpx.Timeout(5)),
    ):
        pass


def test_where_a_proxy_applies_httpx_does_the_work(server, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with (
        httpx.Client(base_url="http://gateway.example/api") as client,
        open_get(client, "/package", {}, httpx.Timeout(5)) as body,
    ):
        assert body is None
    assert _Handler.seen == []
