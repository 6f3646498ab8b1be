"""Browsers get HTML error pages in their language (root and /ui/); the API keeps
problem+json; an error page starts no session."""

from __future__ import annotations

import pytest
from ui_support import BASE_URL, make_app

from gateway.web.app import runtime_of

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def app(make_settings):
    app = make_app(make_settings())

    @app.get("/ui-test-boom")
    def boom():
        raise RuntimeError("a bug")

    yield app
    runtime_of(app).close()


def test_root_leads_to_the_interface(app):
    answer = app.test_client().get("/", base_url=BASE_URL, headers=HTML)
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/ui/")


@pytest.mark.parametrize("path", ["/no-such-page", "/ui/no-such-page"])
def test_unknown_paths_answer_an_html_page_in_the_users_language(app, path):
    client = app.test_client()
    english = client.get(path, base_url=BASE_URL, headers=HTML)
    assert english.status_code == 404
    assert english.mimetype == "text/html"
    assert '<html lang="en">' in english.text
    assert "Not found" in english.text
    assert "Content-Security-Policy" in english.headers
    dutch = client.get(path, base_url=BASE_URL, headers={**HTML, "Accept-Language": "nl"})
    assert '<html lang="nl">' in dutch.text
    assert "Not found" not in dutch.text
    assert client.get_cookie("__Host-rogatory-ui", domain="gateway.test") is None


def test_api_keeps_problem_json(app):
    answer = app.test_client().get("/api/v1/no-such-thing", base_url=BASE_URL, headers=HTML)
    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
    plain = app.test_client().get("/no-such-page", base_url=BASE_URL)
    assert plain.mimetype == "application/problem+json"  # a client that did not ask for HTML


def test_a_bug_shows_a_page_not_a_traceback(app):
    answer = app.test_client().get("/ui-test-boom", base_url=BASE_URL, headers=HTML)
    assert answer.status_code == 500
    assert answer.mimetype == "text/html"
    assert "Something went wrong" in answer.text
    assert "RuntimeError" not in answer.text
