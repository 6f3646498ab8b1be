"""Flask application factory: no configuration or connections at import time."""

from __future__ import annotations

from flask import Flask

from gateway.config import Settings, load_settings
from gateway.runtime.asn1_names import register_asn1_names
from gateway.runtime.container import Runtime, build_runtime
from gateway.web.hardening import check_production_identity
from gateway.web.hardening import install as install_hardening
from gateway.web.problem import register_problem_handlers


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    settings = settings or load_settings()
    register_asn1_names()  # before any request parses ASN.1 (see runtime/asn1_names.py)
    check_production_identity(settings)
    app = Flask("gateway.web", template_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_submission_bytes, JSON_SORT_KEYS=False)
    app.extensions["rogatory"] = runtime or build_runtime(settings)
    register_problem_handlers(app)
    install_hardening(app, settings)

    from gateway.web.api_attachments import api_attachments
    from gateway.web.api_audit import api_audit
    from gateway.web.api_exchange import api_exchange
    from gateway.web.api_streamed import api_streamed
    from gateway.web.api_v1 import api_v1
    from gateway.web.ui import register_ui

    app.register_blueprint(api_v1)
    app.register_blueprint(api_exchange)
    register_ui(app)
    app.register_blueprint(api_audit)
    app.register_blueprint(api_attachments)
    app.register_blueprint(api_streamed)
    from gateway.web.ops import ops

    app.register_blueprint(ops)
    return app


def runtime_of(app: Flask) -> Runtime:
    runtime: Runtime = app.extensions["rogatory"]
    return runtime
