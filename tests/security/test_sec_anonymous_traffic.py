"""H1, L3: anonymous callers change nothing permanent and are limited per client identity."""

from __future__ import annotations

import os

import httpx
import pytest
from security_support import CMS, sealed, serve
from sqlalchemy import text

GARBAGE_POSTS = 1000


@pytest.mark.finding("H1")
def test_thousand_garbage_posts_add_no_log_leaf_and_are_rate_limited(make_settings):
    """attack: 1000 garbage POSTs to /submissions from one client (behind a trusted proxy)"""
    with serve(make_settings(trusted_proxy_hops=1)) as gw:
        leaves_before = gw.leaves()
        statuses: list[int] = []
        flooder = {**CMS, "X-Forwarded-For": "203.0.113.66"}
        with httpx.Client(base_url=gw.url, timeout=30) as http:
            for index in range(GARBAGE_POSTS):
                body = b"" if index % 3 == 0 else os.urandom(64 + index % 200)
                answer = http.post("/api/v1/submissions", content=body, headers=flooder)
                statuses.append(answer.status_code)
            assert gw.leaves() == leaves_before  # nothing permanent for anonymous garbage
            # another client behind the same proxy is not affected by the flooder
            honest = {**CMS, "X-Forwarded-For": "198.51.100.7"}
            submission, _ = sealed(gw.settings)
            accepted = http.post("/api/v1/submissions", content=submission, headers=honest)
        assert accepted.status_code == 202, accepted.text
        assert statuses[0] == 400
        assert 429 in statuses
        first_limited = statuses.index(429)
        assert set(statuses[:first_limited]) == {400}
        assert statuses.count(429) >= GARBAGE_POSTS // 2
        from gateway.services import rejections  # (absent before the hardening)

        counted = sum(c.count for c in rejections.counts(gw.engine) if c.endpoint == "intake")
        assert counted == statuses.count(400)
        assert gw.count("rejections") == statuses.count(400)  # bounded by MAX_ROWS
        clients = gw.runtime.engine.connect()
        try:
            seen = {
                row[0] for row in clients.execute(text("SELECT DISTINCT client FROM rejections"))
            }
        finally:
            clients.close()
        assert seen == {"203.0.113.66"}  # the real client, from the one trusted hop


@pytest.mark.finding("H1")
def test_garbage_attachment_uploads_add_no_log_leaf_and_are_rate_limited(gateway):
    """attack: flood PUT /submissions/{id}/attachments/{name} with random bodies"""
    leaves_before = gateway.leaves()
    statuses = set()
    limited = 0
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        for index in range(300):
            answer = http.put(
                f"/api/v1/submissions/msg-guess-{index:05d}/attachments/a.pdf",
                content=os.urandom(100),
                headers=CMS,
            )
            statuses.add(answer.status_code)
            limited += answer.status_code == 429
    assert statuses == {404, 429}
    assert limited > 0
    assert gateway.leaves() == leaves_before


@pytest.mark.finding("L3")
def test_forged_forwarded_for_is_ignored_without_trusted_hops(gateway):
    """attack: rotate X-Forwarded-For to escape the per-client limit (no trusted proxy)"""
    codes = []
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        for index in range(160):
            forged = {**CMS, "X-Forwarded-For": f"192.0.2.{index % 250}"}
            codes.append(http.post("/api/v1/submissions", content=b"x", headers=forged).status_code)
    assert 429 in codes  # the forged header did not create 160 fresh identities


@pytest.mark.finding("L3")
def test_token_flood_from_one_client_leaves_others_behind_the_proxy_working(make_settings):
    """attack: one client floods the token endpoint behind the same reverse proxy"""
    with serve(make_settings(trusted_proxy_hops=1)) as gw:
        client_id, key = gw.api_client()
        with httpx.Client(base_url=gw.url, timeout=30) as http:
            flood = [
                http.post(
                    "/api/v1/oauth/token",
                    data={"grant_type": "client_credentials"},
                    headers={"X-Forwarded-For": "203.0.113.99"},
                ).status_code
                for _ in range(80)
            ]
        assert 429 in flood
        answers = [
            gw.token_response(
                gw.assertion(client_id, key), **{"X-Forwarded-For": "198.51.100.20"}
            ).status_code
            for _ in range(10)
        ]
        assert answers == [200] * 10


@pytest.mark.finding("H1")
def test_the_rejection_record_stays_bounded_while_counters_keep_counting(
    make_settings, monkeypatch
):
    """attack: grow the rejection record itself without bound"""
    from datetime import UTC, datetime, timedelta

    from gateway.persistence.db import make_engine
    from gateway.services import rejections

    monkeypatch.setattr(rejections, "MAX_ROWS", 50)
    engine = make_engine(make_settings().database_url)
    try:
        for index in range(120):
            rejections.note(engine, "intake", "malformed", client=f"192.0.2.{index % 7}")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM rejections")).scalar_one() == 50
        assert [(c.code, c.count) for c in rejections.counts(engine)] == [("malformed", 120)]
        assert rejections.prune(engine, now=datetime.now(UTC) + timedelta(days=31)) == 50
    finally:
        engine.dispose()
