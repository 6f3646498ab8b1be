"""Rows of the exchange: API clients, tokens, used assertions, leases, evidences, attempts.

Leases change only by compare-and-set: a lease is taken by INSERT (primary key on the
request id) or by UPDATE ... WHERE expires_at <= now, so two consumers never both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.domain.errors import Conflict, NotFound
from gateway.domain.states import State
from gateway.persistence.db import as_utc
from gateway.persistence.tables import (
    access_tokens,
    api_clients,
    delivery_attempts,
    evidences,
    leases,
    requests,
    used_assertions,
)


@dataclass(frozen=True)
class ApiClient:
    client_id: str
    authority_id: str
    public_jwk: dict[str, Any]
    enabled: bool


@dataclass(frozen=True)
class TokenRow:
    client_id: str
    authority_id: str
    expires_at: datetime


@dataclass(frozen=True)
class LeaseRow:
    request_id: str
    authority_id: str
    token_sha256: str
    expires_at: datetime


@dataclass(frozen=True)
class EvidenceRow:
    id: int
    request_id: str
    kind: str
    sha256: str
    body: bytes
    created_at: datetime


@dataclass(frozen=True)
class AttemptRow:
    attempt: int
    outcome: str
    detail: str
    attempted_at: datetime


# --- API clients and tokens ---------------------------------------------------------------


def add_client(conn: Connection, client_id: str, authority_id: str, jwk: dict[str, Any]) -> None:
    exists = conn.execute(
        sa.select(api_clients.c.client_id).where(api_clients.c.client_id == client_id)
    ).first()
    if exists:
        raise Conflict(f"API client '{client_id}' exists already")
    conn.execute(
        api_clients.insert().values(
            client_id=client_id, authority_id=authority_id, public_jwk=jwk, enabled=True
        )
    )


def get_client(conn: Connection, client_id: str) -> ApiClient:
    row = (
        conn.execute(sa.select(api_clients).where(api_clients.c.client_id == client_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"unknown API client '{client_id}'")
    return ApiClient(row["client_id"], row["authority_id"], dict(row["public_jwk"]), row["enabled"])


def set_client_enabled(conn: Connection, client_id: str, enabled: bool) -> None:
    conn.execute(
        api_clients.update().where(api_clients.c.client_id == client_id).values(enabled=enabled)
    )


def use_assertion(conn: Connection, jti: str, client_id: str, expires_at: datetime) -> bool:
    """Record a client assertion id; False when it was seen before (a replay)."""
    seen = conn.execute(
        sa.select(used_assertions.c.jti).where(used_assertions.c.jti == jti)
    ).first()
    if seen:
        return False
    conn.execute(
        used_assertions.insert().values(jti=jti, client_id=client_id, expires_at=expires_at)
    )
    return True


def purge_used_assertions(conn: Connection, now: datetime) -> int:
    """Forget assertion ids whose `exp` has passed: they are refused as expired anyway."""
    result = conn.execute(used_assertions.delete().where(used_assertions.c.expires_at < now))
    return result.rowcount


def store_token(
    conn: Connection, token_sha256: str, client_id: str, authority_id: str, expires_at: datetime
) -> None:
    conn.execute(
        access_tokens.insert().values(
            token_sha256=token_sha256,
            client_id=client_id,
            authority_id=authority_id,
            expires_at=expires_at,
        )
    )


def find_token(conn: Connection, token_sha256: str) -> TokenRow | None:
    row = conn.execute(
        sa.select(
            access_tokens.c.client_id, access_tokens.c.authority_id, access_tokens.c.expires_at
        ).where(access_tokens.c.token_sha256 == token_sha256)
    ).first()
    if row is None:
        return None
    return TokenRow(row.client_id, row.authority_id, as_utc(row.expires_at))


def purge_tokens(conn: Connection, now: datetime) -> int:
    return conn.execute(access_tokens.delete().where(access_tokens.c.expires_at < now)).rowcount


# --- inbox and leases ---------------------------------------------------------------------

INBOX_STATES = (State.AVAILABLE.value, State.RETRIEVED.value)


def inbox(
    conn: Connection,
    authority_id: str,
    now: datetime,
    *,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[sa.RowMapping]:
    """Items addressed to `authority_id`, ready to pull and not under a live lease."""
    live_lease = sa.exists().where(leases.c.request_id == requests.c.id, leases.c.expires_at > now)
    query = sa.select(
        requests.c.id,
        requests.c.message_sha256,
        requests.c.request_type,
        requests.c.issuing_authority_id,
        requests.c.state,
        requests.c.received_at,
        requests.c.deadline,
    ).where(
        requests.c.executing_authority_id == authority_id,
        requests.c.state.in_(INBOX_STATES),
        ~live_lease,
    )
    if after is not None:
        received_at, request_id = after
        query = query.where(
            sa.or_(
                requests.c.received_at > received_at,
                sa.and_(requests.c.received_at == received_at, requests.c.id > request_id),
            )
        )
    query = query.order_by(requests.c.received_at, requests.c.id).limit(limit)
    return list(conn.execute(query).mappings())


def acquire_lease(
    conn: Connection,
    request_id: str,
    authority_id: str,
    token_sha256: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Take the lease if free or expired; False when someone holds a live one.

    On PostgreSQL a concurrent INSERT of the same id fails with IntegrityError at the
    statement; callers treat that exactly like False.
    """
    values = {"authority_id": authority_id, "token_sha256": token_sha256, "expires_at": expires_at}
    taken = conn.execute(
        leases.update()
        .where(leases.c.request_id == request_id, leases.c.expires_at <= now)
        .values(**values)
    )
    if taken.rowcount == 1:
        return True
    held = conn.execute(sa.select(leases.c.request_id).where(leases.c.request_id == request_id))
    if held.first() is not None:
        return False
    conn.execute(leases.insert().values(request_id=request_id, **values))
    return True


