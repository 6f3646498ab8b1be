"""Sign-in (password, then TOTP), sign-out, language choice, error pages."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from gateway.domain.errors import NotFound
from gateway.persistence import authorities_store
from gateway.persistence.db import transaction
from gateway.services import accounts, ui_sessions
from gateway.web import throttle
from gateway.web.ui import i18n, security, ui


@ui.before_request
def _before() -> ResponseReturnValue | None:
    return security.load_session()


@ui.after_request
def _after(response: Any) -> Any:
    return security.write_cookie(response)


@ui.context_processor
def _template_globals() -> dict[str, Any]:
    session = security.current_session()
    authority_name = None
    if session is not None and session.signed_in and session.authority_id:
        authority_name = _authority_name(session.authority_id)
    return {
        "csrf_token": security.csrf_token,
        "ui_session": session,
        "authority_name": authority_name,
        "locale": i18n.locale_code(),
        "locales": i18n.LOCALES,
        "state_name": i18n.state_name,
        "event_name": i18n.event_name,
        "evidence_name": i18n.evidence_name,
        "problem_text": i18n.problem_text,
        "flag_text": i18n.flag_text,
    }


def _authority_name(authority_id: str) -> str:
    with transaction(security.engine()) as conn:
        return authorities_store.get(conn, authority_id).name


@ui.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("ui.requests_list"))


@ui.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    session = security.current_session()
    if session is not None and session.signed_in:
        return redirect(url_for("ui.requests_list"))
    failed = False
    unlock_at = None
    if request.method == "POST":
        if throttle.wait_for("login"):  # per source, beside the per-account lockout
            return _error_page(429)
        username = request.form.get("username", "").strip().lower()
        try:
            accounts.check_password(security.engine(), username, request.form.get("password", ""))
        except accounts.SignInRefused:
            failed = True
            unlock_at = accounts.locked_until(security.engine(), username)
        else:
            security.replace_session(username=username, stage=ui_sessions.PASSWORD)
            return redirect(url_for("ui.login_code"))
    status = 401 if failed else 200
    return render_template("ui/login.html", failed=failed, unlock_at=unlock_at), status


@ui.route("/login/code", methods=["GET", "POST"])
def login_code() -> ResponseReturnValue:
    session = security.current_session()
    if session is None or session.stage != ui_sessions.PASSWORD or not session.username:
        return redirect(url_for("ui.login"))
    failed = False
    if request.method == "POST":
        try:
            accounts.check_totp(
                security.engine(),
                session.username,
                request.form.get("code", ""),
                kek=current_app.extensions["rogatory"].blobs.kek,
            )
        except accounts.SignInRefused:
            failed = True
        else:
            security.replace_session(username=session.username, stage=ui_sessions.FULL)
            return redirect(url_for("ui.requests_list"))
    status = 401 if failed else 200
    return render_template("ui/login_code.html", failed=failed), status


@ui.post("/logout")
def logout() -> ResponseReturnValue:
    security.end_session()
    return redirect(url_for("ui.login", signed_out=1))


@ui.post("/language")
def choose_language() -> ResponseReturnValue:
    language = request.form.get("language", "")
    if language not in i18n.LOCALES:
        abort(400)
    target = request.form.get("next", "")
    if len(target) > 2000 or any(not 0x20 < ord(c) < 0x7F for c in target):
        abort(400)  # CR/LF, spaces, non-ASCII: never copied into a Location header
    session = security.current_session()
    if session is not None:
        ui_sessions.set_language(security.engine(), session.session_id, language)
    else:  # an explicit choice (not a page view) may start an anonymous session
        security.replace_session(language=language)
    # only a path of this interface: never an open redirect
    if not target.startswith("/ui/") or target.startswith("//") or "\\" in target:
        target = url_for("ui.requests_list")
    return redirect(target)


@ui.errorhandler(NotFound)
def _not_found(_error: NotFound) -> ResponseReturnValue:
    return _error_page(404)


@ui.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> ResponseReturnValue:
    return _error_page(error.code or 500, error.description if error.code == 403 else None)


def _error_page(status: int, reason: str | None = None) -> ResponseReturnValue:
    titles = {
        400: gettext("The request could not be understood"),
        401: gettext("Please sign in"),
        403: gettext("This form has expired"),
        404: gettext("Not found"),
        413: gettext("The file is too large"),
        429: gettext("Too many attempts; please wait a minute"),
    }
    title = titles.get(status, gettext("Something went wrong"))
    g.error_reason = reason
    return render_template("ui/error.html", status=status, title=title), status
