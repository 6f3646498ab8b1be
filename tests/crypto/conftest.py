"""Session fixtures: one development PKI per test run, loaded keys and trust config."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from crypto_support import Signer, load_recipient, load_signer
from upload_support import RecordingSender
from werkzeug.serving import make_server

from gateway.config import Settings
from gateway.crypto import RecipientKey, TrustConfig, sign
from gateway.crypto.devpki import DevPki, make_dev_pki
from gateway.crypto.keyfiles import load_certificate, load_crl
from gateway.runtime.container import build_runtime
from gateway.web.app import create_app


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_dev_pki(tmp_path_factory.mktemp("pki") / "keys")


@pytest.fixture(scope="session")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    """A second, unrelated PKI whose signers our trust config does not know."""
    return make_dev_pki(tmp_path_factory.mktemp("other-pki") / "keys")


@pytest.fixture(scope="session")
def trust(pki: DevPki) -> TrustConfig:
    return TrustConfig(anchors=[load_certificate(pki.ca.cert)], crls=[load_crl(pki.crl)])


@pytest.fixture(scope="session")
def intake_keys(pki: DevPki) -> list[RecipientKey]:
    return [load_recipient(pki.intake.cert, pki.intake.key)]


@pytest.fixture(scope="session")
def magistrate(pki: DevPki) -> Signer:
    return load_signer(pki.magistrates["rsa"].cert, pki.magistrates["rsa"].key)


@pytest.fixture(scope="session")
def signed_request(magistrate: Signer) -> bytes:
    return sign(b"%PDF-1.7 request body", magistrate.key, magistrate.cert)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class LiveGateway:
    settings: Settings
    url: str
    sender: RecordingSender


@contextlib.contextmanager
def _serving(settings: Settings) -> Iterator[LiveGateway]:
    """The real WSGI app behind a werkzeug HTTP server in a thread (broker recorded)."""
    runtime = build_runtime(settings)
    sender = RecordingSender()
    runtime.sender = sender  # type: ignore[assignment]
    server = make_server("127.0.0.1", 0, create_app(settings, runtime=runtime), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveGateway(settings, f"http://127.0.0.1:{server.server_port}", sender)
    server.shutdown()
    thread.join(timeout=5)
    runtime.engine.dispose()


@pytest.fixture
def live_gateway(make_settings: Callable[..., Settings]) -> Iterator[LiveGateway]:
    with _serving(make_settings(max_attachment_bytes=64 * 1024 * 1024)) as gateway:
        yield gateway


@pytest.fixture
def small_limit_gateway(make_settings: Callable[..., Settings]) -> Iterator[LiveGateway]:
    """`live_gateway` taking attachments of at most 1 MiB (bodies of about 2 MiB)."""
    with _serving(make_settings(max_attachment_bytes=1024 * 1024)) as gateway:
        yield gateway
