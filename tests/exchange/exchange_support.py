"""Exchange test helpers: a real gateway on 127.0.0.1, dev PKI, three authorities.

`make_available` stands in for the translation and render workers (tested on their
own): it moves a verified request through START_TRANSLATION..RENDER with
lifecycle.advance and then runs the real packaging step.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.config import Settings
from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.states import Event
from gateway.domain.submission import build_submission
from gateway.persistence import authorities_store, exchange_store, requests_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.db import transaction
from gateway.runtime.container import Runtime
from gateway.services.lifecycle import advance
from gateway.services.packaging import run_packaging
from gateway.services.tokens import CLIENT_ASSERTION_TYPE

FIXTURES = Path(__file__).parent.parent / "fixtures"
MADRID, ROTTERDAM, BERLIN = "es-fiscalia-madrid", "nl-om-rotterdam", "de-gsta-berlin"


@dataclass
class Client:
    client_id: str
    authority_id: str
    key: ECKey


@dataclass
class Gateway:
    settings: Settings
    runtime: Runtime
    url: str
    pki: Path
    clients: dict[str, Client]
    app: Flask

    @property
    def token_url(self) -> str:
        return f"{self.url}/api/v1/oauth/token"

    def assertion(
        self,
        client: Client,
        *,
        aud: str | None = None,
        exp_in: int = 120,
        jti: str | None = None,
        key: ECKey | None = None,
        now: datetime | None = None,
    ) -> str:
        now = now or datetime.now(UTC)
        claims = {
            "iss": client.client_id,
            "sub": client.client_id,
            "aud": aud or self.token_url,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=exp_in)).timestamp()),
            "jti": jti or uuid.uuid4().hex,
        }
        return jwt.encode({"alg": "ES256"}, claims, key or client.key)

    def token_response(self, assertion: str) -> httpx.Response:
        return httpx.post(
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": assertion,
            },
        )

    def token(self, authority_id: str) -> str:
        response = self.token_response(self.assertion(self.clients[authority_id]))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def http(self, authority_id: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token(authority_id)}"}
        )

    def submission(self, message_id: str | None = None) -> bytes:
        request = json.loads((FIXTURES / "mla_request.json").read_text())
        content = build_submission(
            gateway=self.settings.gateway_id,
            message_id=message_id or f"msg-{uuid.uuid4().hex}",
            created=datetime.now(UTC),
            request=request,
            attachments=[],
        )
        key = load_private_key(self.pki / "magistrate-rsa.key")
        signed = sign(content, key, load_certificate(self.pki / "magistrate-rsa.pem"))  # type: ignore[arg-type]
        return encrypt_envelope(signed, [load_certificate(self.pki / "gateway-intake.pem")])

    def submit(self, data: bytes) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/api/v1/submissions",
            content=data,
            headers={"Content-Type": "application/pkcs7-mime"},
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def make_available(self, request_id: str) -> None:
        engine = self.runtime.engine
        for event in (Event.START_TRANSLATION, Event.FINISH_TRANSLATION, Event.RENDER):
            with transaction(engine) as conn:
                advance(conn, requests_store.get(conn, request_id), event, actor="test:fixture")
        keys = self.runtime.keys
        run_packaging(
            engine, self.runtime.blobs, request_id, seal_key=keys.seal_key, seal_cert=keys.seal_cert
        )

    def new_available_request(self) -> str:
        request_id = str(self.submit(self.submission())["request_id"])
        self.make_available(request_id)
        return request_id


def _throwaway_certificate(name: str) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


def register_clients(runtime: Runtime, pki: Path) -> dict[str, Client]:
    with transaction(runtime.engine) as conn:
        authorities_store.add(
            conn,
            Authority(
                BERLIN, "Generalstaatsanwaltschaft Berlin", "DE", ["de"], ["mla"], None, None, True
            ),
        )
        # a certificate of Berlin's own: each certificate belongs to one authority
        authorities_store.add_certificate(
            conn, BERLIN, "encryption", _throwaway_certificate(BERLIN)
        )
        clients = {}
        for authority_id in (MADRID, ROTTERDAM, BERLIN):
            key = ECKey.generate_key("P-256")
            client = Client(f"{authority_id}-puller", authority_id, key)
            exchange_store.add_client(
                conn, client.client_id, authority_id, key.as_dict(private=False)
            )
            clients[authority_id] = client
    return clients
