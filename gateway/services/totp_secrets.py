"""TOTP secrets at rest: encrypted under the KEK, bound to their user.

Stored form: ``v1:<base64 wrapped data key>:<base64 AES-GCM ciphertext>`` with the
username as associated data (a secret copied to another row does not decrypt).
Rows written before this existed hold the plain base32 secret: they are still read,
and are encrypted by `rogatory init` / `serve` (`encrypt_legacy`) and by `rotate-kek`.
"""

from __future__ import annotations

import base64
import logging

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.crypto import at_rest
from gateway.crypto.at_rest import Kek
from gateway.persistence.ui_tables import ui_users

log = logging.getLogger(__name__)

PREFIX = "v1:"


def _aad(username: str) -> bytes:
    return b"rogatory totp v1:" + username.encode("utf-8")


def seal(kek: Kek, username: str, secret: str) -> str:
    data_key = at_rest.new_data_key()
    ciphertext = at_rest.encrypt_bytes(secret.encode("ascii"), data_key, aad=_aad(username))
    wrapped = kek.wrap(data_key)
    return f"{PREFIX}{_b64(wrapped)}:{_b64(ciphertext)}"


def unseal(kek: Kek, username: str, stored: str) -> str:
    if not is_sealed(stored):
        return stored  # a legacy plain secret, until encrypt_legacy ran
    wrapped, ciphertext = _parts(stored)
    data_key = kek.unwrap(wrapped)
    return at_rest.decrypt_bytes(ciphertext, data_key, aad=_aad(username)).decode("ascii")


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def rewrap(conn: Connection, old: Kek, new: Kek) -> int:
    """Re-wrap every TOTP data key under `new` (plain legacy secrets get encrypted)."""
    count = 0
    for username, stored in conn.execute(sa.select(ui_users.c.username, ui_users.c.totp_secret)):
        if is_sealed(stored):
            wrapped, ciphertext = _parts(stored)
            value = f"{PREFIX}{_b64(new.wrap(old.unwrap(wrapped)))}:{_b64(ciphertext)}"
        else:
            value = seal(new, username, stored)
        _store(conn, username, stored, value)
        count += 1
    return count


def encrypt_legacy(conn: Connection, kek: Kek) -> int:
    """Encrypt secrets still stored in plain (written before encryption existed)."""
    count = 0
    for username, stored in conn.execute(sa.select(ui_users.c.username, ui_users.c.totp_secret)):
        if not is_sealed(stored):
            _store(conn, username, stored, seal(kek, username, stored))
            count += 1
    if count:
        log.warning("plain TOTP secrets encrypted under the KEK", extra={"users": count})
    return count


def _store(conn: Connection, username: str, expected: str, value: str) -> None:
    conn.execute(
        ui_users.update()
        .where(ui_users.c.username == username, ui_users.c.totp_secret == expected)
        .values(totp_secret=value)
    )


def _parts(stored: str) -> tuple[bytes, bytes]:
    wrapped, _, ciphertext = stored.removeprefix(PREFIX).partition(":")
    return base64.b64decode(wrapped), base64.b64decode(ciphertext)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
