"""L5, M5, L6, L7, L10: names safe on every OS, parsers that answer 400/413, not 500."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import stat
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from security_support import CMS, ROTTERDAM, inline, mla_form, sealed, serve

from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.persistence.db import transaction
from gateway.services import accounts
from gateway.web.app import create_app, runtime_of

REPO = Path(__file__).resolve().parents[2]
BASE = "https://gateway.test"
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')
UNSAFE_NAMES = [
    "D:payload.bat",
    "C:\\Windows\\evil.dll",
    "CON.txt",
    "nul",
    "COM1.pdf",
    "report.pdf.",
    "report.pdf ",
    "invoice\u202egpj.exe",
    "tab\there.pdf",
    "zero\u200bwidth.pdf",
    'quote".pdf',
]
WORLD_NAMES = [
    "Αίτηση δικαστικής συνδρομής.pdf",  # Greek
    "Запрос о правовой помощи.pdf",  # noqa: RUF001  (Cyrillic)
    "Wniosek o pomoc prawną – Łódź.pdf",  # noqa: RUF001  (Polish)
    "司法协助请求.pdf",  # Chinese
]


@pytest.mark.finding("L5")
@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_attachment_names_are_refused(gateway, name):
    """attack: attachment names with drive letters, device names, bidi or trailing dots"""
    submission, _ = sealed(gateway.settings, attachments=[inline(name, b"payload")])
    answer = httpx.post(f"{gateway.url}/api/v1/submissions", content=submission, headers=CMS)
    assert (answer.status_code, answer.json()["code"]) == (400, "malformed")


def _sign_in(app, secret: str):
    client = app.test_client()
    page = client.get("/ui/login", base_url=BASE)
    client.post(
        "/ui/login",
        base_url=BASE,
        data={
            "username": "magistrate",
            "password": PASSWORD,
            "csrf_token": _CSRF.search(page.text).group(1),
        },
    )
    page = client.get("/ui/login/code", base_url=BASE)
    answer = client.post(
        "/ui/login/code",
        base_url=BASE,
        data={
            "code": accounts.current_totp(secret),
            "csrf_token": _CSRF.search(page.text).group(1),
        },
    )
    assert answer.status_code == 302, answer.text
    return client


@pytest.mark.finding("M5")
def test_greek_cyrillic_polish_chinese_names_download_with_filename_star(make_settings):
    """attack: (accidental) non-Latin attachment names break the UI download"""
    settings = make_settings()
    with serve(settings) as gw:
        files = {name: f"content of {name}".encode() for name in WORLD_NAMES}
        submission, _ = sealed(
            settings, attachments=[inline(name, data) for name, data in files.items()]
        )
        answer = httpx.post(f"{gw.url}/api/v1/submissions", content=submission, headers=CMS)
        assert answer.status_code == 202, answer.text
        request_id = answer.json()["request_id"]
    app = create_app(settings)
    app.config.update(TESTING=True)
    rt = runtime_of(app)
    try:
        secret = accounts.create_user(
            rt.engine, "magistrate", ROTTERDAM, PASSWORD, kek=rt.blobs.kek
        ).totp_secret
        client = _sign_in(app, secret)
        with transaction(rt.engine) as conn:
            stored = {o.name: o.id for o in rt.blobs.list(conn, request_id, "attachment")}
        assert set(stored) == set(WORLD_NAMES)
        for name, object_id in stored.items():
            download = client.get(f"/ui/requests/{request_id}/documents/{object_id}", base_url=BASE)
            assert download.status_code == 200, name
            disposition = download.headers["Content-Disposition"]
            disposition.encode("latin-1")  # what a WSGI server must be able to send
            star = disposition.split("filename*=UTF-8''", 1)[1]
            assert unquote(star) == name
            assert download.data == files[name]
    finally:
        rt.close()


def _zip(files: dict[str, bytes]) -> bytes:
    manifest = {
        "request_id": "r",
        "files": [
            {"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
            for n, d in files.items()
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.finding("L5")
def test_client_pull_writes_private_files_inside_its_folder_only(tmp_path):
    """attack: a package writes world-readable files, or escapes through a planted symlink"""
    from gateway.services.reference_client import ClientRefusal
    from gateway.services.reference_client import unpack_package as _unpack

    out = tmp_path / "out"
    _unpack(_zip({"request.pdf": b"%PDF-secret", "attachments/scan.pdf": b"scan"}), out)
    for path in (out / "request.pdf", out / "attachments" / "scan.pdf", out / "manifest.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    outside = tmp_path / "outside"
    outside.mkdir()
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "attachments").symlink_to(outside)
    with pytest.raises(ClientRefusal):
        _unpack(_zip({"attachments/evil.txt": b"x"}), planted)
    assert list(outside.iterdir()) == []
    with pytest.raises(ClientRefusal):
        _unpack(_zip({"attachments/CON.txt": b"x"}), tmp_path / "other")


def _deep_submission(settings) -> bytes:
    pki = settings.keys_dir / "dev-pki"
    document = {
        "format": "rogatory.submission/1",
        "gateway": settings.gateway_id,
        "message_id": f"msg-{uuid.uuid4().hex}",
        "created": datetime.now(UTC).isoformat(),
        "request": "PLACEHOLDER",
        "attachments": [],
    }
    depth = 100_000
    content = json.dumps(document).replace('"PLACEHOLDER"', "[" * depth + "]" * depth).encode()
    key = load_private_key(pki / "magistrate-rsa.key")
    signed = sign(content, key, load_certificate(pki / "magistrate-rsa.pem"))  # type: ignore[arg-type]
    return encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")])


@pytest.mark.finding("L6")
def test_deeply_nested_json_in_a_validly_signed_request_is_a_400(gateway):
    """attack: 100000-deep JSON nesting inside a validly signed request"""
    answer = httpx.post(
        f"{gateway.url}/api/v1/submissions",
        content=_deep_submission(gateway.settings),
        headers=CMS,
        timeout=120,
    )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.finding("L6")
def test_malformed_and_huge_cursors_are_a_400(gateway):
    """attack: huge and malformed pagination cursors on /inbox and /events"""
    submission, _ = sealed(gateway.settings)
    request_id = httpx.post(
        f"{gateway.url}/api/v1/submissions", content=submission, headers=CMS
    ).json()["request_id"]
    bearer = gateway.bearer()

    def cursor(values: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")

    probes = [
        f"/api/v1/requests/{request_id}/events?cursor={cursor([10**30])}",
        f"/api/v1/requests/{request_id}/events?cursor={cursor([-5])}",
        f"/api/v1/requests/{request_id}/events?cursor=%%%",
        f"/api/v1/inbox?cursor={cursor(['not a time', 'x'])}",
        f"/api/v1/inbox?cursor={'A' * 5000}",
        f"/api/v1/inbox?cursor={cursor([[[[[[[[[[1]]]]]]]]]])}",
    ]
    with httpx.Client(base_url=gateway.url, headers=bearer, timeout=30) as http:
        answers = {probe: http.get(probe) for probe in probes}
    assert {p: a.status_code for p, a in answers.items()} == {p: 400 for p in probes}


def _chunked(size: int):
    sent = 0
    while sent < size:
        block = os.urandom(min(16384, size - sent))
        sent += len(block)
        yield block


@pytest.mark.finding("L7")
def test_chunked_bodies_over_the_limit_are_a_413(make_settings):
    """attack: a chunked body over the size limit (no Content-Length to check first)"""
    with serve(make_settings(max_submission_bytes=4096)) as gw:
        with httpx.Client(base_url=gw.url, timeout=60) as http:
            submission = http.post("/api/v1/submissions", content=_chunked(200_000), headers=CMS)
            token = http.post(
                "/api/v1/oauth/token",
                content=_chunked(100_000),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        assert submission.status_code == 413, submission.text
        assert token.status_code == 413, token.text


@pytest.mark.finding("L10")
def test_authorities_add_with_a_certificate_registered_elsewhere_is_an_error(make_settings):
    """attack: register a new authority with another authority's certificate"""
    settings = make_settings()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROGATORY_")}
    env.update(ROGATORY_DATA_DIR=str(settings.data_dir), DATABASE_URL=settings.database_url)
    taken = settings.keys_dir / "dev-pki" / "authority-b-enc.pem"  # Madrid's
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "authorities",
            "add",
            "xx-copycat",
            "--name",
            "Copycat",
            "--country",
            "DE",
            "--language",
            "de",
            "--encryption-cert",
            str(taken),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "error[conflict]" in result.stderr
    assert "es-fiscalia-madrid" in result.stderr
    assert "registered" not in result.stdout
    assert mla_form()  # the fixture form is intact (nothing else touched)
