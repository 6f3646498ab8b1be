"""Errors name fields in words, every prompt shows in the first round, an optional part shows
no "(required)" until it is filled in."""

from __future__ import annotations

import re

import pytest
from ui_support import BASE_URL, add_user, client_for, csrf_of, make_app, sign_in

from gateway.domain.labels import load_catalogue
from gateway.web.app import runtime_of


@pytest.fixture
def client(make_settings):
    app = make_app(make_settings())
    client = client_for(app)
    sign_in(client, "magistrate", add_user(app))
    yield client
    runtime_of(app).close()


def _check(client, **fields):
    page = client.get("/ui/compose/mla", base_url=BASE_URL)
    data = {"csrf_token": csrf_of(page.text), "action": "check", "language": "en"}
    data.update(fields)
    return client.post("/ui/compose/mla", base_url=BASE_URL, data=data)


def test_first_check_prompts_every_missing_field_by_name(client):
    answer = _check(client, executing_authority="es-fiscalia-madrid", case_reference="R-1")
    assert answer.status_code == 422
    summary = re.search(r'id="error-summary".*?</div>', answer.text, re.S).group(0)
    labels = load_catalogue("en")
    for field in ("facts", "legal_qualification", "measures", "urgency", "proceedings"):
        assert labels.field_label(field) in summary, field
    # no bare section letters ("B: This is required.")
    assert not re.search(r">\s*(Section )?[A-L]\s*</", summary)
    assert not re.search(r"\b[A-L]: ", summary)


def test_optional_part_is_not_marked_required_until_filled_in(client):
    empty = _check(client, case_reference="R-1").text
    person = empty[empty.index('id="f-s-E-0-surname"') - 400 : empty.index('id="f-s-E-0-surname"')]
    assert "(required)" not in person
    filled = _check(client, case_reference="R-1", **{"s.E.0.surname": "Jansen"}).text
    person = filled[filled.index('id="f-s-E-0-role"') - 400 : filled.index('id="f-s-E-0-role"')]
    assert "(required)" in person
