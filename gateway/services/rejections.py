"""The bounded record of anonymous refusals (before any signer was verified).

Garbage, undecryptable or untrusted bodies are counted per (endpoint, code) and the
last MAX_ROWS of them kept with the caller's address and the body's SHA-256, for the
operator. They never reach the Merkle log: that log is permanent, and anonymous
callers must not be able to grow it. Refusals a verified signer answers for
(replayed, wrong-recipient, signer-not-authorised, stale, ...) stay in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from gateway.persistence.db import transaction
from gateway.persistence.security_tables import rejection_counts, rejections

log = logging.getLogger(__name__)

MAX_ROWS = 10_000
MAX_AGE = timedelta(days=30)
# Codes a CryptoError may carry before (or while) the signature and chain are verified.
ANONYMOUS_CODES = frozenset(
    {
        "empty",
        "malformed",
        "undecryptable",
        "unsupported-algorithm",
        "signature-invalid",
        "certificate-expired",
        "certificate-revoked",
        "untrusted-signer",
        "too-large",
    }
)


@dataclass(frozen=True)
class RejectionCount:
    endpoint: str
    code: str
    count: int
    last_at: datetime


def note(
    engine: Engine,
    endpoint: str,
    code: str,
    *,
    client: str,
    envelope_sha256: str | None = None,
    now: datetime | None = None,
) -> None:
    """Count one anonymous refusal and keep its row; prune beyond MAX_ROWS / MAX_AGE."""
    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
        new_id = conn.execute(
            rejections.insert().values(
                at=now,
                endpoint=endpoint[:32],
                code=code[:64],
                client=client[:64],
                envelope_sha256=envelope_sha256,
            )
        ).inserted_primary_key[0]
        conn.execute(
            rejections.delete().where(
                sa.or_(rejections.c.id <= int(new_id) - MAX_ROWS, rejections.c.at < now - MAX_AGE)
            )
        )
        _count(conn, endpoint[:32], code[:64], now)


def _count(conn: sa.Connection, endpoint: str, code: str, now: datetime) -> None:
    key = (rejection_counts.c.endpoint == endpoint, rejection_counts.c.code == code)
    updated = conn.execute(
        rejection_counts.update()
        .where(*key)
        .values(count=rejection_counts.c.count + 1, last_at=now)
    ).rowcount
    if updated:
        return
    try:
        with conn.begin_nested():
            conn.execute(
                rejection_counts.insert().values(endpoint=endpoint, code=code, count=1, last_at=now)
            )
    except IntegrityError:  # a concurrent first refusal of this code inserted it
        conn.execute(
            rejection_counts.update().where(*key).values(count=rejection_counts.c.count + 1)
        )


def counts(engine: Engine) -> list[RejectionCount]:
    with transaction(engine) as conn:
        rows = conn.execute(
            sa.select(rejection_counts).order_by(
                rejection_counts.c.endpoint, rejection_counts.c.code
            )
        ).mappings()
        return [
            RejectionCount(r["endpoint"], r["code"], int(r["count"]), r["last_at"]) for r in rows
        ]


def recent(engine: Engine, limit: int = 100) -> list[dict[str, object]]:
    with transaction(engine) as conn:
        rows = conn.execute(
            sa.select(rejections).order_by(rejections.c.id.desc()).limit(limit)
        ).mappings()
        return [dict(row) for row in rows]


def prune(engine: Engine, *, now: datetime | None = None) -> int:
    """Drop rows older than MAX_AGE (the sweeper and operators call this)."""
    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
        return int(
            conn.execute(rejections.delete().where(rejections.c.at < now - MAX_AGE)).rowcount
        )
