"""Translation checked before sealing (issue 20): the draft page's translation preview.

The web process records the preview and sends a task carrying its id only; a real Celery
worker (Apertium en->es, through a shim that logs every call and can be told to fail)
translates the draft's free-text fields as the pipeline would. The page shows each field,
its translation, the engine and model, and the flags in words.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import Babel
from process_support import WorkerProcess, wait_for
from ui_support import (
    BASE_URL,
    PASSWORD,
    add_user,
    client_for,
    csrf_of,
    make_app,
    mla_form,
    sign_in,
)

from gateway.config import load_settings
from gateway.domain.errors import NotFound
from gateway.persistence.db import transaction
from gateway.persistence.tables import outbox
from gateway.persistence.ui_tables import ui_translation_previews
from gateway.runtime.broker import ensure_embedded_broker, stop_embedded_broker
from gateway.runtime.container import build_runtime
from gateway.runtime.setup import initialise
from gateway.services import (
    accounts,
    glossaries,
    ui_drafts,
    ui_requests,
    ui_translation_preview,
)
from gateway.services.dispatch import flush_outbox
from gateway.translation.result import Provenance, SegmentResult
from gateway.web.app import runtime_of
from gateway.web.ui.views_translation_preview import flag_notes

pytestmark = pytest.mark.slow

NAME = "Pieter Jansen"
UNKNOWN = "zorblaxian"
FACTS = f"{NAME} sold false invoices to the {UNKNOWN} company in Rotterdam."


@pytest.fixture(scope="module")
def gateway(keys_template, tmp_path_factory):
    """One data dir, embedded broker and worker for this module (a worker costs seconds).

    The worker finds `apertium` through a shim that logs each call and exits with an
    error while the file `fail` exists next to it."""
    data_dir = tmp_path_factory.mktemp("data")
    shutil.copytree(keys_template, data_dir / "keys")
    settings = load_settings(
        {}, overrides={"data_dir": str(data_dir), "translation_engine": "apertium"}
    )
    for _ in initialise(settings, dev_pki=False, demo_authorities=True):
        pass
    ensure_embedded_broker(settings)
    shim_dir = tmp_path_factory.mktemp("shim")
    calls = shim_dir / "calls.log"
    calls.touch()
    shim = shim_dir / "apertium"
    real = shutil.which("apertium")
    shim.write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\n'
        f"if [ -e {shim_dir / 'fail'} ]; then echo broken >&2; exit 3; fi\n"
        f'exec {real} "$@"\n'
    )
    shim.chmod(0o755)
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{shim_dir}{os.pathsep}{path}"
    try:
        worker = WorkerProcess(settings, tmp_path_factory.mktemp("logs") / "worker.log", beat=False)
    finally:
        os.environ["PATH"] = path
    app = make_app(settings)
    # signed in once per module: each TOTP code is accepted only once
    client, colleague = client_for(app), client_for(app)
    sign_in(client, "magistrate", add_user(app))
    sign_in(colleague, "colleague", add_user(app, "colleague"))
    try:
        yield app, client, colleague, shim_dir
    finally:
        worker.stop()
        runtime_of(app).close()
        stop_embedded_broker(settings)


@pytest.fixture
def signed_in(gateway):
    app, client, _colleague, shim_dir = gateway
    return app, client, shim_dir


def _draft(app, *, username="magistrate", **changes) -> str:
    rt = runtime_of(app)
    form = mla_form(**changes)
    form["sections"]["G"]["facts"] = FACTS
    return ui_requests.save_draft(
        rt.engine,
        rt.blobs,
        username=username,
        authority_id="nl-om-rotterdam",
        form=form,
        attachments=[],
    )


def _ask(client, draft_id, **headers):
    page = client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL, headers=headers)
    return client.post(
        f"/ui/drafts/{draft_id}/translation-preview",
        base_url=BASE_URL,
        data={"csrf_token": csrf_of(page.text)},
        headers=headers,
    )


def _final(client, draft_id, **headers):
    def status():
        answer = client.get(
            f"/ui/drafts/{draft_id}/translation-preview.json", base_url=BASE_URL, headers=headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json if answer.json["final"] else None

    return wait_for(status, timeout=90, what="the translation preview")


def _article(html, source):
    """The preview's part for the field whose source text is `source`."""
    return next(a for a in html.split("<article")[1:] if source in a)


