"""A locked account is told when it unlocks, whatever password was typed; the security-code
field takes focus."""

from __future__ import annotations

import re

import pytest
from ui_support import BASE_URL, PASSWORD, add_user, client_for, csrf_of, make_app

from gateway.services import accounts
from gateway.web.app import runtime_of


@pytest.fixture
def app(make_settings):
    app = make_app(make_settings())
    yield app
    runtime_of(app).close()


def _try(client, password):
    page = client.get("/ui/login", base_url=BASE_URL)
    return client.post(
        "/ui/login",
        base_url=BASE_URL,
        data={"username": "magistrate", "password": password, "csrf_token": csrf_of(page.text)},
    )


def _message(answer):
    return re.search(r'<div class="notice notice-error".*?</div>', answer.text, re.S).group(0)


def test_locked_account_is_told_when_it_unlocks_without_revealing_the_password(app):
    add_user(app)
    client = client_for(app)
    first = _try(client, "wrong password!")
    assert "unlock-time" not in first.text
    for _ in range(accounts.MAX_FAILED_ATTEMPTS - 1):
        _try(client, "wrong password!")
    until = accounts.locked_until(runtime_of(app).engine, "magistrate")
    assert until is not None
    right, wrong = _try(client, PASSWORD), _try(client, "still wrong")
    assert right.status_code == wrong.status_code == 401
    assert _message(right) == _message(wrong)  # the same answer: the password stays secret
    assert f"You can sign in again at {until.strftime('%H:%M')} UTC" in _message(right)


def test_code_field_takes_focus(app):
    add_user(app)
    client = client_for(app)
    assert _try(client, PASSWORD).status_code == 302
    page = client.get("/ui/login/code", base_url=BASE_URL).text
    assert re.search(r'<input id="code"[^>]* autofocus', page)
