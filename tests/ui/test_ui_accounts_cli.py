"""`rogatory users` as an administrator runs it, the demo user, catalogues and drafts."""

from __future__ import annotations

import io
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import pyotp
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from process_support import REPO, settings_env
from ui_support import BASE_URL, PASSWORD, client_for, csrf_of, make_app, mla_form, sign_in

from gateway.persistence.db import make_engine
from gateway.runtime.container import load_kek
from gateway.services import accounts
from gateway.web.app import runtime_of
from gateway.web.ui import TRANSLATIONS_DIR


def _users(settings, *args, password=None):
    env = settings_env(settings)
    if password is not None:
        env["ROGATORY_NEW_USER_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "gateway", "users", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_users_add_list_disable_reset_totp(make_settings):
    settings = make_settings()
    added = _users(settings, "add", "j.smit", "--authority", "nl-om-rotterdam", password=PASSWORD)
    assert added.returncode == 0, added.stderr
    uri = next(line.strip() for line in added.stdout.splitlines() if "otpauth://" in line)
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    assert PASSWORD not in added.stdout
    engine = make_engine(settings.database_url)
    try:
        accounts.check_password(engine, "j.smit", PASSWORD)
        accounts.check_totp(engine, "j.smit", pyotp.TOTP(secret).now(), kek=load_kek(settings))
        listed = _users(settings, "list")
        assert "j.smit\tnl-om-rotterdam\tenabled" in listed.stdout
        assert secret not in listed.stdout  # the secret is shown once, at creation
        weak = _users(settings, "add", "x.y", "--authority", "nl-om-rotterdam", password="short")
        assert weak.returncode == 2
        assert "weak-password" in weak.stderr
        reset = _users(settings, "reset-totp", "j.smit")
        assert reset.returncode == 0
        assert secret not in reset.stdout
        assert _users(settings, "disable", "j.smit").returncode == 0
        assert "disabled" in _users(settings, "list").stdout
    finally:
        engine.dispose()


def test_demo_user_can_sign_in(make_settings):
    app = make_app(make_settings())
    kek = runtime_of(app).blobs.kek
    username, password, secret = accounts.create_demo_user(
        runtime_of(app).engine, "nl-om-rotterdam", kek=kek
    )
    signed = accounts.check_password(runtime_of(app).engine, username, password)
    assert signed.username == username
    assert signed.authority_id == "nl-om-rotterdam"
    again = accounts.create_demo_user(runtime_of(app).engine, "nl-om-rotterdam", kek=kek)
    assert again[0] == username
    assert again[2] != secret  # a rerun of the demo replaces the account
    runtime_of(app).close()


def test_compiled_dutch_catalogue_matches_its_source():
    po_path = TRANSLATIONS_DIR / "nl" / "LC_MESSAGES" / "messages.po"
    with open(po_path, "rb") as handle:
        source = read_po(handle)
    with open(po_path.with_suffix(".mo"), "rb") as handle:
        compiled = read_mo(handle)
    expected = {m.id: m.string for m in source if m.id}
    assert all(expected.values()), "every Dutch text is translated"
    assert {m.id: m.string for m in compiled if m.id} == expected


def test_interface_speaks_dutch_from_accept_language(make_settings):
    app = make_app(make_settings())
    page = app.test_client().get(
        "/ui/login", base_url=BASE_URL, headers={"Accept-Language": "nl-NL,nl;q=0.9"}
    )
    assert '<html lang="nl">' in page.text
    assert "Aanmelden" in page.text
    assert "Direct naar de inhoud" in page.text
    runtime_of(app).close()


def test_attachments_are_declared_by_fingerprint_and_named_in_the_seal_command(make_settings):
    app = make_app(make_settings())
    secret = accounts.create_user(
        runtime_of(app).engine,
        "magistrate",
        "nl-om-rotterdam",
        PASSWORD,
        kek=runtime_of(app).blobs.kek,
    ).totp_secret
    client = client_for(app)
    sign_in(client, "magistrate", secret)
    form = mla_form()
    page = client.get("/ui/compose/mla", base_url=BASE_URL)
    data = {
        "csrf_token": csrf_of(page.text),
        "action": "continue",
        "executing_authority": form["executing_authority"],
        "case_reference": "ROT-2",
        "language": "en",
    }
    for key, section in form["sections"].items():
        for index, entry in enumerate(section if isinstance(section, list) else [section]):
            for name, value in entry.items():
                data[f"s.{key}.{index}.{name}"] = value
    data["attachments"] = [(io.BytesIO(b"witness statement"), "statement 1.txt")]
    answer = client.post(
        "/ui/compose/mla", base_url=BASE_URL, data=data, content_type="multipart/form-data"
    )
    assert answer.status_code == 302, answer.text[:1500]
    draft = client.get(answer.headers["Location"], base_url=BASE_URL)
    assert "--attach statement_1.txt" in draft.text
    runtime_of(app).close()