def _rows(app, draft_id):
    return _rows_of(runtime_of(app), draft_id)


def _rows_of(rt, draft_id):
    with transaction(rt.engine) as conn:
        return conn.execute(
            sa.select(ui_translation_previews).where(ui_translation_previews.c.draft_id == draft_id)
        ).all()


def _outbox_payloads(app):
    with transaction(runtime_of(app).engine) as conn:
        return [row.payload for row in conn.execute(sa.select(outbox.c.task, outbox.c.payload))]


def test_preview_shows_the_translation_the_engine_and_the_flags_in_words(signed_in):
    app, client, shim_dir = signed_in
    draft_id = _draft(app)
    asked = _ask(client, draft_id)
    # without script: back to the draft page, whose preview part says it is being prepared
    assert asked.status_code == 302
    assert asked.headers["Location"].endswith(f"/ui/drafts/{draft_id}#translation-preview")
    answer = _final(client, draft_id)
    assert answer["state"] == "done", answer
    html = answer["html"]
    facts = _article(html, FACTS)
    target = facts.split('class="tp-target"')[1]
    assert NAME in target  # the name survived translation
    assert "facturas falsas" in target
    assert f"Words the engine does not know (left as you wrote them): {UNKNOWN}." in facts
    assert "Words left untranslated" not in facts  # the unknown word is named once
    # the pipeline's verdict: unknown words are listed, the name and reference are intact
    assert 'data-status="translated"' in facts
    assert "correct your text in the form, then preview again" in html
    attention = html.split('id="translation-preview-attention"')[1].split("</div>")[0]
    assert "Summary of the facts" in attention  # named first, a link to the field
    assert "<h3>Summary of the facts" in facts
    assert "Engine: apertium" in html
    assert (shim_dir / "calls.log").read_text()  # the worker's apertium is the logging shim
    assert "apertium-eng-spa" in html
    assert "unknown-words" not in html  # never the technical code
    page = client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL).text
    assert 'data-state="done"' in page
    assert "translation-preview.js" in page

    # the task carried the preview's id only; no text anywhere at rest in the clear
    [row] = _rows(app, draft_id)
    payloads = [p for p in _outbox_payloads(app) if "preview_id" in p]
    assert {"preview_id": row.id} in payloads
    assert all(set(p) == {"preview_id"} for p in payloads)
    data_dir = runtime_of(app).settings.data_dir
    leaked = [
        path
        for path in Path(data_dir).rglob("*")
        if path.is_file() and UNKNOWN.encode() in path.read_bytes()
    ]
    assert leaked == []

    # the magistrate edits the draft: the preview says it is of an earlier text
    rt = runtime_of(app)
    form = json.loads(ui_requests.get_draft(rt.engine, rt.blobs, "magistrate", draft_id).form_json)
    form["sections"]["G"]["facts"] = f"{NAME} sold false invoices."
    ui_drafts.save(
        rt.engine,
        rt.blobs,
        username="magistrate",
        authority_id="nl-om-rotterdam",
        form=form,
        attachments=[],
        draft_id=draft_id,
    )
    page = client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL).text
    assert 'id="translation-preview-stale"' in page


def test_with_script_the_answer_is_json_and_asking_twice_runs_one_job(signed_in):
    app, client, _shim = signed_in
    draft_id = _draft(app)
    json_accept = {"Accept": "application/json"}
    first = _ask(client, draft_id, **json_accept)
    second = _ask(client, draft_id, **json_accept)
    assert first.status_code == second.status_code == 200
    assert first.json["state"] in ("pending", "done")
    assert _final(client, draft_id)["state"] == "done"
    assert len(_rows(app, draft_id)) == 1


def test_the_authorities_glossary_is_applied_as_in_the_pipeline(signed_in):
    app, client, _shim = signed_in
    rt = runtime_of(app)
    glossaries.import_glossary(
        rt.engine,
        b"source,target\ncarousel fraud,fraude de carrusel\n",
        "csv",
        issuing="nl-om-rotterdam",
        executing="es-fiscalia-madrid",
        source="en",
        target="es",
        actor="admin:test",
    )
    draft_id = _draft(app)
    form = json.loads(ui_requests.get_draft(rt.engine, rt.blobs, "magistrate", draft_id).form_json)
    form["sections"]["G"]["facts"] = "The suspect committed carousel fraud in Rotterdam."
    ui_drafts.save(
        rt.engine,
        rt.blobs,
        username="magistrate",
        authority_id="nl-om-rotterdam",
        form=form,
        attachments=[],
        draft_id=draft_id,
    )
    _ask(client, draft_id)
    facts = _article(_final(client, draft_id)["html"], "carousel fraud")
    assert "fraude de carrusel" in facts.split('class="tp-target"')[1]
    assert "Terms of the agreed glossary were used." in facts
    assert 'class="tp-notes"' not in facts  # how it was made, not a problem to fix


