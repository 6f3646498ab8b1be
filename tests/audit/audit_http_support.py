"""A real gateway on 127.0.0.1 for the audit API tests: HTTP server thread, API clients of
three authorities, real sealed submissions, and the `rogatory` CLI as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jwt
from joserfc.jwk import ECKey
from process_support import REPO, settings_env
from werkzeug.serving import make_server

from gateway.config import Settings
from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.submission import build_submission
from gateway.persistence import authorities_store, exchange_store
from gateway.persistence.authorities_store import Authority
from gateway.persistence.db import transaction
from gateway.runtime.container import Runtime, build_runtime
from gateway.services.tokens import CLIENT_ASSERTION_TYPE
from gateway.web.app import create_app

MADRID, ROTTERDAM, BERLIN = "es-fiscalia-madrid", "nl-om-rotterdam", "de-gsta-berlin"
FIXTURES = REPO / "tests" / "fixtures"


class NullSender:
    """Stands in for the Celery broker: these tests run no pipeline worker."""

    def send(self, task: str, payload: dict[str, Any], *, queue: str) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class LogGateway:
    settings: Settings
    runtime: Runtime
    url: str
    keys: dict[str, ECKey] = field(default_factory=dict)

    @property
    def log_public_key(self) -> Ed25519PublicKey:
        return self.runtime.keys.log_key.public_key()

    def http(self, authority_id: str | None = None) -> httpx.Client:
        headers = {}
        if authority_id is not None:
            headers["Authorization"] = f"Bearer {self._token(authority_id)}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def _token(self, authority_id: str) -> str:
        now = datetime.now(UTC)
        client_id = f"{authority_id}-auditor"
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": f"{self.url}/api/v1/oauth/token",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=120)).timestamp()),
            "jti": uuid.uuid4().hex,
        }
        response = httpx.post(
            f"{self.url}/api/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": jwt.encode({"alg": "ES256"}, claims, self.keys[authority_id]),
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def submit_request(self) -> str:
        """A real signed-then-encrypted MLA request (Rotterdam -> Madrid) over HTTP."""
        pki = self.settings.keys_dir / "dev-pki"
        content = build_submission(
            gateway=self.settings.gateway_id,
            message_id=f"msg-{uuid.uuid4().hex}",
            created=datetime.now(UTC),
            request=json.loads((FIXTURES / "mla_request.json").read_text()),
            attachments=[],
        )
        key = load_private_key(pki / "magistrate-rsa.key")
        signed = sign(content, key, load_certificate(pki / "magistrate-rsa.pem"))  # type: ignore[arg-type]
        sealed = encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")])
        response = httpx.post(
            f"{self.url}/api/v1/submissions",
            content=sealed,
            headers={"Content-Type": "application/pkcs7-mime"},
            timeout=60,
        )
        assert response.status_code == 202, response.text
        return str(response.json()["request_id"])

    def rogatory(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`rogatory --data-dir <this gateway> ARGS` as a real process."""
        return subprocess.run(
            [sys.executable, "-m", "gateway", "--data-dir", str(self.settings.data_dir), *args],
            capture_output=True,
            text=True,
            env=settings_env(self.settings),
            cwd=REPO,
            timeout=120,
            check=False,
        )


def _register_clients(runtime: Runtime) -> dict[str, ECKey]:
    with transaction(runtime.engine) as conn:
        authorities_store.add(
            conn,
            Authority(BERLIN, "GStA Berlin", "DE", ["de"], ["mla"], None, None, True),
        )
        keys = {}
        for authority_id in (MADRID, ROTTERDAM, BERLIN):
            key = ECKey.generate_key("P-256")
            exchange_store.add_client(
                conn, f"{authority_id}-auditor", authority_id, key.as_dict(private=False)
            )
            keys[authority_id] = key
    return keys


@contextmanager
def serve_gateway(settings: Settings) -> Iterator[LogGateway]:
    runtime = build_runtime(settings)
    runtime.sender = NullSender()  # type: ignore[assignment]
    app = create_app(settings, runtime=runtime)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    runtime.settings = replace(settings, public_url=url)  # the token audience
    try:
        gateway = LogGateway(settings, runtime, url)
        gateway.keys = _register_clients(runtime)
        yield gateway
    finally:
        server.shutdown()
        thread.join(timeout=10)
        runtime.engine.dispose()


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
    return path
