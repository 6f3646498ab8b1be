"""Sessions, CSRF and security headers of the web interface.

- The session cookie is HttpOnly, SameSite=Strict and Secure (named `__Host-...`), unless
  the app is explicitly configured for plain-http development (UI_INSECURE_COOKIES).
- Every POST carries a CSRF token derived from the session id (HMAC with the secret kept
  in keys_dir); a missing or wrong token is refused before any view runs.
- Every response gets a strict Content Security Policy: no inline script or style.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, abort, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue

from gateway.services import ui_sessions
from gateway.services.ui_sessions import Session

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
SECURE_COOKIE = "__Host-rogatory-ui"
DEV_COOKIE = "rogatory-ui"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
ANON_PREFIX = "a."

_View = TypeVar("_View", bound=Callable[..., ResponseReturnValue])


def insecure_cookies() -> bool:
    return bool(current_app.config.get("UI_INSECURE_COOKIES", False))


def cookie_name() -> str:
    return DEV_COOKIE if insecure_cookies() else SECURE_COOKIE


def secret() -> bytes:
    value: bytes = current_app.extensions["rogatory.ui_secret"]
    return value


def engine() -> Any:
    return current_app.extensions["rogatory"].engine


def current_session() -> Session | None:
    session: Session | None = g.get("ui_session")
    return session


def load_session() -> ResponseReturnValue | None:
    """before_request of the blueprint: the session, and the CSRF check for every POST.

    A browser that has not started signing in holds only a random pre-session nonce
    (cookie value `a.<random>`, nothing in the database): page views by anonymous
    visitors write no rows. Its forms carry an HMAC of the nonce as CSRF token.
    """
    cookie = request.cookies.get(cookie_name())
    g.ui_anon = None
    if cookie and cookie.startswith(ANON_PREFIX) and len(cookie) <= 100:
        g.ui_anon = cookie
        g.ui_session = None
    else:
        g.ui_session = ui_sessions.load(engine(), cookie)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        session = g.ui_session
        token = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        bound_to = session.session_id if session is not None else g.ui_anon
        if bound_to is None or not ui_sessions.csrf_matches(secret(), bound_to, token):
            abort(403, description="csrf")
    return None


def _csrf_subject() -> str:
    """What the CSRF token is bound to: the session id, else the pre-session nonce."""
    session = current_session()
    if session is not None:
        return session.session_id
    if g.get("ui_anon") is None:
        g.ui_anon = ANON_PREFIX + secrets.token_urlsafe(32)
        g.ui_set_anon = True
    return str(g.ui_anon)


def replace_session(**changes: Any) -> Session:
    """Rotate the session id (sign-in steps): the old id stops working at once."""
    old = current_session()
    session = ui_sessions.start(engine(), replaces=old.session_id if old else None, **changes)
    g.ui_session = session
    g.ui_set_cookie = session
    return session


def end_session() -> None:
    session = current_session()
    if session is not None:
        ui_sessions.end(engine(), session.session_id)
    g.ui_session = None
    g.ui_clear_cookie = True


def csrf_token() -> str:
    return ui_sessions.csrf_token(secret(), _csrf_subject())


def write_cookie(response: Response) -> Response:
    """after_request of the blueprint: set or clear the session cookie."""
    session: Session | None = g.get("ui_set_cookie")
    secure = not insecure_cookies()
    if session is not None:
        response.set_cookie(
            cookie_name(),
            session.session_id,
            path="/",
            secure=secure,
            httponly=True,
            samesite="Strict",
        )
    elif g.get("ui_set_anon") and not g.get("ui_clear_cookie"):
        response.set_cookie(
            cookie_name(),
            str(g.ui_anon),
            path="/",
            secure=secure,
            httponly=True,
            samesite="Strict",
        )
    elif g.get("ui_clear_cookie"):
        response.delete_cookie(
            cookie_name(), path="/", secure=secure, httponly=True, samesite="Strict"
        )
    if request.endpoint and request.endpoint.startswith("ui."):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def add_security_headers(response: Response) -> Response:
    """after_app_request: every page of the gateway, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not insecure_cookies():
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def signed_in(view: _View) -> _View:
    """Only for a fully signed-in magistrate (password and TOTP); others go to sign-in."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        session = current_session()
        if session is None or not session.signed_in:
            if request.method == "GET" and not request.path.endswith(".json"):
                return redirect(url_for("ui.login"))
            abort(401)
        g.authority_id = session.authority_id
        g.username = session.username
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
