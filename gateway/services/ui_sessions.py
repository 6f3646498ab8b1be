"""Server-side sessions of the web interface.

The browser holds a random session id; the database keeps only its SHA-256. A session
moves anonymous -> password (first factor passed) -> full (TOTP passed) and gets a NEW id
at each step, so an id planted before sign-in is worthless after it (session fixation).
Sessions end after idle time, after an absolute lifetime, at sign-out, and when an
administrator disables the user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.persistence.db import as_utc, transaction
from gateway.persistence.ui_tables import ui_sessions, ui_users

ANONYMOUS, PASSWORD, FULL = "anonymous", "password", "full"
IDLE_TIMEOUT = {
    ANONYMOUS: timedelta(minutes=30),
    PASSWORD: timedelta(minutes=5),
    FULL: timedelta(minutes=30),
}
ABSOLUTE_LIFETIME = timedelta(hours=12)
# Writing last_seen on every request would serialise all page views on SQLite.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Session:
    session_id: str
    username: str | None
    authority_id: str | None
    stage: str
    language: str | None
    created_at: datetime
    expires_at: datetime

    @property
    def signed_in(self) -> bool:
        return self.stage == FULL and self.username is not None


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def csrf_token(secret: bytes, session_id: str) -> str:
    """The form token of a session: an HMAC of its id, so it changes whenever the id does."""
    return hmac.new(secret, b"csrf:" + session_id.encode("ascii"), hashlib.sha256).hexdigest()


def csrf_matches(secret: bytes, session_id: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(csrf_token(secret, session_id), str(token))


def start(
    engine: Engine,
    *,
    username: str | None = None,
    stage: str = ANONYMOUS,
    language: str | None = None,
    replaces: str | None = None,
    now: datetime | None = None,
) -> Session:
    """A new session (a fresh id); `replaces` is ended in the same transaction."""
    now = now or datetime.now(UTC)
    session_id = secrets.token_urlsafe(32)
    expires_at = now + IDLE_TIMEOUT[stage]
    with transaction(engine) as conn:
        conn.execute(ui_sessions.delete().where(ui_sessions.c.expires_at < now))
        created_at = now
        if replaces is not None:
            old = conn.execute(
                sa.select(ui_sessions.c.created_at, ui_sessions.c.language).where(
                    ui_sessions.c.id_sha256 == _digest(replaces)
                )
            ).first()
            if old is not None and stage != FULL:
                created_at = as_utc(old.created_at)
            if old is not None and language is None:
                language = old.language
            conn.execute(ui_sessions.delete().where(ui_sessions.c.id_sha256 == _digest(replaces)))
        conn.execute(
            ui_sessions.insert().values(
                id_sha256=_digest(session_id),
                username=username,
                stage=stage,
                language=language,
                created_at=created_at,
                last_seen_at=now,
                expires_at=expires_at,
            )
        )
    return Session(session_id, username, None, stage, language, created_at, expires_at)


def load(engine: Engine, session_id: str | None, *, now: datetime | None = None) -> Session | None:
    """The live session of this id, or None (unknown, expired, or user disabled)."""
    if not session_id or len(session_id) > 100:
        return None
    now = now or datetime.now(UTC)
    query = (
        sa.select(ui_sessions, ui_users.c.authority_id, ui_users.c.enabled)
        .select_from(ui_sessions.outerjoin(ui_users))
        .where(ui_sessions.c.id_sha256 == _digest(session_id))
    )
    with transaction(engine) as conn:
        row = conn.execute(query).mappings().first()
        if row is None:
            return None
        created_at = as_utc(row["created_at"])
        expires_at = as_utc(row["expires_at"])
        user_gone = row["username"] is not None and not row["enabled"]
        if expires_at <= now or created_at + ABSOLUTE_LIFETIME <= now or user_gone:
            conn.execute(ui_sessions.delete().where(ui_sessions.c.id_sha256 == row["id_sha256"]))
            return None
        if now - as_utc(row["last_seen_at"]) >= TOUCH_EVERY:
            expires_at = now + IDLE_TIMEOUT[row["stage"]]
            conn.execute(
                ui_sessions.update()
                .where(ui_sessions.c.id_sha256 == row["id_sha256"])
                .values(last_seen_at=now, expires_at=expires_at)
            )
    return Session(
        session_id,
        row["username"],
        row["authority_id"],
        row["stage"],
        row["language"],
        created_at,
        expires_at,
    )


def set_language(engine: Engine, session_id: str, language: str) -> None:
    with transaction(engine) as conn:
        conn.execute(
            ui_sessions.update()
            .where(ui_sessions.c.id_sha256 == _digest(session_id))
            .values(language=language)
        )


def end(engine: Engine, session_id: str) -> None:
    with transaction(engine) as conn:
        conn.execute(ui_sessions.delete().where(ui_sessions.c.id_sha256 == _digest(session_id)))
