"""Intake is idempotent under concurrency on SQLite and PostgreSQL (a real HTTP server).

50 identical POSTs at once: every one gets 202 with the same request id and the same
signed receipt; one request, one SubmissionAcceptance, one `received` entry. 50 POSTs
of different messages with one message id: exactly one 202, the rest 409 `replayed`.
Never a 5xx. A byte-identical resend gets its original receipt even when stale.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from foundation_support import accept, intake, sealed_submission
from process_support import GatewayProcess

from gateway.audit.entries import decode_entry
from gateway.config import Settings
from gateway.persistence import exchange_store, requests_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.persistence.tables import requests
from gateway.runtime.container import build_runtime

CONCURRENCY = 50


@pytest.fixture(params=["sqlite", "postgresql"])
def database_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings]
) -> Settings:
    if request.param == "sqlite":
        return make_settings()
    return make_settings(
        database_url=request.getfixturevalue("fresh_postgres_url"),
        broker_url=request.getfixturevalue("redis_broker_url"),
    )


def _post_all(url: str, bodies: list[bytes]) -> list[httpx.Response]:
    def post(body: bytes) -> httpx.Response:
        with httpx.Client(timeout=120) as client:
            return client.post(
                f"{url}/api/v1/submissions",
                content=body,
                headers={"Content-Type": "application/pkcs7-mime"},
            )

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def _events(settings: Settings, request_id: str) -> Counter[str]:
    rt = build_runtime(settings)
    try:
        with transaction(rt.engine) as conn:
            rows = conn.execute(
                sa.select(audit_leaf.c.entry).where(audit_leaf.c.request_id == request_id)
            ).scalars()
            return Counter(decode_entry(bytes(row)).event for row in rows)
    finally:
        rt.close()


def _rows_and_receipts(settings: Settings, message_id: str) -> tuple[int, list[str]]:
    rt = build_runtime(settings)
    try:
        with transaction(rt.engine) as conn:
            ids = (
                conn.execute(sa.select(requests.c.id).where(requests.c.message_id == message_id))
                .scalars()
                .all()
            )
            kinds = [e.kind for rid in ids for e in exchange_store.evidences_of(conn, rid)]
        return len(ids), kinds
    finally:
        rt.close()


def test_fifty_identical_posts_at_once_get_one_request_and_one_receipt(
    database_settings: Settings, start_gateway: Callable[..., GatewayProcess]
) -> None:
    gateway = start_gateway(database_settings)
    message_id = f"msg-{uuid.uuid4().hex}"
    body = sealed_submission(database_settings, message_id=message_id)
    responses = _post_all(gateway.url, [body] * CONCURRENCY)
    assert [r.status_code for r in responses] == [202] * CONCURRENCY, [
        r.text[:200] for r in responses if r.status_code != 202
    ]
    answers = [r.json() for r in responses]
    assert len({a["request_id"] for a in answers}) == 1
    assert len({a["receipt"]["sha256"] for a in answers}) == 1
    assert Counter(a["outcome"] for a in answers)["accepted"] >= 1
    rows, kinds = _rows_and_receipts(database_settings, message_id)
    assert rows == 1
    assert kinds == ["SubmissionAcceptance"]
    events = _events(database_settings, answers[0]["request_id"])
    assert events["received"] == 1
    assert events["evidence_issued"] == 1


def test_fifty_different_messages_with_one_message_id_get_one_acceptance(
    database_settings: Settings, start_gateway: Callable[..., GatewayProcess]
) -> None:
    gateway = start_gateway(database_settings)
    message_id = f"msg-{uuid.uuid4().hex}"
    bodies = [
        sealed_submission(database_settings, message_id=message_id) for _ in range(CONCURRENCY)
    ]
    assert len(set(bodies)) == CONCURRENCY
    responses = _post_all(gateway.url, bodies)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {202: 1, 409: CONCURRENCY - 1}, [r.text[:200] for r in responses]
    refused = [r.json() for r in responses if r.status_code == 409]
    assert {p["code"] for p in refused} == {"replayed"}
    rows, kinds = _rows_and_receipts(database_settings, message_id)
    assert rows == 1
    assert kinds == ["SubmissionAcceptance"]


def test_identical_resend_after_the_freshness_window_gets_the_original_answer(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    rt = build_runtime(settings)
    data = sealed_submission(settings)
    request_id = accept(rt, data, flush=False)
    later = datetime.now(UTC) + timedelta(hours=2)  # far past the 600 s signing-time skew
    again = intake(rt, data, now=later)
    assert again.request_id == request_id
    assert again.duplicate
    other = sealed_submission(settings)  # a new message that late is still refused as stale
    with pytest.raises(Exception, match="cryptographic checks") as refused:
        intake(rt, other, now=later)
    assert getattr(refused.value, "code", None) == "stale"
    with transaction(rt.engine) as conn:
        assert requests_store.get(conn, request_id).message_id
    rt.close()


def test_first_appends_to_an_empty_log_race_safely(fresh_postgres_url: str) -> None:
    """Found by `make chaos`: concurrent first submissions on a new PostgreSQL database
    both created the log head; one got a 500."""
    from gateway.audit import ledger
    from gateway.audit.entries import AuditEntry
    from gateway.persistence import migrations
    from gateway.persistence.db import make_engine

    migrations.upgrade(fresh_postgres_url)
    engine = make_engine(fresh_postgres_url, pool_size=CONCURRENCY // 2)
    start = threading.Barrier(CONCURRENCY // 2)

    def append(n: int) -> int:
        start.wait()
        entry = AuditEntry(
            request_id=None,
            event="admin_action",
            actor="test:race",
            time=datetime.now(UTC),
            artefacts={},
            parties=(),
            detail={"n": n},
        )
        with transaction(engine) as conn:
            return ledger.append(conn, entry).index

    with ThreadPoolExecutor(max_workers=CONCURRENCY // 2) as pool:
        indexes = list(pool.map(append, range(CONCURRENCY // 2)))
    assert sorted(indexes) == list(range(CONCURRENCY // 2))
    engine.dispose()
