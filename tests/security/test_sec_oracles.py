"""Padding oracle, L1, L2: one answer per failure class; the audience is configured."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
import sqlalchemy as sa
from security_support import CMS, MADRID, serve

from gateway.config import ConfigError
from gateway.crypto import sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import build_submission
from gateway.persistence.db import transaction
from gateway.persistence.tables import api_clients
from gateway.web.app import create_app, runtime_of

UNLIMITED = {"ROGATORY_RATE_LIMITS": {"intake": (1e6, 1_000_000)}}


def _legacy_cbc_envelope(settings, tmp_path) -> bytes:
    from datetime import UTC, datetime

    from security_support import mla_form

    pki = settings.keys_dir / "dev-pki"
    content = build_submission(
        gateway=settings.gateway_id,
        message_id="msg-cbc-oracle-0001",
        created=datetime.now(UTC),
        request=mla_form(),
        attachments=[],
    )
    key = load_private_key(pki / "magistrate-rsa.key")
    signed = sign(content, key, load_certificate(pki / "magistrate-rsa.pem"))  # type: ignore[arg-type]
    (tmp_path / "signed.der").write_bytes(signed)
    command = [
        "openssl", "cms", "-encrypt", "-binary", "-aes-256-cbc",
        "-recip", str(pki / "gateway-intake.pem"),
        "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256",
        "-in", str(tmp_path / "signed.der"), "-outform", "DER",
    ]  # fmt: skip
    return subprocess.run(
        command,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout


@pytest.mark.finding("CBC")
def test_256_padding_guesses_get_one_distinct_answer(make_settings, tmp_path):
    """attack: CBC padding oracle, 256 guesses at the last byte (legacy CBC allowed)"""
    with serve(make_settings(allow_legacy_cbc=True), **UNLIMITED) as gw:
        envelope = bytearray(_legacy_cbc_envelope(gw.settings, tmp_path))
        envelope[-20] ^= 0x01  # the plaintext is never the signed original again
        answers = set()
        with httpx.Client(base_url=gw.url, timeout=60) as http:
            for guess in range(256):
                probe = bytearray(envelope)
                probe[-17] ^= guess  # last byte of the previous block: drives the padding
                answer = http.post("/api/v1/submissions", content=bytes(probe), headers=CMS)
                answers.add((answer.status_code, answer.content))
        assert len(answers) == 1, sorted(answers)
        ((status, body),) = answers
        assert status == 400
        assert b'"undecryptable"' in body


@pytest.mark.finding("L1")
def test_token_endpoint_answers_one_invalid_client_for_every_client_failure(gateway):
    """attack: tell unknown, disabled and known client ids apart at the token endpoint"""
    known_id, known_key = gateway.api_client()
    disabled_id, disabled_key = gateway.api_client()
    with transaction(gateway.engine) as conn:
        conn.execute(
            sa.update(api_clients)
            .where(api_clients.c.client_id == disabled_id)
            .values(enabled=False)
        )
    _, stranger_key = gateway.api_client()
    attempts = {
        "unknown": gateway.assertion("no-such-client-id", known_key),
        "disabled": gateway.assertion(disabled_id, disabled_key),
        "wrong-key": gateway.assertion(known_id, stranger_key),
        "wrong-audience": gateway.assertion(known_id, known_key, aud="https://other.example/t"),
        "garbage": "not.a.jwt",
    }
    answers = {name: gateway.token_response(value) for name, value in attempts.items()}
    distinct = {(a.status_code, a.content) for a in answers.values()}
    assert len(distinct) == 1, {k: v.text for k, v in answers.items()}
    assert answers["unknown"].json()["code"] == "invalid_client"


@pytest.mark.finding("L2")
def test_audience_comes_from_the_configured_url_not_the_host_header(gateway):
    """attack: choose the JWT audience by sending a forged Host header"""
    client_id, key = gateway.api_client(MADRID)
    forged = gateway.assertion(client_id, key, aud="http://evil.example/api/v1/oauth/token")
    answer = gateway.token_response(forged, Host="evil.example")
    assert answer.status_code == 401
    assert gateway.token_response(gateway.assertion(client_id, key)).status_code == 200


@pytest.mark.finding("L2")
def test_default_gateway_id_is_refused_outside_development(make_settings):
    """attack: a production gateway keeps the shared default gateway id"""
    settings = make_settings()
    shutil.rmtree(settings.keys_dir / "dev-pki")  # no throwaway PKI: a real deployment
    with pytest.raises(ConfigError, match="gateway_id"):
        create_app(settings)
    own = make_settings(gateway_id="nl-gateway-rotterdam")
    shutil.rmtree(own.keys_dir / "dev-pki")
    runtime_of(create_app(own)).close()
