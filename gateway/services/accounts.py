"""Magistrate accounts: argon2id passwords, TOTP second factor, lockout after failures.

A user belongs to one authority and sees only that authority's requests. Sign-in is two
steps (password, then a TOTP code); every failure of either step counts towards the
lockout. A TOTP code is accepted once: the last accepted time step is remembered.
"""

from __future__ import annotations

import base64
import functools
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from gateway.crypto.at_rest import Kek
from gateway.crypto.keyfiles import check_private_file_mode, write_private_file
from gateway.domain.errors import Conflict, DomainError, NotFound
from gateway.persistence import authorities_store
from gateway.persistence.db import as_utc, transaction
from gateway.persistence.ui_tables import ui_sessions, ui_users
from gateway.services import totp_secrets

log = logging.getLogger(__name__)

MAX_FAILED_ATTEMPTS = 5
LOCKOUT = timedelta(minutes=15)
TOTP_ISSUER = "Rogatory"
TOTP_STEP_SECONDS = 30
SESSION_SECRET_FILE = "ui-session-secret.b64"  # noqa: S105  (a file name)
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_HASHER = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults
# Verified when the user does not exist, so both paths cost the same time. A fixed hash of
# a random password nobody kept (it guards nothing): hashing one at import cost every
# process 64 MiB of argon2 memory and ~0.1 s at start, CLI commands and workers included.
_FIXED_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$tdEFikNhy/WV0QyvwTThOA$"
    "rtsveERNZCOYiDpSpRQ3Te292bpj6keVW+gDqspu+FA"
)


@functools.cache
def _dummy_hash() -> str:
    """The fixed hash while it has the hasher's parameters, else one made with them."""
    if _HASHER.check_needs_rehash(_FIXED_DUMMY_HASH):
        return _HASHER.hash(secrets.token_urlsafe(16))
    return _FIXED_DUMMY_HASH


class SignInRefused(DomainError):
    """Wrong password or code, disabled or locked account: one message for all of them."""

    code = "sign-in-refused"
    status = 401


class WeakPassword(DomainError):
    code = "weak-password"
    status = 422


@dataclass(frozen=True)
class User:
    username: str
    authority_id: str
    display_name: str
    enabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None


@dataclass(frozen=True)
class NewUser:
    """What `users add` shows once: the TOTP secret never leaves the server again."""

    user: User
    totp_secret: str
    provisioning_uri: str


# --- administration ----------------------------------------------------------------------


