"""Web account roles (issue 19): `magistrate` (the default) or `translator`.

Kept beside `ui_users` so the sign-in code (argon2id + TOTP) stays the same for both.
"""

from __future__ import annotations

from typing import Literal, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from gateway.domain.errors import DomainError, NotFound
from gateway.persistence.db import transaction
from gateway.persistence.memory_tables import ui_user_roles
from gateway.persistence.ui_tables import ui_users
from gateway.services.lifecycle import record

Role = Literal["magistrate", "translator"]
ROLES: tuple[Role, ...] = ("magistrate", "translator")


def role_of(conn: Connection, username: str) -> Role:
    found = conn.execute(
        sa.select(ui_user_roles.c.role).where(ui_user_roles.c.username == username)
    ).scalar_one_or_none()
    return cast(Role, found or "magistrate")


def get_role(engine: Engine, username: str) -> Role:
    with transaction(engine) as conn:
        return role_of(conn, username)


def set_role(engine: Engine, username: str, role: str, *, actor: str) -> None:
    if role not in ROLES:
        raise DomainError(f"unknown role {role!r} (one of {', '.join(ROLES)})", code="bad-role")
    with transaction(engine) as conn:
        exists = conn.execute(
            sa.select(ui_users.c.username).where(ui_users.c.username == username)
        ).first()
        if exists is None:
            raise NotFound(f"no user {username}")
        conn.execute(ui_user_roles.delete().where(ui_user_roles.c.username == username))
        conn.execute(ui_user_roles.insert().values(username=username, role=role))
        record(
            conn,
            None,
            "admin_action",
            actor=actor,
            detail={"action": "role-set", "user": username, "role": role},
        )