def test_another_account_can_neither_ask_for_nor_read_the_preview(gateway):
    app, client, colleague, _shim = gateway
    draft_id = _draft(app)
    assert _ask(client, draft_id).status_code == 302
    page = colleague.get("/ui/drafts", base_url=BASE_URL)
    asked = colleague.post(
        f"/ui/drafts/{draft_id}/translation-preview",
        base_url=BASE_URL,
        data={"csrf_token": csrf_of(page.text)},
    )
    assert asked.status_code == 404
    status = colleague.get(f"/ui/drafts/{draft_id}/translation-preview.json", base_url=BASE_URL)
    assert status.status_code == 404
    assert FACTS not in status.text
    assert len(_rows(app, draft_id)) == 1  # the owner's only


def test_a_draft_labelled_no_machine_translation_never_reaches_an_engine(signed_in):
    app, client, shim_dir = signed_in
    calls = shim_dir / "calls.log"
    calls.write_text("")
    draft_id = _draft(app, handling=["no-machine-translation"])
    before = len(_outbox_payloads(app))
    asked = _ask(client, draft_id, Accept="application/json")
    assert asked.json["state"] == "refused"
    assert "no machine translation" in asked.json["html"]
    assert _rows(app, draft_id) == []
    assert len(_outbox_payloads(app)) == before  # no job

    # a preview message reaching the worker anyway (forged row and task): refused there too
    rt = runtime_of(app)
    now = datetime.now(UTC)
    with transaction(rt.engine) as conn:
        conn.execute(
            ui_translation_previews.insert().values(
                id="forged-preview",
                draft_id=draft_id,
                username="magistrate",
                form_sha256="0" * 64,
                source_language="en",
                target_language="es",
                engine="apertium",
                state="pending",
                created_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )
    rt.sender.send(
        ui_translation_preview.PREVIEW_TASK, {"preview_id": "forged-preview"}, queue="preview"
    )

    def forged_state():
        with transaction(rt.engine) as conn:
            row = conn.execute(
                sa.select(ui_translation_previews).where(
                    ui_translation_previews.c.id == "forged-preview"
                )
            ).one()
        return row if row.state != "pending" else None

    row = wait_for(forged_state, timeout=90, what="the worker to refuse the forged preview")
    assert (row.state, row.failure_code, row.result_object_id) == (
        "failed",
        "no-machine-translation",
        None,
    )
    assert calls.read_text() == ""  # apertium never ran
    page = client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL).text
    assert 'id="translation-preview-refused"' in page


def test_a_pair_without_engine_is_said_at_once_without_a_job(signed_in):
    app, client, _shim = signed_in
    draft_id = _draft(app, language="nl")  # Apertium here has no Dutch -> Spanish
    before = len(_outbox_payloads(app))
    asked = _ask(client, draft_id, Accept="application/json")
    assert asked.json["state"] == "unavailable"
    assert asked.json["final"] is True
    assert "No installed translation engine translates Dutch into Spanish" in asked.json["html"]
    assert _rows(app, draft_id) == []
    assert len(_outbox_payloads(app)) == before
    page = client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL).text
    assert 'id="translation-preview-unavailable"' in page
    assert 'id="translation-preview-ask"' not in page


def test_a_failed_preview_is_said_in_the_magistrates_language(signed_in):
    app, client, shim_dir = signed_in
    dutch = {"Accept-Language": "nl"}
    draft_id = _draft(app)
    (shim_dir / "fail").touch()
    try:
        _ask(client, draft_id, **dutch)
        answer = _final(client, draft_id, **dutch)
    finally:
        (shim_dir / "fail").unlink()
    assert answer["state"] == "failed"
    assert "Het voorbeeld van de vertaling is niet gelukt" in answer["html"]
    assert "de vertaalmachine liep vast" in answer["html"]
    assert "Probeer het opnieuw" in answer["html"]
    assert 'id="translation-preview-ask"' in answer["html"]  # and may be asked again


