"""Exchange API for counterpart authorities: token, inbox, lease, package, ack, timeline.

Every route but the token endpoint and the OpenAPI document needs a bearer token from
POST /api/v1/oauth/token. Rate limits are per authority, in process (see RateLimiter).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from gateway.domain.errors import DomainError
from gateway.runtime.container import Runtime
from gateway.services import exchange, legal_clocks, tokens
from gateway.services.tokens import Caller
from gateway.web.app import runtime_of
from gateway.web.openapi import openapi_document
from gateway.web.problem import problem

api_exchange = Blueprint("api_exchange", __name__, url_prefix="/api/v1")

PUBLIC_ENDPOINTS = frozenset({"api_exchange.token", "api_exchange.openapi"})
MAX_TOKEN_REQUEST_BYTES = 16 * 1024
MAX_ACK_BYTES = 64 * 1024
DEFAULT_RATE_PER_SECOND = 20.0
DEFAULT_BURST = 40


@dataclass
class RateLimiter:
    """Token bucket per key, in process memory.

    Chosen over a table because it costs no write per call; the limit is per web
    process (N processes allow N times the rate), which is enough to stop a runaway
    client. Buckets refill continuously at `rate` tokens per second up to `burst`.
    """

    rate: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, key: str, now: float | None = None) -> float:
        """0 when allowed, otherwise the seconds to wait before the next call."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens_left, last = self._buckets.get(key, (float(self.burst), now))
            tokens_left = min(float(self.burst), tokens_left + (now - last) * self.rate)
            if tokens_left >= 1.0:
                self._buckets[key] = (tokens_left - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens_left, now)
            return (1.0 - tokens_left) / self.rate


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
    response = problem(429, "rate-limited", "too many requests; slow down")
    response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    return response


@api_exchange.before_request
def _authenticate() -> Response | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        if request.endpoint == "api_exchange.token":
            wait = _limiter().take(f"addr:{request.remote_addr}")
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
    audiences = [url_for("api_exchange.token", _external=True), rt.settings.gateway_id]
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


@api_exchange.get("/inbox")
def inbox() -> Response:
    items, cursor = exchange.list_inbox(
        _runtime().engine, _caller(), cursor=request.args.get("cursor"), limit=_limit_arg()
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
    data = exchange.retrieve_package(
        rt.engine,
        rt.blobs,
        _caller(),
        request_id,
        request.headers.get("Lease-Token"),
        rt.sealer(),
    )
    response = Response(data, mimetype="application/pkcs7-mime")
    response.headers["Content-Disposition"] = 'attachment; filename="package.p7m"'
    response.headers["Cache-Control"] = "no-store"
    return response


@api_exchange.post("/requests/<request_id>/ack")
def ack(request_id: str) -> Response | tuple[Response, int]:
    request.max_content_length = MAX_ACK_BYTES
    if request.mimetype not in ("application/pkcs7-mime", "application/cms"):
        return problem(415, "unsupported-media-type", "send the signed acknowledgement as CMS")
    rt = _runtime()
    data = request.get_data(cache=False)
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
