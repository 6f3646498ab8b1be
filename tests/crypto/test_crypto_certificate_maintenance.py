"""Periodic jobs: CRLs fetched over HTTP replace the cache only when genuine and current;
certificates about to expire raise an audited alert."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from upload_support import audit_events, sealed_by

from gateway.config import Settings
from gateway.crypto import CryptoError, open_submission
from gateway.crypto.keyfiles import load_certificate, load_crl, load_private_key
from gateway.persistence.db import make_engine
from gateway.runtime.keyring import load_keyring
from gateway.services.certificate_maintenance import (
    check_certificate_expiry,
    check_gateway_certificates,
    refresh_gateway_crls,
)

NOW = datetime.now(UTC)


class _Published:
    """What the local CRL distribution point serves (path -> DER)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}


@pytest.fixture
def crl_server() -> Iterator[tuple[str, _Published]]:
    published = _Published()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = published.files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/pkix-crl")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", published
    server.shutdown()
    server.server_close()


def _crl(
    settings: Settings,
    revoked: list[str],
    *,
    number: int,
    last: datetime = NOW - timedelta(minutes=1),
    next_: datetime = NOW + timedelta(days=7),
    key: object | None = None,
) -> bytes:
    pki = settings.keys_dir / "dev-pki"
    ca = load_certificate(pki / "ca.pem")
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(last)
        .next_update(next_)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for label in revoked:
        serial = load_certificate(pki / f"{label}.pem").serial_number
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(last).build()
        )
    signer = key or load_private_key(pki / "ca.key")
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]


def _list_url(settings: Settings, url: str) -> None:
    path = settings.keys_dir / "keyring.json"
    spec = json.loads(path.read_text())
    spec["crl_urls"] = [url]
    path.write_text(json.dumps(spec))


def _refresh(settings: Settings):  # type: ignore[no-untyped-def]
    return refresh_gateway_crls(load_keyring(settings.keys_dir), settings.keys_dir)


def _trust(settings: Settings):  # type: ignore[no-untyped-def]
    return load_keyring(settings.keys_dir).trust(allow_stale_crl=False, max_skew_seconds=600)


def test_fresh_crl_is_fetched_verified_and_takes_effect(make_settings, crl_server):
    settings = make_settings()
    url, published = crl_server
    published.files["/ca.crl"] = _crl(settings, ["magistrate-revoked", "magistrate-ec"], number=2)
    _list_url(settings, f"{url}/ca.crl")
    keys = load_keyring(settings.keys_dir)
    envelope = sealed_by(settings, "magistrate-ec")
    open_submission(envelope, keys.intake, _trust(settings), now=datetime.now(UTC))

    report = _refresh(settings)
    assert (report.replaced, report.failed) == (["ca.crl.pem"], {})
    cached = load_crl(settings.keys_dir / "dev-pki" / "ca.crl.pem")
    assert cached.public_bytes(serialization.Encoding.DER) == published.files["/ca.crl"]
    with pytest.raises(CryptoError) as refused:
        open_submission(envelope, keys.intake, _trust(settings), now=datetime.now(UTC))
    assert refused.value.code == "certificate-revoked"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("forged", "signature-invalid"),
        ("older", "stale"),
        ("expired", "stale"),
        ("garbage", "malformed"),
        ("missing", "unreachable"),
    ],
)
def test_bad_crl_never_replaces_the_cached_one(make_settings, crl_server, case, reason):
    settings = make_settings()
    url, published = crl_server
    cache = settings.keys_dir / "dev-pki" / "ca.crl.pem"
    before = cache.read_bytes()
    bodies = {
        "forged": lambda: _crl(settings, [], number=9, key=ec.generate_private_key(ec.SECP256R1())),
        "older": lambda: _crl(settings, [], number=0, last=NOW - timedelta(days=400)),
        "expired": lambda: _crl(
            settings, [], number=5, last=NOW - timedelta(days=2), next_=NOW - timedelta(hours=1)
        ),
        "garbage": lambda: b"\x30\x03\x02\x01\x00",
    }
    if case in bodies:
        published.files["/ca.crl"] = bodies[case]()
    _list_url(settings, f"{url}/ca.crl")
    report = _refresh(settings)
    assert report.replaced == []
    assert report.failed == {f"{url}/ca.crl": reason}
    assert cache.read_bytes() == before


def _short_lived(days: int) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "short-lived")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=300))
        .not_valid_after(NOW + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )


def test_certificate_expiring_within_30_days_is_audited_and_logged(make_settings, caplog):
    settings = make_settings()
    keys = load_keyring(settings.keys_dir)
    engine = make_engine(settings.database_url)
    caplog.set_level(logging.WARNING, logger="gateway.services.certificate_maintenance")
    try:
        assert check_gateway_certificates(engine, keys) == []  # the dev PKI is fresh
        own = {"gateway:seal": keys.seal_cert, "gateway:soon": _short_lived(10)}
        own["gateway:later"] = _short_lived(45)
        alerts = check_certificate_expiry(engine, own)
    finally:
        engine.dispose()
    assert alerts == ["gateway:soon"]
    assert audit_events(settings).count((None, "certificate_expiring")) == 1
    assert [r.message for r in caplog.records] == ["certificate expiring"]


def test_beat_runs_both_jobs(make_settings):
    from workers.celery_app import app, configure

    configure(make_settings())
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"rogatory.refresh_crls", "rogatory.check_certificates"} <= tasks