def get_lease(conn: Connection, request_id: str) -> LeaseRow | None:
    row = (
        conn.execute(sa.select(leases).where(leases.c.request_id == request_id)).mappings().first()
    )
    if row is None:
        return None
    return LeaseRow(
        row["request_id"], row["authority_id"], row["token_sha256"], as_utc(row["expires_at"])
    )


def release_lease(conn: Connection, request_id: str) -> None:
    conn.execute(leases.delete().where(leases.c.request_id == request_id))


def expired_leases(conn: Connection, now: datetime) -> list[LeaseRow]:
    rows = conn.execute(sa.select(leases).where(leases.c.expires_at <= now)).mappings()
    return [
        LeaseRow(r["request_id"], r["authority_id"], r["token_sha256"], as_utc(r["expires_at"]))
        for r in rows
    ]


def release_if_expired(conn: Connection, request_id: str, now: datetime) -> bool:
    result = conn.execute(
        leases.delete().where(leases.c.request_id == request_id, leases.c.expires_at <= now)
    )
    return result.rowcount == 1


# --- evidences and delivery attempts ------------------------------------------------------


def add_evidence(
    conn: Connection, request_id: str, kind: str, sha256: str, body: bytes, now: datetime
) -> int:
    result = conn.execute(
        evidences.insert().values(
            request_id=request_id, kind=kind, sha256=sha256, body=body, created_at=now
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # noqa: S101  (autoincrement always yields a key)
    return int(key[0])


def add_evidences(conn: Connection, signed: list[tuple[str, str, str, bytes, datetime]]) -> None:
    """Several requests' evidences, (request id, kind, sha256, body, created at) each: one
    executemany."""
    if signed:
        keys = ("request_id", "kind", "sha256", "body", "created_at")
        conn.execute(evidences.insert(), [dict(zip(keys, row, strict=True)) for row in signed])


def evidences_of(conn: Connection, request_id: str) -> list[EvidenceRow]:
    rows = conn.execute(
        sa.select(evidences).where(evidences.c.request_id == request_id).order_by(evidences.c.id)
    ).mappings()
    return [
        EvidenceRow(
            r["id"],
            r["request_id"],
            r["kind"],
            r["sha256"],
            bytes(r["body"]),
            as_utc(r["created_at"]),
        )
        for r in rows
    ]


def last_evidence_sha256(conn: Connection, request_id: str) -> str | None:
    return conn.execute(
        sa.select(evidences.c.sha256)
        .where(evidences.c.request_id == request_id)
        .order_by(evidences.c.id.desc())
        .limit(1)
    ).scalar()


def has_evidence(conn: Connection, request_id: str, kind: str) -> bool:
    row = conn.execute(
        sa.select(evidences.c.id).where(
            evidences.c.request_id == request_id, evidences.c.kind == kind
        )
    ).first()
    return row is not None


def add_attempt(
    conn: Connection, request_id: str, attempt: int, outcome: str, detail: str, now: datetime
) -> None:
    conn.execute(
        delivery_attempts.insert().values(
            request_id=request_id,
            attempt=attempt,
            outcome=outcome,
            detail=detail[:300],
            attempted_at=now,
        )
    )


def attempts_of(conn: Connection, request_id: str) -> list[AttemptRow]:
    rows = conn.execute(
        sa.select(delivery_attempts)
        .where(delivery_attempts.c.request_id == request_id)
        .order_by(delivery_attempts.c.id)
    ).mappings()
    return [
        AttemptRow(r["attempt"], r["outcome"], r["detail"], as_utc(r["attempted_at"])) for r in rows
    ]


def available_since(conn: Connection, before: datetime) -> list[str]:
    """Ids of requests still AVAILABLE whose last state change is older than `before`."""
    return list(
        conn.execute(
            sa.select(requests.c.id).where(
                requests.c.state == State.AVAILABLE.value, requests.c.updated_at < before
            )
        ).scalars()
    )
