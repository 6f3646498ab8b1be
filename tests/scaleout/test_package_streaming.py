"""GET …/package streams the sealed package from the object store in bounded memory."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from foundation_support import accept, sealed_submission
from joserfc.jwk import ECKey
from server_support import MIB, GatewayProcess

from gateway.domain.states import Event
from gateway.persistence import exchange_store, requests_store
from gateway.persistence.db import transaction
from gateway.runtime.container import build_runtime
from gateway.services.lifecycle import advance
from gateway.services.reference_client import token_request

PACKAGE_SIZE = 160 * MIB
pytestmark = pytest.mark.slow


def _available_with_large_package(settings, client_key: ECKey) -> tuple[str, str]:
    """A request made available with a PACKAGE_SIZE package (written piece by piece)."""
    runtime = build_runtime(settings)
    try:
        request_id = accept(runtime, sealed_submission(settings), flush=False)
        staged = runtime.blobs.stage(
            request_id=request_id, kind="package", name="package.p7m",
            media_type="application/pkcs7-mime",
        )  # fmt: skip
        digest = hashlib.sha256()
        for index in range(PACKAGE_SIZE // MIB):
            piece = hashlib.sha256(str(index).encode()).digest() * (MIB // 32)
            digest.update(piece)
            staged.write(piece)
        staged.finish()
        with transaction(runtime.engine) as conn:
            for event in (Event.START_TRANSLATION, Event.FINISH_TRANSLATION, Event.RENDER):
                advance(conn, requests_store.get(conn, request_id), event, actor="test:fixture")
            stored = staged.commit(conn, sha256=digest.hexdigest())
            advance(
                conn, requests_store.get(conn, request_id), Event.MAKE_AVAILABLE,
                actor="test:fixture", artefacts={"package": stored.sha256},
            )  # fmt: skip
            exchange_store.add_client(
                conn, "madrid-stream-test", "es-fiscalia-madrid", client_key.as_dict(private=False)
            )
    finally:
        runtime.close()
    return request_id, digest.hexdigest()


def _token(url: str, key: ECKey) -> str:
    token_url = f"{url}/api/v1/oauth/token"
    response = httpx.post(
        token_url, data=token_request("madrid-stream-test", key, token_url), timeout=30
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_a_large_package_is_retrieved_through_rogatory_serve_in_bounded_memory(
    make_settings, tmp_path
):
    settings = make_settings()
    key = ECKey.generate_key("P-256")
    request_id, expected = _available_with_large_package(settings, key)
    server = GatewayProcess(settings, tmp_path / "serve.log", env={"ROGATORY_HTTP_WORKERS": "1"})
    try:
        auth = {"Authorization": f"Bearer {_token(server.url, key)}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=120) as http:
            lease = http.post(f"/api/v1/inbox/{request_id}/lease")
            assert lease.status_code == 201, lease.text
            warm = server.peak_rss()
            digest, size = hashlib.sha256(), 0
            with http.stream(
                "GET", f"/api/v1/requests/{request_id}/package",
                headers={"Lease-Token": lease.json()["lease_token"]},
            ) as response:  # fmt: skip
                assert response.status_code == 200
                assert int(response.headers["content-length"]) == PACKAGE_SIZE
                for piece in response.iter_bytes():
                    digest.update(piece)
                    size += len(piece)
            growth = server.peak_rss() - warm
        print(f"\n{PACKAGE_SIZE // MIB} MiB package: server peak RSS grew {growth / MIB:.1f} MiB")
        assert (size, digest.hexdigest()) == (PACKAGE_SIZE, expected)
        assert growth < 48 * MIB, f"server peak RSS grew by {growth / MIB:.1f} MiB"
    finally:
        server.stop()
