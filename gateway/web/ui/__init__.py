"""The magistrates' web interface: sign-in, compose, upload of sealed requests, follow-up.

`register_ui(app)` wires the blueprint, Flask-Babel (English, Dutch, French), the session
secret from keys_dir and the security headers. The server never holds a magistrate's
private key: requests are sealed in her browser (views_seal) or with `rogatory client seal`.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask

from gateway.services.accounts import load_session_secret

TEMPLATE_DIR = Path(__file__).resolve().parents[3] / "templates"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"
INSECURE_COOKIES_ENV = "ROGATORY_UI_INSECURE_COOKIES"

ui = Blueprint(
    "ui",
    __name__,
    url_prefix="/ui",
    template_folder=str(TEMPLATE_DIR),
    static_folder=str(STATIC_DIR),
    static_url_path="/static",
)


def register_ui(app: Flask) -> None:
    from flask_babel import Babel

    from gateway.web.ui import i18n, security
    from gateway.web.ui import views_answer as _answer  # noqa: F401  (issue 18: executing side)
    from gateway.web.ui import views_auth as _auth  # noqa: F401  (registers routes)
    from gateway.web.ui import views_compose as _compose  # noqa: F401
    from gateway.web.ui import views_drafts as _drafts  # noqa: F401
    from gateway.web.ui import views_follow as _follow  # noqa: F401
    from gateway.web.ui import views_review as _review  # noqa: F401  (issue 19: translators)
    from gateway.web.ui import views_seal as _seal  # noqa: F401
    from gateway.web.ui import views_translation_preview as _preview  # noqa: F401

    runtime = app.extensions["rogatory"]
    app.extensions["rogatory.ui_secret"] = load_session_secret(runtime.settings.keys_dir)
    # Plain-http cookies only when asked for explicitly (local development and tests).
    app.config.setdefault("UI_INSECURE_COOKIES", runtime.settings.ui_insecure_cookies)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", i18n.DEFAULT_LOCALE)
    Babel(app, locale_selector=i18n.select_locale)
    app.after_request(security.add_security_headers)
    app.register_blueprint(ui)
    from gateway.web.ui.errors import register_html_errors

    register_html_errors(app)
