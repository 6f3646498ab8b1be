"""M3: the attachment upload is no oracle; only the holder of the capability may upload."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from security_support import CMS, large, sealed

from gateway.crypto import encrypt_envelope
from gateway.crypto.keyfiles import load_certificate


def _put(gateway, message_id: str, name: str, body: bytes, token: str | None) -> httpx.Response:
    headers = dict(CMS)
    if token is not None:
        headers["Upload-Token"] = token
    return httpx.put(
        f"{gateway.url}/api/v1/submissions/{message_id}/attachments/{name}",
        content=body,
        headers=headers,
        timeout=60,
    )


def _envelope(gateway, data: bytes) -> bytes:
    cert = load_certificate(Path(gateway.settings.keys_dir) / "dev-pki" / "gateway-intake.pem")
    return encrypt_envelope(data, [cert])


@pytest.mark.finding("M3")
def test_unknown_id_known_id_and_unknown_name_answer_one_identical_404(gateway):
    """attack: probe message ids and attachment names through the upload endpoint"""
    data = os.urandom(5000)
    submission, message_id = sealed(gateway.settings, attachments=[large("scan.pdf", data)])
    answer = httpx.post(f"{gateway.url}/api/v1/submissions", content=submission, headers=CMS)
    assert answer.status_code == 202
    assert answer.json()["upload_token"]
    probes = [
        _put(gateway, "msg-does-not-exist-1", "scan.pdf", b"", None),
        _put(gateway, message_id, "scan.pdf", b"", None),  # right id, no capability
        _put(gateway, message_id, "other.pdf", b"", None),
        _put(gateway, message_id, "scan.pdf", b"", "a-guessed-token"),
        _put(gateway, "msg-does-not-exist-1", "scan.pdf", os.urandom(300), "x"),
    ]
    assert {(p.status_code, p.content) for p in probes} == {
        (probes[0].status_code, probes[0].content)
    }
    assert probes[0].status_code == 404


@pytest.mark.finding("M3")
def test_received_attachment_reveals_nothing_before_the_body_matches(gateway):
    """attack: empty PUT to an already received attachment to read request id, hash, size"""
    data = os.urandom(5000)
    submission, message_id = sealed(
        gateway.settings, attachments=[large("scan.pdf", data), large("more.pdf", b"x" * 100)]
    )
    token = httpx.post(f"{gateway.url}/api/v1/submissions", content=submission, headers=CMS).json()[
        "upload_token"
    ]
    stored = _put(gateway, message_id, "scan.pdf", _envelope(gateway, data), token)
    assert stored.status_code == 201, stored.text
    for token_used in (None, token):
        empty = _put(gateway, message_id, "scan.pdf", b"", token_used)
        assert empty.status_code in (404, 422)
        text = empty.text
        for secret in (stored.json()["request_id"], stored.json()["sha256"], "more.pdf"):
            assert secret not in text


@pytest.mark.finding("M3")
def test_capability_is_stored_hashed_and_bound_to_its_request(gateway):
    """attack: reuse one request's upload token for another request"""
    first, first_id = sealed(gateway.settings, attachments=[large("a.pdf", b"a" * 2000)])
    second, second_id = sealed(gateway.settings, attachments=[large("a.pdf", b"b" * 2000)])
    token = httpx.post(f"{gateway.url}/api/v1/submissions", content=first, headers=CMS).json()[
        "upload_token"
    ]
    httpx.post(f"{gateway.url}/api/v1/submissions", content=second, headers=CMS)
    crossed = _put(gateway, second_id, "a.pdf", _envelope(gateway, b"b" * 2000), token)
    assert crossed.status_code == 404
    with gateway.engine.connect() as conn:
        stored = [
            row[0] for row in conn.exec_driver_sql("SELECT token_sha256 FROM upload_capabilities")
        ]
    assert token not in stored
    assert len(stored) == 2
    assert (
        _put(gateway, first_id, "a.pdf", _envelope(gateway, b"a" * 2000), token).status_code == 201
    )
