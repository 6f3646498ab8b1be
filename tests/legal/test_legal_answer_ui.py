"""The executing side answers in the browser (test client; Chromium: test_legal_answer_browser).

A user of the executing authority sees only the requests addressed to her authority, chooses
a kind of answer, and the form checks what that kind needs (a refusal: at least one ground
of the instrument, chosen from the hand-kept list); the answer becomes her draft, sealed on
the seal page and sent through intake like any reply.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from legal_support import MADRID, eaw_form, eio_form, issue, make_available, retrieve
from werkzeug.test import TestResponse

from gateway.config import Settings
from gateway.crypto import encrypt_envelope, sign
from gateway.crypto.keyfiles import load_certificate, load_private_key
from gateway.domain.labels import catalogue_for
from gateway.domain.submission import build_submission
from gateway.persistence import requests_store
from gateway.persistence.db import transaction
from gateway.web.app import runtime_of

GROUND = "eio-art11-1g-dual-criminality"


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> Iterator[Flask]:
    from ui_support import make_app

    app = make_app(make_settings())
    yield app
    runtime_of(app).close()


def _client(app: Flask, username: str, authority: str) -> FlaskClient:
    from ui_support import add_user, client_for, sign_in

    client = client_for(app)
    sign_in(client, username, add_user(app, username, authority))
    return client


def _delivered(app: Flask, form: dict[str, object]) -> str:
    rt = runtime_of(app)
    now = datetime.now(UTC)
    request_id = issue(rt, form, now)
    make_available(rt, request_id)
    retrieve(rt, request_id, now)
    return request_id


def _state(app: Flask, request_id: str) -> str:
    with transaction(runtime_of(app).engine) as conn:
        return requests_store.get(conn, request_id).state.value


def test_executing_user_sees_only_requests_addressed_to_her_authority(app: Flask) -> None:
    from ui_support import BASE_URL

    request_id = _delivered(app, eio_form())
    not_yet = issue(runtime_of(app), eio_form(), datetime.now(UTC))  # not delivered yet
    madrid = _client(app, "m.garcia", MADRID)
    inbox = madrid.get("/ui/inbox", base_url=BASE_URL)
    assert inbox.status_code == 200
    assert f"/ui/inbox/{request_id}" in inbox.text
    assert not_yet not in inbox.text
    page = madrid.get(f"/ui/inbox/{request_id}", base_url=BASE_URL)
    assert page.status_code == 200
    [document] = re.findall(rf'href="(/ui/inbox/{request_id}/documents/[^"]+)"', page.text)
    download = madrid.get(document, base_url=BASE_URL)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert madrid.get(f"/ui/inbox/{not_yet}", base_url=BASE_URL).status_code == 404
    # the issuing magistrate's own request is not in her inbox, nor can she answer it
    rotterdam = _client(app, "a.devries", "nl-om-rotterdam")
    for path in (f"/ui/inbox/{request_id}", f"/ui/inbox/{request_id}/answer", document):
        assert rotterdam.get(path, base_url=BASE_URL).status_code == 404
    assert request_id not in rotterdam.get("/ui/inbox", base_url=BASE_URL).text


def test_answer_offers_the_kinds_and_grounds_of_the_instrument_only(app: Flask) -> None:
    from ui_support import BASE_URL

    eio, eaw = _delivered(app, eio_form()), _delivered(app, eaw_form())
    madrid = _client(app, "m.garcia", MADRID)
    kinds = madrid.get(f"/ui/inbox/{eio}/answer", base_url=BASE_URL).text
    offered = set(re.findall(r'name="kind" value="([a-z-]+)"', kinds))
    assert {"acknowledgement", "recognition-decision", "postponement", "refusal"} <= offered
    assert {"eaw-consent", "withdrawal", "hearing-arrangement"}.isdisjoint(offered)
    page = madrid.get(f"/ui/inbox/{eio}/answer?kind=refusal", base_url=BASE_URL).text
    grounds = re.findall(r'name="s\.R\.0\.grounds" value="([a-z0-9-]+)"', page)
    assert GROUND in grounds
    assert "eio-art10-1b-measure-not-available" in grounds  # Art 10 alternatives too
    assert all(g.startswith("eio-") for g in grounds)
    label = catalogue_for("en").code_meaning("refusal_grounds", GROUND)
    assert label in page
    eaw_page = madrid.get(f"/ui/inbox/{eaw}/answer?kind=refusal", base_url=BASE_URL).text
    assert set(re.findall(r'grounds" value="([a-z]+)-', eaw_page)) == {"eaw"}
    dutch = madrid.get(f"/ui/inbox/{eio}/answer?kind=refusal&lang=nl", base_url=BASE_URL)
    assert catalogue_for("nl").code_meaning("refusal_grounds", GROUND) in dutch.text
    wrong_kind = madrid.get(f"/ui/inbox/{eio}/answer?kind=eaw-consent", base_url=BASE_URL)
    assert wrong_kind.status_code == 404


def _sealed_as_madrid(client: FlaskClient, draft_path: str, pki: Path) -> bytes:
    """What the seal page's script builds from sealing.json: signed, encrypted to the gateway."""
    from ui_support import BASE_URL

    info = client.get(draft_path + "/sealing.json", base_url=BASE_URL).json
    assert info is not None
    now = datetime.now(UTC)
    content = build_submission(
        gateway=info["gateway_id"],
        message_id=info["message_id"],
        created=now,
        request=json.loads(info["request_json"]),
        attachments=[],
    )
    signed = sign(
        content,
        load_private_key(pki / "authority-b-sign.key"),  # type: ignore[arg-type]
        load_certificate(pki / "authority-b-sign.pem"),
        signing_time=now,
    )
    return encrypt_envelope(signed, [load_certificate(pki / "gateway-intake.pem")])


