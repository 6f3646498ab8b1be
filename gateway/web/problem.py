"""RFC 9457 problem+json responses for every refusal."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from gateway.domain.errors import DomainError, InvalidRequest

PROBLEM_TYPE_BASE = "https://rogatory.example/problems/"


def problem(status: int, code: str, detail: str, **extra: Any) -> Response:
    body = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": code.replace("-", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    return response


def register_problem_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        extra: dict[str, Any] = {}
        if isinstance(error, InvalidRequest):
            extra["errors"] = [
                {"path": p.path, "code": p.code, "message": p.message} for p in error.problems
            ]
        return problem(error.status, error.code, error.message, **extra)

    def _html(status: int) -> Response | None:
        # browsers outside /api/ get the interface's page in their language (web/ui/errors.py)
        render = app.extensions.get("rogatory.html_error")
        page: Response | None = render(status) if render is not None else None
        return page

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        page = _html(status)
        if page is not None:
            return page
        code = (error.name or "error").lower().replace(" ", "-")
        response = problem(status, code, error.description or code)
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        app.logger.exception("unhandled error")
        page = _html(500)
        if page is not None:
            return page
        return problem(500, "internal-error", "the gateway could not complete the request")
