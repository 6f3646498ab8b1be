"""Issue 19: the translator's workspace in the web interface (Flask test client)."""

from __future__ import annotations

import html
import re
import subprocess
import sys

import pytest
import sqlalchemy as sa
from process_support import REPO, settings_env
from ui_support import BASE_URL, PASSWORD, client_for, csrf_of, make_app, sealed_submission, sign_in

from gateway.audit.entries import decode_entry
from gateway.domain.labels import load_catalogue
from gateway.domain.translation_notes import flag_note
from gateway.persistence import authorities_store
from gateway.persistence.audit_tables import audit_leaf
from gateway.persistence.authorities_store import Authority
from gateway.persistence.db import make_engine, transaction
from gateway.services import accounts, pipeline, roles
from gateway.web.app import runtime_of
from workers.extraction.extract import extract_document
from workers.translation.apertium_engine import ApertiumEngine


@pytest.fixture
def app(make_settings, redis_broker_url):
    app = make_app(make_settings(broker_url=redis_broker_url, translation_engine="apertium"))
    yield app
    runtime_of(app).close()


def translated_request(app) -> str:
    """A real sealed request, translated in-process by Apertium."""
    from ui_support import mla_form

    form = mla_form()
    form["sections"]["G"]["facts"] = (
        "The suspect sold false invoices to a company on 12 January 2026. "
        "The money was sent to a bank account in Madrid."
    )
    response = app.test_client().post(
        "/api/v1/submissions",
        data=sealed_submission(runtime_of(app).settings, form),
        headers={"Content-Type": "application/pkcs7-mime"},
    )
    assert response.status_code == 202, response.text
    request_id = response.json["request_id"]
    rt = runtime_of(app)
    pipeline.run_translation(
        rt.engine, rt.blobs, request_id, translator=ApertiumEngine(), extract=extract_document
    )
    return request_id


def user(app, username: str, authority: str, role: str = "translator") -> str:
    rt = runtime_of(app)
    engine = rt.engine
    created = accounts.create_user(
        engine, username, authority, PASSWORD, kek=rt.blobs.kek, display_name=username
    )
    if role != "magistrate":
        roles.set_role(engine, username, role, actor="admin:test")
    return created.totp_secret


def test_translator_reviews_segments_with_flags_and_other_accounts_get_404(app) -> None:
    request_id = translated_request(app)
    with transaction(runtime_of(app).engine) as conn:
        authorities_store.add(
            conn,
            Authority(
                "fr-parquet-lyon", "Parquet de Lyon", "FR", ["fr"], ["mla"], None, None, True
            ),
        )
    translator = client_for(app)
    sign_in(translator, "ana", user(app, "ana", "es-fiscalia-madrid"))
    listing = translator.get("/ui/review", base_url=BASE_URL)
    assert listing.status_code == 200
    assert request_id[:8] in listing.text

    page = translator.get(f"/ui/review/{request_id}", base_url=BASE_URL)
    assert page.status_code == 200
    assert "review.js" in page.text
    rows = re.findall(r'<tr id="(s\d+)" class="segment ([^"]*)"', page.text)
    assert rows
    total = len(rows)
    assert f"0 / {total}" in page.text

    # Accept the first segment, then an edit that loses the date stays flagged.
    facts_id = re.search(r"(s\d+) · sections\.G\.facts", page.text).group(1)  # type: ignore[union-attr]
    first = rows[0][0]
    answer = translator.post(
        f"/ui/review/{request_id}/segments/{first}",
        base_url=BASE_URL,
        data={"csrf_token": csrf_of(page.text), "action": "accept"},
    )
    assert answer.status_code == 303
    answer = translator.post(
        f"/ui/review/{request_id}/segments/{facts_id}",
        base_url=BASE_URL,
        data={"csrf_token": csrf_of(page.text), "action": "edit", "target": "Sin fecha."},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"#{facts_id}")
    page = translator.get(f"/ui/review/{request_id}", base_url=BASE_URL)
    assert f"1 / {total}" in page.text
    row = re.search(rf'<tr id="{facts_id}" class="segment ([^"]*)"', page.text)
    assert row is not None
    assert "flagged" in row.group(1)
    assert 'data-flag="missing-items"' in page.text
    # the badge reads as a sentence of the interface language, never as the flag's code
    assert flag_note("missing-items", load_catalogue("en")) in html.unescape(page.text)
    assert ">missing-items<" not in page.text

    refused = translator.post(
        f"/ui/review/{request_id}/sign-off",
        base_url=BASE_URL,
        data={"csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 303
    assert "error=" in refused.headers["Location"]

    outsider = client_for(app)
    sign_in(outsider, "luc", user(app, "luc", "fr-parquet-lyon"))
    assert outsider.get(f"/ui/review/{request_id}", base_url=BASE_URL).status_code == 404
    assert outsider.get(f"/ui/review/{request_id}/xliff", base_url=BASE_URL).status_code == 404
    assert request_id[:8] not in outsider.get("/ui/review", base_url=BASE_URL).text

    magistrate = client_for(app)
    sign_in(magistrate, "magistrate", user(app, "magistrate", "es-fiscalia-madrid", "magistrate"))
    assert magistrate.get(f"/ui/review/{request_id}", base_url=BASE_URL).status_code == 404


def test_users_add_with_role_translator_is_recorded_and_audited(make_settings) -> None:
    settings = make_settings()
    env = settings_env(settings)
    env["ROGATORY_NEW_USER_PASSWORD"] = PASSWORD
    added = subprocess.run(
        [sys.executable, "-m", "gateway", "users", "add", "eva.trad",
         "--authority", "es-fiscalia-madrid", "--name", "Eva", "--role", "translator"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "user eva.trad created for es-fiscalia-madrid (role translator)" in added.stdout
    engine = make_engine(settings.database_url)
    try:
        assert roles.get_role(engine, "eva.trad") == "translator"
        assert roles.get_role(engine, "nobody-else") == "magistrate"
        with transaction(engine) as conn:
            rows = conn.execute(sa.select(audit_leaf.c.entry)).scalars().all()
        details = [decode_entry(bytes(r)).detail for r in rows]
        assert {"action": "role-set", "user": "eva.trad", "role": "translator"} in details
    finally:
        engine.dispose()
