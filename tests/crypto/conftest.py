"""Session fixtures: one development PKI per test run, loaded keys and trust config."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from crypto_support import Signer, load_recipient, load_signer
from live_gateway import LiveGateway, serving

from gateway.config import Settings
from gateway.crypto import RecipientKey, TrustConfig, sign
from gateway.crypto.devpki import DevPki, make_dev_pki
from gateway.crypto.keyfiles import load_certificate, load_crl


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


@pytest.fixture
def live_gateway(make_settings: Callable[..., Settings]) -> Iterator[LiveGateway]:
    with serving(make_settings(max_attachment_bytes=64 * 1024 * 1024)) as gateway:
        yield gateway


@pytest.fixture
def small_limit_gateway(make_settings: Callable[..., Settings]) -> Iterator[LiveGateway]:
    """`live_gateway` taking attachments of at most 1 MiB (bodies of about 2 MiB)."""
    with serving(make_settings(max_attachment_bytes=1024 * 1024)) as gateway:
        yield gateway