def create_user(
    engine: Engine,
    username: str,
    authority_id: str,
    password: str,
    *,
    kek: Kek,
    display_name: str | None = None,
) -> NewUser:
    if not _USERNAME.match(username):
        raise DomainError(
            "a user name is 2-64 characters of a-z, 0-9, '.', '_' or '-'", code="bad-username"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    secret = pyotp.random_base32()
    try:
        with transaction(engine) as conn:
            authorities_store.get(conn, authority_id)
            conn.execute(
                ui_users.insert().values(
                    username=username,
                    authority_id=authority_id,
                    display_name=display_name or username,
                    password_hash=_HASHER.hash(password),
                    totp_secret=totp_secrets.seal(kek, username, secret),
                    enabled=True,
                    failed_attempts=0,
                    created_at=datetime.now(UTC),
                )
            )
            user = _get(conn, username)
    except IntegrityError:
        raise Conflict(f"user '{username}' exists already") from None
    return NewUser(user, secret, provisioning_uri(username, secret))


def provisioning_uri(username: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def list_users(engine: Engine, authority_id: str | None = None) -> list[User]:
    query = sa.select(ui_users).order_by(ui_users.c.authority_id, ui_users.c.username)
    if authority_id is not None:
        query = query.where(ui_users.c.authority_id == authority_id)
    with transaction(engine) as conn:
        return [_user(row) for row in conn.execute(query).mappings()]


def set_enabled(engine: Engine, username: str, enabled: bool) -> None:
    """Disable (or re-enable) a user; disabling ends every session of the user at once."""
    with transaction(engine) as conn:
        _get(conn, username)
        values: dict[str, object] = {"enabled": enabled}
        if enabled:
            values.update(failed_attempts=0, locked_until=None)
        conn.execute(ui_users.update().where(ui_users.c.username == username).values(**values))
        if not enabled:
            conn.execute(ui_sessions.delete().where(ui_sessions.c.username == username))


def reset_totp(engine: Engine, username: str, *, kek: Kek) -> NewUser:
    """A new TOTP secret (lost phone); ends the user's sessions and clears the lockout."""
    secret = pyotp.random_base32()
    with transaction(engine) as conn:
        _get(conn, username)
        conn.execute(
            ui_users.update()
            .where(ui_users.c.username == username)
            .values(
                totp_secret=totp_secrets.seal(kek, username, secret),
                last_totp_step=None,
                failed_attempts=0,
                locked_until=None,
            )
        )
        conn.execute(ui_sessions.delete().where(ui_sessions.c.username == username))
        user = _get(conn, username)
    return NewUser(user, secret, provisioning_uri(username, secret))


def create_demo_user(engine: Engine, authority_id: str, *, kek: Kek) -> tuple[str, str, str]:
    """A throwaway magistrate for `make demo`: (username, password, totp_secret)."""
    username = f"demo-{authority_id}"[:64]
    password = secrets.token_urlsafe(12)
    with transaction(engine) as conn:
        conn.execute(ui_sessions.delete().where(ui_sessions.c.username == username))
        conn.execute(ui_users.delete().where(ui_users.c.username == username))
    created = create_user(
        engine, username, authority_id, password, kek=kek, display_name="Demo magistrate"
    )
    return username, password, created.totp_secret


# --- sign-in -----------------------------------------------------------------------------


def check_password(
    engine: Engine, username: str, password: str, *, now: datetime | None = None
) -> User:
    """First step of sign-in; raises SignInRefused (and counts the failure) when wrong.

    The failure is counted BEFORE the argon2 check (a compare-and-set that only succeeds
    below the limit on an unlocked, enabled account), so concurrent guesses cannot
    exceed MAX_FAILED_ATTEMPTS checks per lockout; a locked account is never checked.
    """
    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
        reserved = _reserve_attempt(conn, username, now)
        row = _row(conn, username) if reserved else None
    stored_hash = row["password_hash"] if row is not None else _dummy_hash()
    matches: bool
    try:
        matches = _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        matches = False
    if row is None or not matches:
        if row is not None:
            _settle_failure(engine, username, now)
        raise SignInRefused("sign-in failed")
    with transaction(engine) as conn:
        current = _row(conn, username)
        if current is None or (
            _aware(current["locked_until"]) is not None and _aware(current["locked_until"]) > now
        ):  # a concurrent guess locked the account meanwhile: same answer as wrong
            raise SignInRefused("sign-in failed")
        # the reserved attempt was no failure after all
        conn.execute(
            ui_users.update()
            .where(ui_users.c.username == username, ui_users.c.failed_attempts > 0)
            .values(failed_attempts=ui_users.c.failed_attempts - 1)
        )
        if _HASHER.check_needs_rehash(stored_hash):
            conn.execute(
                ui_users.update()
                .where(ui_users.c.username == username)
                .values(password_hash=_HASHER.hash(password))
            )
    return _user(row)


def check_totp(
    engine: Engine, username: str, code: str, *, kek: Kek, now: datetime | None = None
) -> User:
    """Second step: a current code (±1 step) not used before; success clears the failures."""
    now = now or datetime.now(UTC)
    code = code.strip().replace(" ", "")
    with transaction(engine) as conn:
        if not _reserve_attempt(conn, username, now):
            raise SignInRefused("sign-in failed")
        row = _row(conn, username)
    if row is None:
        raise SignInRefused("sign-in failed")
    secret = totp_secrets.unseal(kek, username, row["totp_secret"])
    step = _matching_step(secret, code, now, row["last_totp_step"])
    with transaction(engine) as conn:
        if step is not None:
            # compare-and-set on the step: two tabs racing with one code, only one wins
            accepted = conn.execute(
                ui_users.update()
                .where(
                    ui_users.c.username == username,
                    sa.or_(ui_users.c.last_totp_step.is_(None), ui_users.c.last_totp_step < step),
                )
                .values(
                    last_totp_step=step, failed_attempts=0, locked_until=None, last_login_at=now
                )
            ).rowcount
            if accepted == 1:
                return _get(conn, username)
    _settle_failure(engine, username, now)
    raise SignInRefused("sign-in failed")


def current_totp(secret: str, *, now: datetime | None = None) -> str:
    """The code an authenticator app shows now (tests and the demo use it)."""
    moment = now or datetime.now(UTC)
    return pyotp.TOTP(secret).at(moment)


def get_user(engine: Engine, username: str) -> User:
    with transaction(engine) as conn:
        return _get(conn, username)


def _matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // TOTP_STEP_SECONDS
    for step in (current - 1, current, current + 1):
        candidate = totp.at(step * TOTP_STEP_SECONDS)
        if hmac.compare_digest(candidate, code) and (last_step is None or step > last_step):
            return step
    return None


def _reserve_attempt(conn: Connection, username: str, now: datetime) -> bool:
    """Count one attempt up front (compare-and-set); False: locked, disabled or unknown."""
    reserved = conn.execute(
        ui_users.update()
        .where(
            ui_users.c.username == username,
            ui_users.c.enabled.is_(True),
            ui_users.c.failed_attempts < MAX_FAILED_ATTEMPTS,
            sa.or_(ui_users.c.locked_until.is_(None), ui_users.c.locked_until <= now),
        )
        .values(failed_attempts=ui_users.c.failed_attempts + 1)
    ).rowcount
    return reserved == 1


def locked_until(engine: Engine, username: str, *, now: datetime | None = None) -> datetime | None:
    """When a locked account unlocks (None if it is not locked): said to whoever tries,
    whatever the password, so it reveals nothing about the password."""
    now = now or datetime.now(UTC)
    with transaction(engine) as conn:
        row = _row(conn, username)
    until = _aware(row["locked_until"]) if row is not None else None
    return until if until is not None and until > now else None


def _settle_failure(engine: Engine, username: str, now: datetime) -> None:
    """A reserved attempt failed: at the limit, lock the account (once) and reset."""
    with transaction(engine) as conn:
        locked = conn.execute(
            ui_users.update()
            .where(
                ui_users.c.username == username,
                ui_users.c.failed_attempts >= MAX_FAILED_ATTEMPTS,
                sa.or_(ui_users.c.locked_until.is_(None), ui_users.c.locked_until <= now),
            )
            .values(failed_attempts=0, locked_until=now + LOCKOUT)
        ).rowcount
    if locked:
        log.warning("ui account locked after repeated failures", extra={"user": username})


# --- the session-signing secret ----------------------------------------------------------


def ensure_session_secret(keys_dir: Path) -> bool:
    """Create `<keys_dir>/ui-session-secret.b64` (0600) unless it exists; True if created."""
    path = Path(keys_dir) / SESSION_SECRET_FILE
    if path.exists():
        return False
    temporary = path.with_name(f".{SESSION_SECRET_FILE}.{secrets.token_hex(8)}")
    write_private_file(temporary, base64.b64encode(os.urandom(32)) + b"\n")
    try:
        os.link(temporary, path)  # atomic and exclusive: concurrent starters agree on one
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True


def load_session_secret(keys_dir: Path) -> bytes:
    """The web interface's secret (creating it on first use: no constant in code)."""
    ensure_session_secret(keys_dir)
    path = Path(keys_dir) / SESSION_SECRET_FILE
    check_private_file_mode(path)
    raw = base64.b64decode(path.read_bytes().strip())
    if len(raw) < 32:
        raise DomainError("the UI session secret is too short", code="bad-config")
    return raw


# --- rows --------------------------------------------------------------------------------


def _row(conn: Connection, username: str) -> sa.RowMapping | None:
    return (
        conn.execute(sa.select(ui_users).where(ui_users.c.username == username)).mappings().first()
    )


def _get(conn: Connection, username: str) -> User:
    row = _row(conn, username)
    if row is None:
        raise NotFound(f"no user '{username}'")
    return _user(row)


def _user(row: sa.RowMapping) -> User:
    return User(
        username=row["username"],
        authority_id=row["authority_id"],
        display_name=row["display_name"],
        enabled=bool(row["enabled"]),
        locked_until=_aware(row["locked_until"]),
        last_login_at=_aware(row["last_login_at"]),
    )


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)
