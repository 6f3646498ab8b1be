"""Exchange API for counterpart authorities: token, inbox, lease, package, ack, timeline.

Every route but the token endpoint and the OpenAPI document needs a bearer token from
POST /api/v1/oauth/token. Rate limits are per authority, in process (see RateLimiter).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from gateway.domain.errors import DomainError
from gateway.runtime.container import Runtime
from gateway.services import exchange, legal_clocks, tokens
from gateway.services.tokens import Caller
from gateway.web.app import runtime_of
from gateway.web.hardening import read_body
from gateway.web.openapi import openapi_document
from gateway.web.problem import problem
from gateway.web.throttle import RateLimiter, client_address, too_many

__all__ = ["RateLimiter", "api_exchange"]

api_exchange = Blueprint("api_exchange", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = frozenset({"api_exchange.token", "api_exchange.openapi"})
MAX_TOKEN_REQUEST_BYTES = 16 * 1024
MAX_ACK_BYTES = 64 * 1024
DEFAULT_RATE_PER_SECOND = 20.0
DEFAULT_BURST = 40


def _limiter() -> RateLimiter:
    limiter = current_app.extensions.get("rogatory.rate_limiter")
    if limiter is None:
        limiter = RateLimiter(
            float(current_app.config.get("ROGATORY_RATE_PER_SECOND", DEFAULT_RATE_PER_SECOND)),
            int(current_app.config.get("ROGATORY_RATE_BURST", DEFAULT_BURST)),
        )
        current_app.extensions["rogatory.rate_limiter"] = limiter
    return limiter


def _runtime() -> Runtime:
    return runtime_of(current_app)


def _caller() -> Caller:
    caller: Caller = g.caller
    return caller


def _too_many(wait: float) -> Response:
    return too_many(wait)


@api_exchange.before_request
def _authenticate() -> Response | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        if request.endpoint == "api_exchange.token":
            wait = _limiter().take(f"addr:{client_address()}")
            return _too_many(wait) if wait else None
        return None
    if request.endpoint is None or not request.endpoint.startswith("api_exchange."):
        return None
    try:
        g.caller = tokens.authenticate(_runtime().engine, request.headers.get("Authorization"))
    except tokens.Unauthorised as exc:
        response = problem(401, exc.code, exc.message)
        response.headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
        return response
    wait = _limiter().take(f"authority:{g.caller.authority_id}")
    return _too_many(wait) if wait else None


@api_exchange.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


@api_exchange.post("/oauth/token")
def token() -> Response | tuple[Response, int]:
    request.max_content_length = MAX_TOKEN_REQUEST_BYTES
    if request.mimetype != "application/x-www-form-urlencoded":
        return problem(415, "unsupported-media-type", "send application/x-www-form-urlencoded")
    rt = _runtime()
    # the configured public address, never the Host header a caller chose
    audiences = [f"{rt.settings.base_url}/api/v1/oauth/token", rt.settings.gateway_id]
    try:
        issued = tokens.issue_token(
            rt.engine,
            grant_type=request.form.get("grant_type", ""),
            assertion_type=request.form.get("client_assertion_type", ""),
            assertion=request.form.get("client_assertion", ""),
            audiences=audiences,
        )
    except tokens.Unauthorised as exc:
        return problem(401, exc.code, exc.message, error=exc.code)
    response = jsonify(
        access_token=issued.access_token,
        token_type="Bearer",  # noqa: S106  (the OAuth token type, not a secret)
        expires_in=issued.expires_in,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _limit_arg() -> int | None:
    raw = request.args.get("limit")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= exchange.MAX_PAGE:
        raise DomainError(f"limit must be 1-{exchange.MAX_PAGE}", code="bad-limit")
    return int(raw)


def _version_arg() -> int | None:
    """Issue 19: `?version=` picks a translation version (1 = machine); default the latest."""
    raw = request.args.get("version")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise DomainError("version must be a whole number from 1", code="bad-version")
    return int(raw)


@api_exchange.get("/inbox")
def inbox() -> Response:
    rt = _runtime()
    items, cursor = exchange.list_inbox(
        rt.engine,
        _caller(),
        cursor=request.args.get("cursor"),
        limit=_limit_arg(),
        blobs=rt.blobs,
    )
    return jsonify(items=items, next_cursor=cursor)


@api_exchange.post("/inbox/<request_id>/lease")
def lease(request_id: str) -> tuple[Response, int]:
    rt = _runtime()
    taken = exchange.take_lease(
        rt.engine, _caller(), request_id, lease_seconds=rt.settings.lease_seconds
    )
    return jsonify(
        request_id=taken.request_id,
        lease_token=taken.lease_token,
        expires_at=taken.expires_at.isoformat(),
        package_url=url_for("api_exchange.package", request_id=request_id),
    ), 201


@api_exchange.get("/requests/<request_id>/package")
def package(request_id: str) -> Response:
    rt = _runtime()
    package = exchange.retrieve_package(
        rt.engine,
        rt.blobs,
        _caller(),
        request_id,
        request.headers.get("Lease-Token"),
        rt.sealer(),
        version=_version_arg(),
    )
    # streamed: decrypted from the object store piece by piece as the client reads
    response = Response(package.chunks, mimetype="application/pkcs7-mime")
    response.content_length = package.size
    response.headers["Content-Disposition"] = 'attachment; filename="package.p7m"'
    response.headers["Cache-Control"] = "no-store"
    return response


@api_exchange.post("/requests/<request_id>/ack")
def ack(request_id: str) -> Response | tuple[Response, int]:
    request.max_content_length = MAX_ACK_BYTES
    if request.mimetype not in ("application/pkcs7-mime", "application/cms"):
        return problem(415, "unsupported-media-type", "send the signed acknowledgement as CMS")
    rt = _runtime()
    data = read_body()
    if not data:
        return problem(400, "malformed", "the body is empty")
    evidence = exchange.acknowledge(
        rt.engine,
        rt.blobs,
        _caller(),
        request_id,
        data,
        rt.trust(),
        rt.sealer(),
    )
    return jsonify(state="acknowledged", receipt=evidence.to_json()), 200


@api_exchange.get("/requests/<request_id>/events")
def events(request_id: str) -> Response:
    items, cursor = exchange.request_events(
        _runtime().engine,
        _caller(),
        request_id,
        cursor=request.args.get("cursor"),
        limit=_limit_arg(),
    )
    return jsonify(items=items, next_cursor=cursor)


@api_exchange.get("/requests/<request_id>/clocks")
def clocks(request_id: str) -> Response:
    """The legal clocks of a request (due dates with their article, days left, overdue)."""
    caller = _caller()
    return jsonify(
        legal_clocks.party_legal_status(_runtime().engine, caller.authority_id, request_id)
    )


@api_exchange.get("/requests/<request_id>/receipts")
def receipts(request_id: str) -> Response:
    rt = _runtime()
    items = exchange.request_receipts(
        rt.engine, _caller(), request_id, rt.keys.log_key.public_key()
    )
    return jsonify(items=items)


from gateway.web import api_review as _api_review  # noqa: E402, F401  (issue 19: XLIFF routes)
