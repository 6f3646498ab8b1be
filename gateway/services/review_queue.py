"""The requests a translator's authority may review: sent or received, with a translation."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from gateway.persistence.db import transaction
from gateway.persistence.memory_tables import translation_reviews
from gateway.persistence.tables import requests, stored_objects


@dataclass(frozen=True)
class ReviewItem:
    request_id: str
    request_type: str
    issuing_authority_id: str
    executing_authority_id: str
    source_language: str
    target_language: str
    received_at: str
    signed_off: int  # reviewed versions made so far


def reviewable(engine: Engine, authority_id: str, *, limit: int = 200) -> list[ReviewItem]:
    has_translation = sa.exists().where(
        stored_objects.c.request_id == requests.c.id, stored_objects.c.kind == "translation"
    )
    query = (
        sa.select(
            requests.c.id,
            requests.c.request_type,
            requests.c.issuing_authority_id,
            requests.c.executing_authority_id,
            requests.c.source_language,
            requests.c.target_language,
            requests.c.received_at,
            sa.func.coalesce(translation_reviews.c.signed_off, 0).label("signed_off"),
        )
        .select_from(
            requests.outerjoin(
                translation_reviews, translation_reviews.c.request_id == requests.c.id
            )
        )
        .where(
            sa.or_(
                requests.c.issuing_authority_id == authority_id,
                requests.c.executing_authority_id == authority_id,
            ),
            requests.c.source_language != requests.c.target_language,
            has_translation,
        )
        .order_by(requests.c.received_at.desc(), requests.c.id)
        .limit(limit)
    )
    with transaction(engine) as conn:
        rows = conn.execute(query).mappings().all()
    return [
        ReviewItem(
            r["id"],
            r["request_type"],
            r["issuing_authority_id"],
            r["executing_authority_id"],
            r["source_language"],
            r["target_language"],
            r["received_at"].strftime("%Y-%m-%d %H:%M"),
            int(r["signed_off"]),
        )
        for r in rows
    ]
