"""The served OpenAPI document, and schemathesis over every operation: never a 5xx."""

from __future__ import annotations

import httpx
import schemathesis
from exchange_support import MADRID, Gateway
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.web.app import create_app


@schemathesis.serializer("application/pkcs7-mime", "application/vnd.rogatory.streamed-submission")
def _cms_bytes(_ctx: schemathesis.SerializationContext, value: object) -> bytes:
    # arbitrary bytes are exactly what a hostile client would send as "CMS"
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def test_openapi_document_is_served_and_lists_the_exchange_routes(gateway: Gateway) -> None:
    document = httpx.get(f"{gateway.url}/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert {
        "/api/v1/oauth/token",
        "/api/v1/inbox",
        "/api/v1/inbox/{request_id}/lease",
        "/api/v1/requests/{request_id}/package",
        "/api/v1/requests/{request_id}/ack",
        "/api/v1/requests/{request_id}/events",
        "/api/v1/requests/{request_id}/receipts",
        "/api/v1/submissions",
    } <= set(document["paths"])


def test_schemathesis_finds_no_server_error(gateway: Gateway) -> None:
    app = create_app(gateway.settings, runtime=gateway.runtime)
    app.config["ROGATORY_RATE_PER_SECOND"] = 10_000.0
    app.config["ROGATORY_RATE_BURST"] = 10_000
    token = gateway.token(MADRID)
    known_id = gateway.new_available_request()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    failures: list[str] = []
    statuses: set[tuple[str, int]] = set()
    for operation in operations:

        @given(case=operation.as_strategy(), use_known_id=st.booleans())
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case, use_known_id: bool) -> None:
            if use_known_id and case.path_parameters:
                case.path_parameters = {**case.path_parameters, "request_id": known_id}
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            statuses.add((case.method, response.status_code))
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        exercise()
    assert failures == []
    assert ("GET", 200) in statuses  # authenticated calls got through
