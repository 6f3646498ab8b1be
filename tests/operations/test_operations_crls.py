"""CRLs of intermediate CAs: refreshed, checked against their issuer in the chain, and an
audited alert before a CRL goes stale (after which signers are refused)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from ops_support import NOW, Cli, OperatorPki, audit_events, root_ca

from gateway.crypto.certpath import validate_signer
from gateway.crypto.errors import CryptoError
from gateway.persistence.db import make_engine
from gateway.runtime.keyring import load_keyring
from gateway.services.certificate_maintenance import alert_expiring_crls, refresh_gateway_crls


@pytest.fixture
def published() -> Iterator[tuple[str, dict[str, bytes]]]:
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", files
    server.shutdown()
    server.server_close()


def _der(crl: object) -> bytes:
    return crl.public_bytes(serialization.Encoding.DER)  # type: ignore[attr-defined]


def test_intermediate_crl_is_refreshed_against_its_issuer_and_revocation_takes_effect(
    installed: Callable[[], Cli], pki: OperatorPki, published: tuple[str, dict[str, bytes]]
) -> None:
    cli = installed()
    base, files = published
    code, _, err = cli("keys", "import", "crl", "--url", f"{base}/issuing.crl")
    assert code == 0, err
    keys = load_keyring(cli.keys_dir)
    validate_signer(pki.magistrate, [], keys.trust(allow_stale_crl=False, max_skew_seconds=600),
                    signing_time=NOW, now=NOW)  # fmt: skip

    forged = root_ca("Test Issuing CA").crl([pki.magistrate], number=9)  # same name, other key
    files["/issuing.crl"] = _der(forged)
    report = refresh_gateway_crls(keys, cli.keys_dir)
    assert report.replaced == []
    assert report.failed == {f"{base}/issuing.crl": "signature-invalid"}

    files["/issuing.crl"] = _der(pki.intermediate.crl([pki.magistrate], number=2))
    report = refresh_gateway_crls(keys, cli.keys_dir)
    assert report.failed == {}
    assert len(report.replaced) == 1
    trust = load_keyring(cli.keys_dir).trust(allow_stale_crl=False, max_skew_seconds=600)
    with pytest.raises(CryptoError) as refused:
        validate_signer(pki.magistrate, [], trust, signing_time=NOW, now=NOW)
    assert refused.value.code == "certificate-revoked"


def test_crl_close_to_its_next_update_raises_an_audited_alert_then_fails_closed(
    installed: Callable[[], Cli], pki: OperatorPki
) -> None:
    cli = installed()
    keys = load_keyring(cli.keys_dir)
    engine = make_engine(cli.settings.database_url)
    try:
        assert alert_expiring_crls(engine, keys, now=NOW) == []
        later = NOW + timedelta(days=6, hours=12)  # both CRLs: nextUpdate in 7 days
        alerted = alert_expiring_crls(engine, keys, now=later)
    finally:
        engine.dispose()
    assert sorted(alerted) == sorted(
        [pki.root.cert.subject.rfc4514_string(), pki.intermediate.cert.subject.rfc4514_string()]
    )
    assert audit_events(cli.settings.database_url).count("crl_expiring") == 2
    after = NOW + timedelta(days=8)
    with pytest.raises(CryptoError) as refused:
        validate_signer(pki.magistrate, [],
                        keys.trust(allow_stale_crl=False, max_skew_seconds=600),
                        signing_time=after, now=after)  # fmt: skip
    assert refused.value.code in {"untrusted-signer", "certificate-expired"}
