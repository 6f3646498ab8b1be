"""Translation checked before sending: a language pair no installed engine serves is said
on the compose check and on the page where the magistrate signs."""

from __future__ import annotations

import pytest
from ui_support import BASE_URL, add_user, client_for, csrf_of, make_app, mla_form, sign_in

from gateway.services import ui_language_pairs, ui_requests
from gateway.web.app import runtime_of


@pytest.fixture
def app(make_settings):
    app = make_app(make_settings(translation_engine="apertium"))  # Debian: eng<->spa only
    yield app
    runtime_of(app).close()


def test_pair_status_reads_the_installed_engine(app):
    settings = runtime_of(app).settings
    assert ui_language_pairs.pair_status(settings, "en", "es").served
    assert not ui_language_pairs.pair_status(settings, "nl", "es").served
    assert ui_language_pairs.pair_status(settings, "nl", "nl").not_needed


def test_unserved_pair_is_said_before_sealing(app):
    client = client_for(app)
    sign_in(client, "magistrate", add_user(app))
    rt = runtime_of(app)

    def draft_page(language):
        draft_id = ui_requests.save_draft(
            rt.engine,
            rt.blobs,
            username="magistrate",
            authority_id="nl-om-rotterdam",
            form=mla_form(language=language),
            attachments=[],
        )
        return client.get(f"/ui/drafts/{draft_id}", base_url=BASE_URL).text

    dutch = draft_page("nl")
    assert 'id="pair-not-served"' in dutch
    assert "Spanish" in dutch
    english = draft_page("en")
    assert 'id="pair-not-served"' not in english
    assert "machine-translated from English into Spanish" in english

    page = client.get("/ui/compose/mla", base_url=BASE_URL)
    checked = client.post(
        "/ui/compose/mla",
        base_url=BASE_URL,
        data={
            "csrf_token": csrf_of(page.text),
            "action": "check",
            "executing_authority": "es-fiscalia-madrid",
            "language": "nl",
        },
    )
    assert "No installed translation engine translates this language" in checked.text
