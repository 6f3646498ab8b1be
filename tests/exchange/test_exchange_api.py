"""Exchange API over real HTTP: tokens, inbox, leases, package, acknowledgement, isolation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from exchange_support import BERLIN, MADRID, ROTTERDAM, Gateway
from joserfc.jwk import ECKey

from gateway.crypto import sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.persistence.db import transaction
from gateway.persistence.tables import requests
from gateway.services import exchange
from gateway.services.tokens import Caller, Unauthorised, authenticate
from gateway.services.translation_engines import request_outlook
from gateway.web.api_exchange import RateLimiter


def _signed_ack(gateway: Gateway, request_id: str, message_sha256: str) -> bytes:
    content = exchange.acknowledgement_content(request_id, message_sha256, datetime.now(UTC))
    key = load_private_key(gateway.pki / "authority-b-sign.key")
    return sign(content, key, load_certificate(gateway.pki / "authority-b-sign.pem"))  # type: ignore[arg-type]


def _lease(client: httpx.Client, request_id: str) -> str:
    response = client.post(f"/api/v1/inbox/{request_id}/lease")
    assert response.status_code == 201, response.text
    return str(response.json()["lease_token"])


# --- tokens ------------------------------------------------------------------------------


def test_valid_assertion_gets_a_bearer_token_that_opens_the_inbox(gateway: Gateway) -> None:
    response = gateway.token_response(gateway.assertion(gateway.clients[MADRID]))
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    inbox = httpx.get(
        f"{gateway.url}/api/v1/inbox", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert inbox.status_code == 200


def test_gateway_id_is_accepted_as_audience(gateway: Gateway) -> None:
    assertion = gateway.assertion(gateway.clients[MADRID], aud=gateway.settings.gateway_id)
    assert gateway.token_response(assertion).status_code == 200


@pytest.mark.parametrize(
    "case", ["replayed", "expired", "wrong-audience", "forged", "too-long-lived", "unknown-client"]
)
def test_bad_client_assertions_are_refused_with_401_problem(gateway: Gateway, case: str) -> None:
    client = gateway.clients[MADRID]
    if case == "replayed":
        assertion = gateway.assertion(client)
        assert gateway.token_response(assertion).status_code == 200
    elif case == "expired":
        assertion = gateway.assertion(client, now=datetime.now(UTC) - timedelta(minutes=10))
    elif case == "wrong-audience":
        assertion = gateway.assertion(client, aud="https://other-gateway.example/token")
    elif case == "forged":
        assertion = gateway.assertion(client, key=ECKey.generate_key("P-256"))
    elif case == "too-long-lived":
        assertion = gateway.assertion(client, exp_in=3600)
    else:
        assertion = gateway.assertion(
            type(client)("nobody", MADRID, client.key)  # iss names no registered client
        )
    response = gateway.token_response(assertion)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_client"


@pytest.mark.parametrize("header", ["", "Bearer nonsense-token", "Basic abc", "Bearer a b"])
def test_missing_or_forged_bearer_tokens_are_refused(gateway: Gateway, header: str) -> None:
    response = httpx.get(f"{gateway.url}/api/v1/inbox", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_access_token_is_refused(gateway: Gateway) -> None:
    token = gateway.token(MADRID)
    later = datetime.now(UTC) + timedelta(minutes=11)
    with pytest.raises(Unauthorised, match="expired") as refused:
        authenticate(gateway.runtime.engine, f"Bearer {token}", now=later)
    assert refused.value.status == 401


# --- submissions -------------------------------------------------------------------------


def test_duplicate_submission_creates_one_request(gateway: Gateway) -> None:
    data = gateway.submission()
    first = gateway.submit(data)
    second = gateway.submit(data)
    assert first["outcome"] == "accepted"
    assert second["outcome"] == "duplicate-already-accepted"
    assert second["request_id"] == first["request_id"]
    # a new request's outlook comes from intake's own data, a duplicate's is read back
    rt = gateway.runtime
    stored = request_outlook(rt.engine, rt.settings, first["request_id"]).status
    assert first["translation"] == second["translation"] == stored
    with transaction(gateway.runtime.engine) as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(requests)
            .where(requests.c.message_id == first["message_id"])
        ).scalar_one()
    assert count == 1


# --- inbox, lease, package, ack ----------------------------------------------------------


def test_counterpart_pulls_retrieves_and_acknowledges(gateway: Gateway) -> None:
    request_id = gateway.new_available_request()
    with gateway.http(MADRID) as madrid:
        listed = [item["request_id"] for item in madrid.get("/api/v1/inbox").json()["items"]]
        assert request_id in listed
        lease_token = _lease(madrid, request_id)
        assert request_id not in [
            i["request_id"] for i in madrid.get("/api/v1/inbox?limit=100").json()["items"]
        ]
        no_lease = madrid.get(f"/api/v1/requests/{request_id}/package")
        assert no_lease.status_code == 409
        assert no_lease.json()["code"] == "lease-required"
        headers = {"Lease-Token": lease_token}
        package = madrid.get(f"/api/v1/requests/{request_id}/package", headers=headers)
        assert package.status_code == 200
        assert package.headers["Content-Type"] == "application/pkcs7-mime"
        again = madrid.get(f"/api/v1/requests/{request_id}/package", headers=headers)
        assert again.content == package.content
        events = madrid.get(f"/api/v1/requests/{request_id}/events").json()["items"]
        assert [e["event"] for e in events].count("retrieved") == 1
        message_sha256 = next(e for e in events if e["event"] == "received")["artefacts"][
            "signed-request"
        ]
        ack = madrid.post(
            f"/api/v1/requests/{request_id}/ack",
            content=_signed_ack(gateway, request_id, message_sha256),
            headers={"Content-Type": "application/pkcs7-mime"},
        )
        assert ack.status_code == 200, ack.text
        assert ack.json()["receipt"]["kind"] == "CounterpartAcknowledgement"
        kinds = [
            r["kind"] for r in madrid.get(f"/api/v1/requests/{request_id}/receipts").json()["items"]
        ]
    assert kinds == ["SubmissionAcceptance", "Retrieval", "CounterpartAcknowledgement"]
    with transaction(gateway.runtime.engine) as conn:
        state = conn.execute(sa.select(requests.c.state).where(requests.c.id == request_id))
        assert state.scalar_one() == "acknowledged"


def test_acknowledgement_signed_by_another_authority_is_refused(gateway: Gateway) -> None:
    request_id = gateway.new_available_request()
    with gateway.http(MADRID) as madrid:
        token = _lease(madrid, request_id)
        madrid.get(f"/api/v1/requests/{request_id}/package", headers={"Lease-Token": token})
        with transaction(gateway.runtime.engine) as conn:
            sha = conn.execute(
                sa.select(requests.c.message_sha256).where(requests.c.id == request_id)
            ).scalar_one()
        content = exchange.acknowledgement_content(request_id, sha, datetime.now(UTC))
        key = load_private_key(gateway.pki / "authority-a-sign.key")
        forged = sign(content, key, load_certificate(gateway.pki / "authority-a-sign.pem"))  # type: ignore[arg-type]
        response = madrid.post(
            f"/api/v1/requests/{request_id}/ack",
            content=forged,
            headers={"Content-Type": "application/pkcs7-mime"},
        )
    assert response.status_code == 422
    assert response.json()["code"] == "signer-not-authorised"


def test_two_concurrent_pullers_never_lease_the_same_item(gateway: Gateway) -> None:
    created = {gateway.new_available_request() for _ in range(6)}
    won: dict[str, list[str]] = {"a": [], "b": []}
    clients = {"a": gateway.http(MADRID), "b": gateway.http(MADRID)}
    start = threading.Barrier(2)

    def pull(name: str) -> None:
        client = clients[name]
        start.wait()
        for item in client.get("/api/v1/inbox?limit=100").json()["items"]:
            if item["request_id"] in created:
                response = client.post(f"/api/v1/inbox/{item['request_id']}/lease")
                if response.status_code == 201:
                    won[name].append(item["request_id"])
                else:
                    assert response.status_code == 409

    threads = [threading.Thread(target=pull, args=(name,)) for name in won]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients.values():
        client.close()
    assert not set(won["a"]) & set(won["b"])
    assert set(won["a"]) | set(won["b"]) == created


def test_expired_lease_returns_the_item_to_the_inbox(gateway: Gateway) -> None:
    request_id = gateway.new_available_request()
    caller = Caller(gateway.clients[MADRID].client_id, MADRID)
    exchange.take_lease(
        gateway.runtime.engine,
        caller,
        request_id,
        lease_seconds=5,
        now=datetime.now(UTC) - timedelta(seconds=10),
    )
    with gateway.http(MADRID) as madrid:
        listed = [i["request_id"] for i in madrid.get("/api/v1/inbox?limit=100").json()["items"]]
        assert request_id in listed
        assert madrid.post(f"/api/v1/inbox/{request_id}/lease").status_code == 201
        assert madrid.post(f"/api/v1/inbox/{request_id}/lease").status_code == 409


def test_inbox_pages_with_a_cursor(gateway: Gateway) -> None:
    for _ in range(3):
        gateway.new_available_request()
    seen: list[str] = []
    with gateway.http(MADRID) as madrid:
        cursor = None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = madrid.get("/api/v1/inbox", params=params).json()
            seen += [item["request_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        everything = [
            i["request_id"] for i in madrid.get("/api/v1/inbox?limit=100").json()["items"]
        ]
    assert seen == everything
    assert len(seen) >= 3


# --- isolation ---------------------------------------------------------------------------

ROUTES = [
    ("post", "/api/v1/inbox/{id}/lease"),
    ("get", "/api/v1/requests/{id}/package"),
    ("post", "/api/v1/requests/{id}/ack"),
    ("get", "/api/v1/requests/{id}/events"),
    ("get", "/api/v1/requests/{id}/receipts"),
]
EXECUTING_ONLY = ROUTES[:3]
# the issuing authority is a party: it may read events and receipts, nothing else
OUTSIDER_CASES = [(BERLIN, *route) for route in ROUTES] + [
    (ROTTERDAM, *route) for route in EXECUTING_ONLY
]


@pytest.fixture(scope="module")
def madrid_item(gateway: Gateway) -> str:
    return gateway.new_available_request()


@pytest.mark.parametrize(("outsider", "method", "route"), OUTSIDER_CASES)
def test_counterpart_cannot_touch_a_request_addressed_to_another_authority(
    gateway: Gateway, madrid_item: str, outsider: str, method: str, route: str
) -> None:
    kwargs = {"content": b"0", "headers": {"Content-Type": "application/pkcs7-mime"}}
    with gateway.http(outsider) as client:
        foreign = client.request(method, route.format(id=madrid_item), **kwargs)  # type: ignore[arg-type]
        missing = client.request(method, route.format(id="no-such-id"), **kwargs)  # type: ignore[arg-type]
        listed = client.get("/api/v1/inbox?limit=100").json()["items"]
    assert foreign.status_code == 404
    assert foreign.json() == missing.json()
    assert madrid_item not in [item["request_id"] for item in listed]


def test_issuing_authority_reads_the_timeline_of_its_request(
    gateway: Gateway, madrid_item: str
) -> None:
    with gateway.http(ROTTERDAM) as rotterdam:
        events = rotterdam.get(f"/api/v1/requests/{madrid_item}/events").json()["items"]
    assert [e["event"] for e in events][:2] == ["received", "verified"]


# --- limits ------------------------------------------------------------------------------


def test_oversized_acknowledgement_is_refused_with_413(gateway: Gateway, madrid_item: str) -> None:
    with gateway.http(MADRID) as madrid:
        response = madrid.post(
            f"/api/v1/requests/{madrid_item}/ack",
            content=b"\x30" * (65 * 1024),
            headers={"Content-Type": "application/pkcs7-mime"},
        )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/problem+json"


def test_token_bucket_refills_at_its_rate() -> None:
    limiter = RateLimiter(rate=1.0, burst=2)
    assert limiter.take("a", now=0.0) == 0.0
    assert limiter.take("a", now=0.0) == 0.0
    assert limiter.take("a", now=0.0) == pytest.approx(1.0)
    assert limiter.take("b", now=0.0) == 0.0
    assert limiter.take("a", now=1.0) == 0.0


def test_rate_limit_answers_429_with_retry_after(gateway: Gateway) -> None:
    with gateway.http(BERLIN) as berlin:
        saved = gateway.app.extensions.get("rogatory.rate_limiter")
        gateway.app.extensions["rogatory.rate_limiter"] = RateLimiter(rate=0.01, burst=1)
        try:
            first = berlin.get("/api/v1/inbox")
            second = berlin.get("/api/v1/inbox")
        finally:
            gateway.app.extensions["rogatory.rate_limiter"] = saved
    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["code"] == "rate-limited"
    assert int(second.headers["Retry-After"]) >= 1