def _post_answer(client: FlaskClient, request_id: str, **fields: object) -> TestResponse:
    from ui_support import BASE_URL, csrf_of

    page = client.get(f"/ui/inbox/{request_id}/answer?kind=refusal", base_url=BASE_URL)
    data = {"csrf_token": csrf_of(page.text), "kind": "refusal", "language": "es", **fields}
    return client.post(f"/ui/inbox/{request_id}/answer", base_url=BASE_URL, data=data)


def test_a_refusal_needs_a_ground_and_becomes_a_draft_addressed_to_the_issuer(app: Flask) -> None:
    from ui_support import BASE_URL

    request_id = _delivered(app, eio_form())
    madrid = _client(app, "m.garcia", MADRID)
    missing = _post_answer(
        madrid, request_id, **{"s.R.0.body": "No es delito.", "s.K.0.representative": "M. G."}
    )
    assert missing.status_code == 422
    assert "Choose at least one ground of refusal from the list." in missing.text
    foreign = _post_answer(
        madrid,
        request_id,
        **{
            "s.R.0.grounds": ["eaw-art3-1-amnesty"],
            "s.R.0.body": "No es delito.",
            "s.K.0.representative": "M. G.",
        },
    )
    assert foreign.status_code == 422
    good = _post_answer(
        madrid,
        request_id,
        **{
            "s.R.0.grounds": [GROUND],
            "s.R.0.body": "Los hechos no son delito en España.",
            "s.K.0.representative": "M. García",
        },
    )
    assert good.status_code == 302, good.text
    draft_path = good.headers["Location"]
    assert re.fullmatch(r"/ui/drafts/[0-9a-f-]+", draft_path)
    seal_page = madrid.get(draft_path, base_url=BASE_URL).text
    assert "Seal and send your answer" in seal_page
    # what she signs reads like the PDF: labelled in the answer's own language (es)
    assert catalogue_for("es").code_meaning("refusal_grounds", GROUND) in seal_page
    info = madrid.get(draft_path + "/sealing.json", base_url=BASE_URL).json
    reply = json.loads(info["request_json"])
    assert (reply["issuing_authority"], reply["executing_authority"]) == (
        MADRID,
        "nl-om-rotterdam",
    )
    assert reply["sections"]["R"] == {
        "reply_kind": "refusal",
        "in_reply_to": request_id,
        "grounds": [GROUND],
        "body": "Los hechos no son delito en España.",
    }


