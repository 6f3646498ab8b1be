"""HTML error pages in the user's language for browsers, at the root and under /ui/.

The API keeps answering problem+json; a browser (Accept: text/html) asking any other path
gets the interface's error page instead of raw English JSON. An error page never starts a
session: it reads the browser's session, if there is one, for the language only.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, redirect, render_template, request, url_for
from flask_babel import gettext

from gateway.services import ui_sessions
from gateway.web.ui import i18n, security


def wants_html() -> bool:
    if request.path.startswith("/api/"):
        return False
    best = request.accept_mimetypes.best_match(
        ["text/html", "application/json", "application/problem+json"]
    )
    return best == "text/html"


def _titles() -> dict[int, str]:
    return {
        400: gettext("The request could not be understood"),
        401: gettext("Please sign in"),
        403: gettext("This form has expired"),
        404: gettext("Not found"),
        405: gettext("This page cannot be used that way"),
        413: gettext("The file is too large"),
    }


def html_error(status: int) -> Response | None:
    """The error page, or None when the caller wants problem+json."""
    if not wants_html():
        return None
    if "ui_session" not in g:
        g.ui_session = ui_sessions.load(
            security.engine(), request.cookies.get(security.cookie_name())
        )
    context: dict[str, Any] = {
        "csrf_token": lambda: "",
        "ui_session": g.ui_session,
        "authority_name": None,
        "locale": i18n.locale_code(),
        "locales": i18n.LOCALES,
        "bare": True,
    }
    title = _titles().get(status, gettext("Something went wrong"))
    page = render_template("ui/error.html", status=status, title=title, **context)
    response = Response(page, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def register_html_errors(app: Flask) -> None:
    app.extensions["rogatory.html_error"] = html_error

    @app.get("/")
    def site_root() -> Any:
        """The site root: the magistrates' interface (the API lives under /api/)."""
        return redirect(url_for("ui.home"))