def test_a_preview_no_worker_finished_in_time_says_so_instead_of_spinning(signed_in):
    app, client, _shim = signed_in
    rt = runtime_of(app)
    draft_id = _draft(app)
    long_ago = datetime.now(UTC) - ui_translation_preview.PENDING_TIMEOUT - timedelta(seconds=5)
    asked = ui_translation_preview.request_preview(
        rt.engine, rt.blobs, rt.settings, "magistrate", draft_id, now=long_ago
    )
    assert asked.state == "pending"
    flush_outbox(rt.engine, rt.sender)  # the worker gets it, late: it does not start it
    answer = _final(client, draft_id)
    assert answer["state"] == "timed-out"
    assert "took too long" in answer["html"]
    [row] = _rows(app, draft_id)
    assert row.state == "pending"


def test_an_expired_preview_is_purged_with_its_encrypted_result(signed_in):
    app, client, _shim = signed_in
    rt = runtime_of(app)
    draft_id = _draft(app)
    _ask(client, draft_id)
    assert _final(client, draft_id)["state"] == "done"
    [row] = _rows(app, draft_id)
    later = datetime.now(UTC) + ui_translation_preview.PREVIEW_TTL + timedelta(minutes=1)
    read = ui_translation_preview.latest_preview(
        rt.engine, rt.blobs, rt.settings, "magistrate", draft_id, now=later
    )
    assert read.state == "none"
    assert _rows(app, draft_id) == []
    with transaction(rt.engine) as conn, pytest.raises(NotFound, match="destroyed"):
        rt.blobs.read(conn, row.result_object_id)

    other = _draft(app)
    ui_translation_preview.request_preview(rt.engine, rt.blobs, rt.settings, "magistrate", other)
    assert ui_translation_preview.purge_expired(rt.engine, rt.blobs, now=later) >= 1
    assert _rows(app, other) == []


def test_flags_are_said_in_words():
    segment = SegmentResult(
        path="sections.G.facts",
        source="Pieter Jansen sold invoices.",
        target="vendió facturas.",
        status="needs-review",
        flags=("missing: Pieter Jansen", "placeholders-lost", "span-fallback"),
        provenance=Provenance("apertium", "apertium-eng-spa 0.8", "0.8", "", (), "", "now"),
        missing=("Pieter Jansen",),
        untranslated=("invoices",),
    )
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context():
        notes = flag_notes(segment)
    assert notes == [
        "Names, numbers or references not found unchanged in the translation: Pieter Jansen.",
        "Words left untranslated: invoices.",
        "Names and references could not be kept apart from this text: check them in the "
        "translation.",
    ]


def test_a_draft_without_recipient_or_language_is_told_what_is_missing(signed_in):
    app, client, _shim = signed_in
    draft_id = _draft(app, language="")
    asked = client.post(
        f"/ui/drafts/{draft_id}/translation-preview",
        base_url=BASE_URL,
        data={"csrf_token": csrf_of(client.get("/ui/drafts", base_url=BASE_URL).text)},
        headers={"Accept": "application/json"},
    )
    assert (asked.json["state"], asked.json["final"]) == ("failed", True)
    assert "the draft has no request language or no recipient yet" in asked.json["html"]
    assert _rows(app, draft_id) == []


def test_the_periodic_sweep_purges_expired_previews(make_settings, start_worker):
    settings = make_settings(translation_engine="apertium", sweep_interval_seconds=1)
    rt = build_runtime(settings)
    try:
        accounts.create_user(rt.engine, "magistrate", "nl-om-rotterdam", PASSWORD, kek=rt.blobs.kek)
        draft_id = ui_requests.save_draft(
            rt.engine,
            rt.blobs,
            username="magistrate",
            authority_id="nl-om-rotterdam",
            form=mla_form(),
            attachments=[],
        )
        long_ago = datetime.now(UTC) - ui_translation_preview.PREVIEW_TTL - timedelta(minutes=1)
        ui_translation_preview.request_preview(
            rt.engine, rt.blobs, rt.settings, "magistrate", draft_id, now=long_ago
        )
        assert len(_rows_of(rt, draft_id)) == 1
        start_worker(settings)  # with its beat: the sweep runs every second
        wait_for(lambda: _rows_of(rt, draft_id) == [], timeout=120, what="the sweep")
    finally:
        rt.close()
