"""Translation memory entries: one per (authority pair, language pair, masked source).

The text is encrypted under its own data key wrapped by the KEK (like stored objects); the
lookup key is the SHA-256 of the normalised masked source.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.persistence.metadata import metadata

translation_memory = sa.Table(
    "translation_memory",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("issuing_authority_id", sa.ForeignKey("authorities.id"), nullable=False),
    sa.Column("executing_authority_id", sa.ForeignKey("authorities.id"), nullable=False),
    sa.Column("source_language", sa.String(8), nullable=False),
    sa.Column("target_language", sa.String(8), nullable=False),
    sa.Column("source_key", sa.String(64), nullable=False),
    sa.Column("kek_id", sa.String(64), nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("request_id", sa.String(36), nullable=True),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint(
        "issuing_authority_id",
        "executing_authority_id",
        "source_language",
        "target_language",
        "source_key",
        name="uq_translation_memory_pair_source",
    ),
)

# One review draft per request: the decisions so far, encrypted; `version` for compare-and-set.
translation_reviews = sa.Table(
    "translation_reviews",
    metadata,
    sa.Column("request_id", sa.ForeignKey("requests.id"), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kek_id", sa.String(64), nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("signed_off", sa.Integer, nullable=False),  # reviewed versions made so far
)

# Web account roles beside ui_users (additive): no row means the default role, magistrate.
ui_user_roles = sa.Table(
    "ui_user_roles",
    metadata,
    sa.Column("username", sa.ForeignKey("ui_users.username"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.CheckConstraint("role in ('magistrate', 'translator')", name="role"),
)