def test_the_sealed_refusal_rejects_the_request_and_the_issuer_reads_the_ground(
    app: Flask,
) -> None:
    """What the browser posts (test_legal_answer_browser does it in Chromium), signed here."""
    from ui_support import BASE_URL, csrf_of

    rt = runtime_of(app)
    request_id = _delivered(app, eio_form())
    madrid = _client(app, "m.garcia", MADRID)
    draft_path = _post_answer(
        madrid,
        request_id,
        **{
            "s.R.0.grounds": [GROUND],
            "s.R.0.body": "Los hechos no son delito.",
            "s.K.0.representative": "M. García",
        },
    ).headers["Location"]
    sealed = _sealed_as_madrid(madrid, draft_path, rt.settings.keys_dir / "dev-pki")
    page = madrid.get(draft_path, base_url=BASE_URL)
    answer = madrid.post(
        draft_path + "/sealed",
        base_url=BASE_URL,
        data=sealed,
        headers={"Content-Type": "application/pkcs7-mime", "X-CSRF-Token": csrf_of(page.text)},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json["redirect"] == f"/ui/inbox/{request_id}?answered=1"
    assert _state(app, request_id) == "rejected"
    received = madrid.get(answer.json["redirect"], base_url=BASE_URL).text
    assert "Your answer was accepted by the gateway" in received
    assert 'id="answer-button"' not in received  # final: nothing more to answer
    label = catalogue_for("en").code_meaning("refusal_grounds", GROUND)
    assert label in received
    rotterdam = _client(app, "a.devries", "nl-om-rotterdam")
    issuer_page = rotterdam.get(f"/ui/requests/{request_id}", base_url=BASE_URL).text
    assert f'<li data-ground="{GROUND}">{label}</li>' in issuer_page
    assert 'data-kind="refusal"' in issuer_page
    assert "Refused by the executing authority" in issuer_page  # the timeline
    again = _post_answer(
        madrid,
        request_id,
        **{"s.R.0.grounds": [GROUND], "s.R.0.body": "x", "s.K.0.representative": "M. G."},
    )
    assert again.status_code == 422
    assert "nothing more can be sent" in again.text


def test_an_answer_sealed_with_the_command_line_client_uploads_on_its_draft_page(
    app: Flask,
) -> None:
    from ui_support import BASE_URL, csrf_of

    rt = runtime_of(app)
    request_id = _delivered(app, eio_form())
    madrid = _client(app, "m.garcia", MADRID)
    page = madrid.get(f"/ui/inbox/{request_id}/answer?kind=acknowledgement", base_url=BASE_URL)
    assert 'name="s.R.0.grounds"' not in page.text  # an acknowledgement names no grounds
    draft_path = madrid.post(
        f"/ui/inbox/{request_id}/answer",
        base_url=BASE_URL,
        data={
            "csrf_token": csrf_of(page.text),
            "kind": "acknowledgement",
            "s.R.0.body": "Acuse de recibo (anexo B).",
            "s.K.0.representative": "M. García",
        },
    ).headers["Location"]
    sealed = _sealed_as_madrid(madrid, draft_path, rt.settings.keys_dir / "dev-pki")
    seal_page = madrid.get(draft_path, base_url=BASE_URL)
    uploaded = madrid.post(
        draft_path + "/upload",
        base_url=BASE_URL,
        data={"csrf_token": csrf_of(seal_page.text), "sealed": (io.BytesIO(sealed), "a.p7m")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302, uploaded.text
    assert uploaded.headers["Location"] == f"/ui/inbox/{request_id}?answered=1"
    assert _state(app, request_id) == "retrieved"  # acknowledged by law, not refused
    sent = madrid.get(uploaded.headers["Location"], base_url=BASE_URL).text
    assert 'data-kind="acknowledgement"' in sent
    assert 'id="answer-button"' in sent  # more answers may follow
