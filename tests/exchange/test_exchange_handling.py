"""Handling label `pull-only`: never pushed, even to an authority with a push endpoint."""

from __future__ import annotations

import io
import json
import threading
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from exchange_support import MADRID, Gateway
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from gateway.crypto import RecipientKey, decrypt_envelope, encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import build_submission
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.persistence.tables import authorities
from gateway.services import push_delivery
from gateway.services.evidences import Sealer
from gateway.services.outbound import OutboundPolicy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class Endpoint:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, object], start_response: object) -> object:
        request = Request(environ)  # type: ignore[arg-type]
        self.paths.append(request.path)
        return Response(status=204 if request.path == "/webhook" else 503)(
            environ,
            start_response,  # type: ignore[arg-type]
        )


@pytest.fixture
def endpoint(gateway: Gateway) -> Iterator[tuple[Endpoint, str]]:
    app = Endpoint()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    _endpoints(gateway, None, None)


def _endpoints(gateway: Gateway, push: str | None, webhook: str | None) -> None:
    with transaction(gateway.runtime.engine) as conn:
        conn.execute(
            authorities.update()
            .where(authorities.c.id == MADRID)
            .values(push_endpoint=push, webhook_url=webhook)
        )


def _labelled_request(gateway: Gateway, handling: list[str]) -> str:
    form = json.loads((FIXTURES / "mla_request.json").read_text())
    form["handling"] = handling
    content = build_submission(
        gateway=gateway.settings.gateway_id,
        message_id=f"msg-{uuid.uuid4().hex}",
        created=datetime.now(UTC),
        request=form,
        attachments=[],
    )
    key = load_private_key(gateway.pki / "magistrate-rsa.key")
    signed = sign(content, key, load_certificate(gateway.pki / "magistrate-rsa.pem"))  # type: ignore[arg-type]
    data = encrypt_envelope(signed, [load_certificate(gateway.pki / "gateway-intake.pem")])
    request_id = str(gateway.submit(data)["request_id"])
    gateway.make_available(request_id)
    return request_id


def _deliver(gateway: Gateway, request_id: str) -> str:
    keys = gateway.runtime.keys
    return push_delivery.deliver_once(
        gateway.runtime.engine,
        gateway.runtime.blobs,
        request_id,
        sealer=Sealer(keys.seal_key, keys.seal_cert, gateway.settings.gateway_id),
        trust=keys.trust(allow_stale_crl=False, max_skew_seconds=600),
        attempt=1,
        # the local peer is plain http on loopback: allowed explicitly, as in development
        policy=OutboundPolicy(allow_http=True, allow=("127.0.0.1",)),
    ).outcome


def test_pull_only_request_is_never_pushed_only_notified(
    gateway: Gateway, endpoint: tuple[Endpoint, str]
) -> None:
    peer, url = endpoint
    _endpoints(gateway, f"{url}/push", f"{url}/webhook")
    request_id = _labelled_request(gateway, ["pull-only", "speciality"])
    assert _deliver(gateway, request_id) == "notified"
    assert peer.paths == ["/webhook"]
    with transaction(gateway.runtime.engine) as conn:
        assert requests_store.get(conn, request_id).state.value == "available"
        stored = gateway.runtime.blobs.find(conn, request_id, "package")
        assert stored is not None
        package = gateway.runtime.blobs.read(conn, stored.id)
    madrid = RecipientKey(
        load_private_key(gateway.pki / "authority-b-enc.key"),  # type: ignore[arg-type]
        load_certificate(gateway.pki / "authority-b-enc.pem"),
    )
    from asn1crypto import cms

    signed = cms.ContentInfo.load(decrypt_envelope(package, [madrid]))
    archive = zipfile.ZipFile(io.BytesIO(signed["content"]["encap_content_info"]["content"].native))
    assert json.loads(archive.read("manifest.json"))["handling"] == ["pull-only", "speciality"]


def test_without_the_label_the_same_authority_gets_a_push(
    gateway: Gateway, endpoint: tuple[Endpoint, str]
) -> None:
    peer, url = endpoint
    _endpoints(gateway, f"{url}/push", None)
    request_id = _labelled_request(gateway, [])
    assert _deliver(gateway, request_id) == "failed"  # the endpoint answers 503: it was tried
    assert peer.paths == ["/push"]
