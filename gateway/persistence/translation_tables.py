"""Tables of the translation area: per-authority-pair glossaries (terms, never document text)."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.persistence.metadata import metadata

# One glossary per (issuing, executing, source, target); importing again replaces it.
glossaries = sa.Table(
    "glossaries",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("issuing_authority_id", sa.ForeignKey("authorities.id"), nullable=False),
    sa.Column("executing_authority_id", sa.ForeignKey("authorities.id"), nullable=False),
    sa.Column("source_language", sa.String(8), nullable=False),
    sa.Column("target_language", sa.String(8), nullable=False),
    sa.Column("entries", sa.JSON, nullable=False),  # [[source term, target term], ...]
    sa.Column("entry_count", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("source_format", sa.String(8), nullable=False),
    sa.Column("imported_by", sa.String(128), nullable=False),
    sa.Column(
        "imported_at",
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.current_timestamp(),
    ),
    sa.UniqueConstraint(
        "issuing_authority_id",
        "executing_authority_id",
        "source_language",
        "target_language",
        name="uq_glossaries_pair",
    ),
)
