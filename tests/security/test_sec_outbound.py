"""L4: push and webhook URLs reach only addresses the operator meant."""

from __future__ import annotations

import threading

import httpx
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from gateway.services.outbound import GuardedTransport, OutboundPolicy, OutboundRefused, check_url

REFUSED_BY_DEFAULT = [
    "http://peer.example/receive",  # plain http
    "https://127.0.0.1/receive",  # loopback: the gateway itself
    "https://[::1]/receive",
    "https://169.254.169.254/latest/meta-data/",  # link-local cloud metadata
    "https://10.0.0.5/receive",  # private
    "https://192.168.1.20/receive",
    "https://[::ffff:127.0.0.1]/receive",  # IPv4-mapped loopback
    "https://224.0.0.1/receive",  # multicast
    "https://0.0.0.0/receive",
    "https://user:pw@peer.example/receive",
]


@pytest.mark.finding("L4")
@pytest.mark.parametrize("url", REFUSED_BY_DEFAULT)
def test_push_urls_to_internal_addresses_are_refused(url):
    """attack: register a push/webhook URL pointing at loopback, metadata or private nets"""
    with pytest.raises(OutboundRefused):
        check_url(url, OutboundPolicy(), resolve=lambda host, port: ["93.184.216.34"])


@pytest.mark.finding("L4")
def test_a_name_is_resolved_once_and_every_answer_must_be_public():
    """attack: DNS rebinding, a name answering public first and loopback later"""
    answers = [["93.184.216.34"], ["127.0.0.1"]]
    calls = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls) - 1, 1)]

    target = check_url("https://peer.example/receive", OutboundPolicy(), resolve=rebinding)
    assert (target.address, len(calls)) == ("93.184.216.34", 1)
    with pytest.raises(OutboundRefused):
        check_url(
            "https://mixed.example/", OutboundPolicy(), resolve=lambda h, p: ["8.8.8.8", "10.1.1.1"]
        )
    allowed = OutboundPolicy(allow=("10.1.0.0/16",))
    assert check_url("https://mixed.example/", allowed, resolve=lambda h, p: ["10.1.1.1"]).address


@pytest.mark.finding("L4")
def test_redirects_are_not_followed_and_loopback_needs_the_allow_list():
    """attack: a peer redirects the gateway's POST to an internal service"""
    hits: list[str] = []

    def app(environ, start_response):
        request = Request(environ)
        hits.append(request.path)
        if request.path == "/receive":
            response = Response(status=307, headers={"Location": "/internal-admin"})
        else:
            response = Response("internal secrets")
        return response(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/receive"
    try:
        strict = httpx.Client(transport=GuardedTransport(OutboundPolicy()), timeout=10)
        with strict, pytest.raises(OutboundRefused):
            strict.post(url, content=b"package")
        assert hits == []  # refused before any connection
        local = OutboundPolicy(allow_http=True, allow=("127.0.0.1",))
        with httpx.Client(transport=GuardedTransport(local), timeout=10) as http:
            answer = http.post(url, content=b"package")
        assert answer.status_code == 307
        assert hits == ["/receive"]  # the redirect was not followed
    finally:
        server.shutdown()
        thread.join(timeout=5)
