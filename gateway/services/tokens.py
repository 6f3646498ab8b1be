"""OAuth 2.0 client credentials with `private_key_jwt` (RFC 7523) for counterpart clients.

A client proves itself with a short JWT signed by the key registered in `api_clients`
(iss = sub = client_id, aud = token endpoint URL or gateway id, exp at most 5 minutes
ahead, jti used once). It receives an opaque random access token; only its SHA-256 is
stored, bound to the client's authority, valid for ten minutes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import import_key
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gateway.domain.errors import DomainError, NotFound
from gateway.persistence import authorities_store, exchange_store
from gateway.persistence.db import transaction

log = logging.getLogger(__name__)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")
MAX_ASSERTION_LIFETIME = timedelta(minutes=5)
TOKEN_LIFETIME = timedelta(minutes=10)
CLOCK_LEEWAY_SECONDS = 30
MAX_ASSERTION_BYTES = 8192


class Unauthorised(DomainError):
    """Authentication failed; `code` follows RFC 6749 (`invalid_client`, `invalid_token`)."""

    status = 401

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    authority_id: str
    client_id: str


@dataclass(frozen=True)
class Caller:
    """Who is calling the exchange API: one API client of one authority."""

    client_id: str
    authority_id: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _refuse(reason: str) -> Unauthorised:
    # the precise reason goes to the log; the client learns only that it was refused
    log.warning("client assertion refused", extra={"reason": reason})
    return Unauthorised("invalid_client", "client authentication failed")


def issue_token(
    engine: Engine,
    *,
    grant_type: str,
    assertion_type: str,
    assertion: str,
    audiences: list[str],
    now: datetime | None = None,
) -> IssuedToken:
    """Check a client assertion and return a fresh access token; raises Unauthorised."""
    now = now or datetime.now(UTC)
    if grant_type != "client_credentials":
        raise Unauthorised("unsupported_grant_type", "only client_credentials is supported")
    if assertion_type != CLIENT_ASSERTION_TYPE or not assertion:
        raise _refuse("client_assertion_type must be jwt-bearer")
    if len(assertion) > MAX_ASSERTION_BYTES:
        raise _refuse("assertion too large")
    client_id = _unverified_issuer(assertion)
    with transaction(engine) as conn:
        try:
            client = exchange_store.get_client(conn, client_id)
            authority = authorities_store.get(conn, client.authority_id)
        except NotFound:
            raise _refuse("unknown client") from None
    if not (client.enabled and authority.enabled):
        raise _refuse("client or authority disabled")
    claims = _verified_claims(assertion, client.public_jwk, client_id, audiences, now)
    token = secrets.token_urlsafe(32)
    expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    try:
        with transaction(engine) as conn:
            if not exchange_store.use_assertion(conn, str(claims["jti"]), client_id, expires_at):
                raise _refuse("assertion replayed")
            exchange_store.store_token(
                conn, token_digest(token), client_id, client.authority_id, now + TOKEN_LIFETIME
            )
    except IntegrityError:  # a concurrent request used the same jti first
        raise _refuse("assertion replayed") from None
    return IssuedToken(token, int(TOKEN_LIFETIME.total_seconds()), client.authority_id, client_id)


def _unverified_issuer(assertion: str) -> str:
    """The `iss` claim, read before verification only to find the key to verify with."""
    try:
        compact = jws.extract_compact(assertion.encode("ascii"))
        payload = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError):
        raise _refuse("assertion is not a compact JWS") from None
    issuer = payload.get("iss") if isinstance(payload, dict) else None
    if not isinstance(issuer, str) or not 0 < len(issuer) <= 100:
        raise _refuse("assertion has no issuer")
    return issuer


def _verified_claims(
    assertion: str, public_jwk: dict[str, Any], client_id: str, audiences: list[str], now: datetime
) -> dict[str, Any]:
    try:
        key = import_key(public_jwk)
        token = jwt.decode(assertion, key, algorithms=list(ASSERTION_ALGORITHMS))
    except (JoseError, ValueError, TypeError):
        raise _refuse("signature does not verify with the registered key") from None
    claims = dict(token.claims)
    registry = JWTClaimsRegistry(
        now=int(now.timestamp()),
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": client_id},
        sub={"essential": True, "value": client_id},
        aud={"essential": True, "values": audiences},
        exp={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise _refuse(f"claims refused ({exc.error})") from None
    exp = claims["exp"]
    if not isinstance(exp, int) or exp > now.timestamp() + MAX_ASSERTION_LIFETIME.total_seconds():
        raise _refuse("exp is more than five minutes ahead")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
        raise _refuse("jti must be 8-200 characters")
    return claims


def authenticate(engine: Engine, authorization: str | None, now: datetime | None = None) -> Caller:
    """The caller behind an `Authorization: Bearer` header; raises Unauthorised."""
    now = now or datetime.now(UTC)
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise Unauthorised("invalid_token", "a bearer access token is required")
    with transaction(engine) as conn:
        row = exchange_store.find_token(conn, token_digest(token.strip()))
        if row is None or row.expires_at <= now:
            raise Unauthorised("invalid_token", "the access token is unknown or expired")
        client = exchange_store.get_client(conn, row.client_id)
        authority = authorities_store.get(conn, row.authority_id)
    if not (client.enabled and authority.enabled):
        raise Unauthorised("invalid_token", "the access token's client is disabled")
    return Caller(row.client_id, row.authority_id)
