"""Helpers of the web-interface tests: an app over a fresh data dir, a signed-in client."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from gateway.config import Settings
from gateway.services import accounts
from gateway.web.app import create_app, runtime_of

# pytest puts each test directory on sys.path as it collects it; this area may run alone.
_FOUNDATION = str(Path(__file__).resolve().parents[1] / "foundation")
if _FOUNDATION not in sys.path:
    sys.path.append(_FOUNDATION)

from foundation_support import mla_form, sealed_submission  # noqa: E402

__all__ = ["mla_form", "sealed_submission"]

PASSWORD = "correct horse battery staple"
BASE_URL = "https://gateway.test"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def make_app(settings: Settings) -> Flask:
    app = create_app(settings)
    app.config.update(TESTING=True)
    return app


def add_user(app: Flask, username: str = "magistrate", authority: str = "nl-om-rotterdam") -> str:
    """Create a user; returns its TOTP secret."""
    runtime = runtime_of(app)
    created = accounts.create_user(
        runtime.engine, username, authority, PASSWORD, kek=runtime.blobs.kek
    )
    return created.totp_secret


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def client_for(app: Flask) -> FlaskClient:
    return app.test_client()


def session_cookie(client: FlaskClient) -> str | None:
    for name in ("__Host-rogatory-ui", "rogatory-ui"):
        cookie = client.get_cookie(name, domain="gateway.test")
        if cookie is not None:
            return cookie.value
    return None


def sign_in(client: FlaskClient, username: str, secret: str, *, step_offset: int = 0) -> None:
    """Both sign-in steps, as a browser does them."""
    page = client.get("/ui/login", base_url=BASE_URL)
    answer = client.post(
        "/ui/login",
        base_url=BASE_URL,
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert answer.status_code == 302, answer.text
    page = client.get("/ui/login/code", base_url=BASE_URL)
    code = accounts.current_totp(
        secret, now=datetime.now(UTC) + timedelta(seconds=30 * step_offset)
    )
    answer = client.post(
        "/ui/login/code",
        base_url=BASE_URL,
        data={"code": code, "csrf_token": csrf_of(page.text)},
    )
    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"].endswith("/ui/requests")
