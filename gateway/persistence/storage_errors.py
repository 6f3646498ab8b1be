"""Recognise "the disk is full" however it surfaces: OSError, SQLite or PostgreSQL."""

from __future__ import annotations

import errno

from sqlalchemy.exc import DBAPIError

_OUT_OF_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = ("database or disk is full",)
_POSTGRES_DISK_FULL = "53100"


def is_out_of_space(exc: BaseException) -> bool:
    """True for ENOSPC/EDQUOT, SQLite's SQLITE_FULL and PostgreSQL's disk_full (53100)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _OUT_OF_SPACE_ERRNOS:
            return True
        if isinstance(current, DBAPIError):
            orig = current.orig
            if getattr(orig, "sqlstate", None) == _POSTGRES_DISK_FULL:
                return True
            if any(text in str(orig).lower() for text in _SQLITE_FULL):
                return True
        current = current.__cause__ or current.__context__
    return False
