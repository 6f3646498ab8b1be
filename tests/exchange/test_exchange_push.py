"""Push delivery against a real local HTTP peer that decrypts, verifies and signs a receipt."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from exchange_support import MADRID, Gateway
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from gateway.audit.entries import decode_entry
from gateway.crypto import RecipientKey, TrustConfig, decrypt_envelope, sign, verify_signed
from gateway.crypto.keyfiles import load_certificate, load_crl, load_private_key
from gateway.persistence import exchange_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.persistence.tables import authorities, requests
from gateway.services import exchange, push_delivery
from gateway.services.evidences import Sealer
from gateway.services.outbound import OutboundPolicy

LOCAL_PEER = OutboundPolicy(allow_http=True, allow=("127.0.0.1",))


@dataclass
class Peer:
    """The counterpart's receiving endpoint: fails `down_for` times, then acknowledges."""

    gateway: Gateway
    down_for: int = 0
    calls: int = 0
    delivered: list[str] = field(default_factory=list)
    notices: list[dict[str, object]] = field(default_factory=list)
    url: str = ""

    def __call__(self, environ: dict[str, object], start_response: object) -> Iterator[bytes]:
        request = Request(environ)  # type: ignore[arg-type]
        response = self.handle(request)
        return response(environ, start_response)  # type: ignore[arg-type, return-value]

    def handle(self, request: Request) -> Response:
        pki = self.gateway.pki
        trust = TrustConfig(
            anchors=[load_certificate(pki / "ca.pem")], crls=[load_crl(pki / "ca.crl.pem")]
        )
        if request.path == "/webhook":
            notice = verify_signed(request.get_data(), trust, now=datetime.now(UTC))
            self.notices.append(json.loads(notice.content))
            return Response(status=204)
        self.calls += 1
        if self.calls <= self.down_for:
            return Response("maintenance", status=503)
        key = load_private_key(pki / "authority-b-enc.key")
        recipient = RecipientKey(key, load_certificate(pki / "authority-b-enc.pem"))  # type: ignore[arg-type]
        sealed = decrypt_envelope(request.get_data(), [recipient])
        archive = verify_signed(sealed, trust, now=datetime.now(UTC)).content
        with zipfile.ZipFile(io.BytesIO(archive)) as package:
            manifest = json.loads(package.read("manifest.json"))
        self.delivered.append(manifest["request_id"])
        ack = exchange.acknowledgement_content(
            manifest["request_id"], manifest["message_sha256"], datetime.now(UTC)
        )
        signing_key = load_private_key(pki / "authority-b-sign.key")
        signed = sign(ack, signing_key, load_certificate(pki / "authority-b-sign.pem"))  # type: ignore[arg-type]
        return Response(signed, mimetype="application/pkcs7-mime")


@pytest.fixture
def peer(gateway: Gateway) -> Iterator[Peer]:
    peer = Peer(gateway)
    server = make_server("127.0.0.1", 0, peer, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    peer.url = f"http://127.0.0.1:{server.server_port}"
    yield peer
    server.shutdown()
    thread.join(timeout=5)
    _set_endpoints(gateway, push=None, webhook=None)


def _set_endpoints(gateway: Gateway, *, push: str | None, webhook: str | None) -> None:
    with transaction(gateway.runtime.engine) as conn:
        conn.execute(
            authorities.update()
            .where(authorities.c.id == MADRID)
            .values(push_endpoint=push, webhook_url=webhook)
        )


def _push(gateway: Gateway, request_id: str, max_attempts: int) -> tuple[str, list[float]]:
    keys = gateway.runtime.keys
    waits: list[float] = []
    result = push_delivery.push_with_retries(
        gateway.runtime.engine,
        gateway.runtime.blobs,
        request_id,
        sealer=Sealer(keys.seal_key, keys.seal_cert, gateway.settings.gateway_id),
        trust=keys.trust(allow_stale_crl=False, max_skew_seconds=600),
        max_attempts=max_attempts,
        sleep=waits.append,
        # the local peer is plain http on loopback: allowed explicitly, as in development
        policy=LOCAL_PEER,
    )
    return result.outcome, waits


def test_push_endpoint_down_then_up_delivers_once(gateway: Gateway, peer: Peer) -> None:
    _set_endpoints(gateway, push=f"{peer.url}/inbox", webhook=None)
    request_id = gateway.new_available_request()
    peer.down_for = 2
    outcome, waits = _push(gateway, request_id, max_attempts=5)
    assert outcome == "delivered"
    assert waits == [30.0, 60.0]
    assert _push(gateway, request_id, max_attempts=5)[0] == "already-delivered"
    assert peer.delivered == [request_id]
    with transaction(gateway.runtime.engine) as conn:
        attempts = exchange_store.attempts_of(conn, request_id)
        state = conn.execute(sa.select(requests.c.state).where(requests.c.id == request_id))
        assert state.scalar_one() == "acknowledged"
        kinds = [e.kind for e in exchange_store.evidences_of(conn, request_id)]
    assert [(a.attempt, a.outcome, a.detail) for a in attempts] == [
        (1, "failed", "http-503"),
        (2, "failed", "http-503"),
        (3, "delivered", ""),
    ]
    assert kinds == ["SubmissionAcceptance", "Delivery", "CounterpartAcknowledgement"]


def test_push_that_never_succeeds_raises_non_delivery_and_alerts(
    gateway: Gateway, peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    _set_endpoints(gateway, push=f"{peer.url}/inbox", webhook=None)
    request_id = gateway.new_available_request()
    peer.down_for = 99
    outcome, _ = _push(gateway, request_id, max_attempts=3)
    assert outcome == "failed-final"
    assert "push delivery failed for good" in caplog.text
    with transaction(gateway.runtime.engine) as conn:
        kinds = [e.kind for e in exchange_store.evidences_of(conn, request_id)]
        entries = [
            decode_entry(bytes(row))
            for row in conn.execute(
                sa.select(audit_leaf.c.entry).where(audit_leaf.c.request_id == request_id)
            ).scalars()
        ]
        state = conn.execute(sa.select(requests.c.state).where(requests.c.id == request_id))
        assert state.scalar_one() == "available"
    outcomes = [e.detail["outcome"] for e in entries if e.event == "delivery_attempt"]
    assert outcomes == ["failed", "failed", "failed-final"]
    assert kinds == ["SubmissionAcceptance", "NonDelivery"]


def test_pull_mode_webhook_gets_a_signed_notice_without_content(
    gateway: Gateway, peer: Peer
) -> None:
    _set_endpoints(gateway, push=None, webhook=f"{peer.url}/webhook")
    request_id = gateway.new_available_request()
    assert _push(gateway, request_id, max_attempts=3)[0] == "notified"
    assert _push(gateway, request_id, max_attempts=3)[0] == "already-delivered"
    assert len(peer.notices) == 1
    notice = peer.notices[0]
    assert notice["request_id"] == request_id
    assert set(notice) == {"format", "event", "gateway", "request_id", "time"}
    assert peer.calls == 0
