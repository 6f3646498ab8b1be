"""A real gateway on 127.0.0.1 for the attack suite, and the attacker's tools.

Every request goes to 127.0.0.1 only; every loop is bounded.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey
from werkzeug.serving import make_server

from gateway.config import Settings
from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import AttachmentRef, build_submission
from gateway.persistence import exchange_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.db import transaction
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.tokens import CLIENT_ASSERTION_TYPE
from gateway.web.app import create_app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CMS = {"Content-Type": "application/pkcs7-mime"}
MADRID, ROTTERDAM = "es-fiscalia-madrid", "nl-om-rotterdam"


class NullSender:
    """Stands in for the Celery broker (an outer boundary): no pipeline runs here."""

    def send(self, task: str, payload: dict[str, Any], *, queue: str) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class LiveGateway:
    settings: Settings
    runtime: Runtime
    url: str
    app: Any

    @property
    def engine(self) -> sa.Engine:
        return self.runtime.engine

    def leaves(self) -> int:
        with transaction(self.engine) as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(audit_leaf)).scalar())

    def count(self, table: str) -> int:
        with transaction(self.engine) as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608

    def api_client(self, authority_id: str = MADRID) -> tuple[str, ECKey]:
        key = ECKey.generate_key("P-256")
        client_id = f"{authority_id}-{uuid.uuid4().hex[:8]}"
        with transaction(self.engine) as conn:
            exchange_store.add_client(conn, client_id, authority_id, key.as_dict(private=False))
        return client_id, key

    def assertion(self, client_id: str, key: ECKey, *, aud: str | None = None) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": aud or f"{self.url}/api/v1/oauth/token",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=120)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode({"alg": "ES256"}, claims, key)

    def token_response(self, assertion: str, **headers: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": assertion,
            },
            headers=headers,
            timeout=30,
        )

    def bearer(self, authority_id: str = MADRID) -> dict[str, str]:
        client_id, key = self.api_client(authority_id)
        answer = self.token_response(self.assertion(client_id, key))
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@contextmanager
def serve(settings: Settings, **app_config: Any) -> Iterator[LiveGateway]:
    runtime = build_runtime(settings)
    runtime.sender = NullSender()  # type: ignore[assignment]
    app = create_app(settings, runtime=runtime)
    app.config.update(app_config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    if hasattr(settings, "public_url"):  # (so the suite also runs against older code)
        runtime.settings = replace(settings, public_url=url)
    try:
        yield LiveGateway(settings, runtime, url, app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        runtime.engine.dispose()


def mla_form() -> dict[str, Any]:
    form: dict[str, Any] = json.loads((FIXTURES / "mla_request.json").read_text())
    return form


def sealed(
    settings: Settings,
    *,
    attachments: list[AttachmentRef] | None = None,
    request: dict[str, Any] | None = None,
    message_id: str | None = None,
) -> tuple[bytes, str]:
    """A submission signed by the dev magistrate and encrypted to the gateway; + message id."""
    pki = settings.keys_dir / "dev-pki"
    message_id = message_id or f"msg-{uuid.uuid4().hex}"
    content = build_submission(
        gateway=settings.gateway_id,
        message_id=message_id,
        created=datetime.now(UTC),
        request=request or mla_form(),
        attachments=attachments or [],
    )
    key = load_private_key(pki / "magistrate-rsa.key")
    signed = sign(content, key, load_certificate(pki / "magistrate-rsa.pem"))  # type: ignore[arg-type]
    return encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")]), message_id


def inline(name: str, data: bytes, media_type: str = "text/plain") -> AttachmentRef:
    return AttachmentRef(name, media_type, len(data), hashlib.sha256(data).hexdigest(), data)


def large(name: str, data: bytes) -> AttachmentRef:
    return AttachmentRef(name, "application/pdf", len(data), hashlib.sha256(data).hexdigest())
