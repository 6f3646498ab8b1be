"""The list scales (case reference, counterpart, type, state, last change; search, filters)
and replies are first-class (marked new, named by kind, PDF and Answer on the request)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from ui_support import (
    BASE_URL,
    add_user,
    client_for,
    csrf_of,
    make_app,
    mla_form,
    sealed_submission,
    sign_in,
)

from gateway.persistence.db import transaction
from gateway.persistence.tables import requests as requests_table
from gateway.web.app import runtime_of


@pytest.fixture
def app(make_settings, redis_broker_url):
    app = make_app(make_settings(broker_url=redis_broker_url))
    yield app
    runtime_of(app).close()


def _submit(app, form, magistrate="magistrate-rsa"):
    response = app.test_client().post(
        "/api/v1/submissions",
        data=sealed_submission(runtime_of(app).settings, form, magistrate=magistrate),
        headers={"Content-Type": "application/pkcs7-mime"},
    )
    assert response.status_code == 202, response.text
    return response.json["request_id"]


def _reply(in_reply_to):
    return {
        "schema": "rogatory.request/1",
        "request_type": "reply",
        "issuing_authority": "es-fiscalia-madrid",
        "executing_authority": "nl-om-rotterdam",
        "case_reference": "MAD-2026-0042",
        "language": "es",
        "sections": {
            "R": {
                "reply_kind": "request-for-information",
                "in_reply_to": in_reply_to,
                "body": "Necesitamos la fecha de nacimiento del sospechoso.",
            },
            "K": {
                "authority_name": "Fiscalía Provincial de Madrid",
                "representative": "M. García",
                "signed_on": "2026-11-24",
            },
        },
    }


def _rows(page):
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    return body.split("<tr")[1:]


def test_list_search_filters_and_new_replies(app):
    first = _submit(app, mla_form(case_reference="ROT-2026-00777"))
    _submit(app, mla_form(case_reference="ROT-2026-00778"))
    client = client_for(app)
    sign_in(client, "magistrate", add_user(app))

    page = client.get("/ui/requests", base_url=BASE_URL).text
    assert len(_rows(page)) == 2
    assert "ROT-2026-00777" in page
    assert "ROT-2026-00778" in page
    assert "Fiscalía Provincial de Madrid" in page
    assert 'data-label="Case reference"' in page  # the phone card layout's labels
    found = client.get("/ui/requests?q=00777", base_url=BASE_URL).text
    assert len(_rows(found)) == 1
    assert "ROT-2026-00777" in found
    assert "No request matches" in client.get("/ui/requests?q=nothing", base_url=BASE_URL).text
    assert (
        "No request matches" in client.get("/ui/requests?type=extradition", base_url=BASE_URL).text
    )

    # the counterpart asks for more information: the list marks the request
    _submit(app, _reply(first), magistrate="authority-b-sign")
    page = client.get("/ui/requests", base_url=BASE_URL).text
    assert "New replies: 1" in page
    marked = client.get("/ui/requests?state=new-replies", base_url=BASE_URL).text
    assert len(_rows(marked)) == 1
    assert "ROT-2026-00777" in marked

    # the request page names the reply's kind and offers to answer it
    request_page = client.get(f"/ui/requests/{first}", base_url=BASE_URL).text
    assert "Request for further information" in request_page or "information" in request_page
    assert (
        "request-for-information" not in request_page.split('data-kind="')[1].split(">", 1)[1][:80]
    )
    assert f"/ui/requests/{first}/answer" in request_page
    # seen now: no longer new
    page = client.get("/ui/requests", base_url=BASE_URL).text
    assert "New replies" not in page
    assert "Replies: 1" in page

    answer = client.post(
        f"/ui/requests/{first}/answer",
        base_url=BASE_URL,
        data={"csrf_token": csrf_of(request_page)},
    )
    assert answer.status_code == 302
    assert "/ui/compose/mla?draft=" in answer.headers["Location"]
    compose = client.get(answer.headers["Location"], base_url=BASE_URL).text
    assert 'value="ROT-2026-00777"' in compose


def test_failed_request_says_why_and_what_to_do_without_technical_names(app):
    request_id = _submit(app, mla_form())
    rt = runtime_of(app)
    translation = {
        "format": "rogatory.translation/1",
        "fields": [
            {"path": "sections.G.facts", "source": "x", "target": None, "status": "failed"},
            {"path": "sections.G.legal_qualification", "source": "y", "target": "y'",
             "status": "needs-review"},
        ],
    }  # fmt: skip
    with transaction(rt.engine) as conn:
        rt.blobs.put(
            conn,
            request_id=request_id,
            kind="translation",
            name="translation.json",
            media_type="application/json",
            data=json.dumps(translation).encode(),
        )
        conn.execute(
            sa.update(requests_table)
            .where(requests_table.c.id == request_id)
            .values(state="failed", failed_step="translate")
        )
    client = client_for(app)
    sign_in(client, "magistrate", add_user(app))
    page = client.get(f"/ui/requests/{request_id}", base_url=BASE_URL).text
    reason = page[page.index('id="failure-reason"') : page.index('id="progress"')]
    assert "machine translation did not succeed" in reason
    assert "English" in reason  # what to do next
    assert "to be checked by a person" in page
    assert ">needs-review<" not in page
    assert ">failed<" not in page
