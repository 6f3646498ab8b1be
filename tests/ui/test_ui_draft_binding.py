"""A sealed file must be the draft's own request: another draft's or case's file, or one
whose attachments differ from the announced ones, is refused with a sentence, and nothing
is accepted (the issue: an EIO file uploaded on a witness draft was accepted)."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
import sqlalchemy as sa
from ui_support import BASE_URL, add_user, client_for, csrf_of, make_app, mla_form, sign_in
from ui_support import sealed_submission as sealed

from gateway.persistence.tables import requests as requests_table
from gateway.services import ui_requests
from gateway.web.app import runtime_of

EVIDENCE = b"bank statement\n" * 20


@pytest.fixture
def signed_in(make_settings, redis_broker_url):
    app = make_app(make_settings(broker_url=redis_broker_url))
    secret = add_user(app)
    add_user(app, "colleague")
    client = client_for(app)
    sign_in(client, "magistrate", secret)
    yield app, client
    runtime_of(app).close()


def _draft(app, form, attachments=(), username="magistrate"):
    rt = runtime_of(app)
    return ui_requests.save_draft(
        rt.engine,
        rt.blobs,
        username=username,
        authority_id="nl-om-rotterdam",
        form=form,
        attachments=list(attachments),
    )


def _upload(client, draft_id, data):
    page = client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL)
    return client.post(
        f"/ui/drafts/{draft_id}/upload",
        base_url=BASE_URL,
        data={"csrf_token": csrf_of(page.text), "sealed": (io.BytesIO(data), "x.p7m")},
        content_type="multipart/form-data",
    )


def _accepted_count(app):
    with runtime_of(app).engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(requests_table)).scalar()


def test_file_sealed_for_another_case_is_refused_on_a_draft(signed_in):
    app, client = signed_in
    settings = runtime_of(app).settings
    draft_id = _draft(app, mla_form(case_reference="ROT-2026-00999"))
    answer = _upload(client, draft_id, sealed(settings, mla_form()))
    assert answer.status_code == 409
    assert "sealed for another request" in answer.text
    assert "ROT-2026-00123" in answer.text
    assert "Nothing was sent" in answer.text
    assert _accepted_count(app) == 0
    # the browser's endpoint refuses it the same way, as problem+json
    page = client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL)
    answer = client.post(
        f"/ui/drafts/{draft_id}/sealed",
        base_url=BASE_URL,
        data=sealed(settings, mla_form()),
        headers={"Content-Type": "application/pkcs7-mime", "X-CSRF-Token": csrf_of(page.text)},
    )
    assert answer.status_code == 409
    assert answer.json["code"] == "sealed-for-another-draft"
    assert _accepted_count(app) == 0


def test_announced_attachment_left_out_is_refused(signed_in):
    app, client = signed_in
    announced = {
        "name": "statement.pdf",
        "size": len(EVIDENCE),
        "sha256": hashlib.sha256(EVIDENCE).hexdigest(),
    }
    draft_id = _draft(app, mla_form(), [announced])
    answer = _upload(client, draft_id, sealed(runtime_of(app).settings, mla_form()))
    assert answer.status_code == 409
    assert "statement.pdf" in answer.text
    assert _accepted_count(app) == 0
    # with the attachment it goes through
    with_file = sealed(
        runtime_of(app).settings,
        mla_form(),
        attachments=[("statement.pdf", "application/pdf", EVIDENCE)],
    )
    answer = _upload(client, draft_id, with_file)
    assert answer.status_code == 302, answer.text[:1000]
    assert _accepted_count(app) == 1


def test_sealing_info_is_the_drafts_exact_request_and_private_to_its_author(signed_in):
    app, client = signed_in
    draft_id = _draft(app, mla_form())
    info = client.get(f"/ui/drafts/{draft_id}/sealing.json", base_url=BASE_URL).json
    assert info["request_json"] == ui_requests.canonical_form_json(mla_form()).decode()
    assert json.loads(info["request_json"]) == mla_form()
    assert info["gateway_id"] == runtime_of(app).settings.gateway_id
    assert len(info["signer_fingerprints"]) >= 2
    assert "PRIVATE" not in json.dumps(info)
    other = _draft(app, mla_form(), username="colleague")
    assert client.get(f"/ui/drafts/{other}/sealing.json", base_url=BASE_URL).status_code == 404
    # a post without the CSRF header is refused before any view runs
    answer = client.post(
        f"/ui/drafts/{draft_id}/sealed",
        base_url=BASE_URL,
        data=b"x",
        headers={"Content-Type": "application/pkcs7-mime"},
    )
    assert answer.status_code == 403


def test_draft_page_shows_what_is_signed_in_words(signed_in):
    app, client = signed_in
    draft_id = _draft(app, mla_form())
    page = client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL).text
    preview = page[page.index('id="what-you-sign"') : page.index('id="seal-heading"')]
    assert "Fraud and money laundering." in preview
    assert "ROT-2026-00123" in preview
    assert "Jansen" in preview
    assert "banking-information" not in preview  # codes are shown by their meaning
    assert "request-ROT-2026-00123.p7m" in page
