"""Never lose work: the compose form is saved as a draft while typing, listed under Drafts,
and offered again after signing in; nobody else can write into it."""

from __future__ import annotations

import pytest
from ui_support import BASE_URL, add_user, client_for, csrf_of, make_app, sign_in

from gateway.web.app import runtime_of

TYPED = "The suspect sold false invoices to a company in Rotterdam. " * 10


@pytest.fixture
def app(make_settings):
    app = make_app(make_settings())
    yield app
    runtime_of(app).close()


def _autosave(client, page, **fields):
    data = {"csrf_token": csrf_of(page.text), "case_reference": "ROT-2026-00555"}
    data.update(fields)
    return client.post(
        "/ui/compose/mla/autosave",
        base_url=BASE_URL,
        data=data,
        headers={"X-CSRF-Token": csrf_of(page.text)},
    )


def test_typing_is_saved_listed_and_restored(app):
    secret = add_user(app)
    client = client_for(app)
    sign_in(client, "magistrate", secret)
    page = client.get("/ui/compose/mla", base_url=BASE_URL)
    assert 'data-autosave-url="/ui/compose/mla/autosave"' in page.text
    assert 'data-idle-timeout="1800"' in page.text
    first = _autosave(client, page, **{"s.G.0.facts": "first words"})
    assert first.status_code == 200, first.text
    draft_id = first.json["draft_id"]
    again = _autosave(client, page, draft_id=draft_id, **{"s.G.0.facts": TYPED})
    assert again.json["draft_id"] == draft_id  # the same draft, updated

    drafts = client.get("/ui/drafts", base_url=BASE_URL).text
    assert drafts.count("ROT-2026-00555") == 1
    restored = client.get(f"/ui/compose/mla?draft={draft_id}", base_url=BASE_URL).text
    assert TYPED.strip() in restored
    assert f'name="draft_id" id="draft-id" value="{draft_id}"' in restored

    # sign out, sign in again: the list offers the draft straight away
    client.post("/ui/logout", base_url=BASE_URL, data={"csrf_token": csrf_of(drafts)})
    sign_in(client, "magistrate", secret, step_offset=1)
    listing = client.get("/ui/requests", base_url=BASE_URL).text
    assert 'id="resume-drafts"' in listing
    assert f"/ui/compose/mla?draft={draft_id}" in listing


def test_another_user_cannot_write_into_my_draft(app):
    mine, theirs = add_user(app), add_user(app, "colleague")
    me, other = client_for(app), client_for(app)
    sign_in(me, "magistrate", mine)
    sign_in(other, "colleague", theirs)
    page = me.get("/ui/compose/mla", base_url=BASE_URL)
    draft_id = _autosave(me, page, **{"s.G.0.facts": "mine"}).json["draft_id"]
    their_page = other.get("/ui/compose/mla", base_url=BASE_URL)
    answer = _autosave(other, their_page, draft_id=draft_id, **{"s.G.0.facts": "theirs"})
    assert answer.status_code == 404
    assert "ROT-2026-00555" not in other.get("/ui/drafts", base_url=BASE_URL).text
    assert "mine" in me.get(f"/ui/compose/mla?draft={draft_id}", base_url=BASE_URL).text
