"""Review drafts: a request's per-segment decisions, encrypted under their own data key."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from gateway.crypto import at_rest
from gateway.domain.errors import Conflict
from gateway.persistence.memory_tables import translation_reviews as tr
from gateway.translation.review import Decision


@dataclass(frozen=True)
class Draft:
    request_id: str
    version: int  # 0: no draft stored yet
    decisions: dict[str, Decision]
    signed_off: int


def load(conn: Connection, kek: at_rest.Kek, request_id: str) -> Draft:
    row = conn.execute(sa.select(tr).where(tr.c.request_id == request_id)).mappings().first()
    if row is None:
        return Draft(request_id, 0, {}, 0)
    data_key = kek.unwrap(bytes(row["wrapped_key"]))
    plain = at_rest.decrypt_bytes(bytes(row["ciphertext"]), data_key, aad=_aad(request_id))
    decisions = {k: Decision.from_json(v) for k, v in json.loads(plain).items()}
    return Draft(request_id, row["version"], decisions, row["signed_off"])


def save(
    conn: Connection,
    kek: at_rest.Kek,
    draft: Draft,
    decisions: dict[str, Decision],
    *,
    by: str,
    signed_off: int | None = None,
) -> Draft:
    """Compare-and-set on `draft.version`: a concurrent save makes this one a Conflict."""
    data_key = at_rest.new_data_key()
    plain = json.dumps({k: d.to_json() for k, d in decisions.items()}, ensure_ascii=False)
    values = {
        "version": draft.version + 1,
        "kek_id": kek.key_id,
        "wrapped_key": kek.wrap(data_key),
        "ciphertext": at_rest.encrypt_bytes(
            plain.encode("utf-8"), data_key, aad=_aad(draft.request_id)
        ),
        "updated_by": by,
        "updated_at": datetime.now(UTC),
        "signed_off": draft.signed_off if signed_off is None else signed_off,
    }
    if draft.version == 0:
        try:
            with conn.begin_nested():
                conn.execute(tr.insert().values(request_id=draft.request_id, **values))
        except sa.exc.IntegrityError:
            raise Conflict("the review was changed meanwhile; reload it") from None
    else:
        updated = conn.execute(
            tr.update()
            .where(tr.c.request_id == draft.request_id, tr.c.version == draft.version)
            .values(**values)
        )
        if updated.rowcount != 1:
            raise Conflict("the review was changed meanwhile; reload it")
    return Draft(draft.request_id, draft.version + 1, dict(decisions), values["signed_off"])


def rewrap(conn: Connection, old: at_rest.Kek, new: at_rest.Kek) -> int:
    rows = conn.execute(sa.select(tr.c.request_id, tr.c.wrapped_key)).all()
    for request_id, wrapped in rows:
        conn.execute(
            tr.update()
            .where(tr.c.request_id == request_id)
            .values(kek_id=new.key_id, wrapped_key=new.wrap(old.unwrap(bytes(wrapped))))
        )
    return len(rows)


def _aad(request_id: str) -> bytes:
    return b"rogatory.review/1:" + request_id.encode()
