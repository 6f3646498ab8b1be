"""translation memory per authority pair and language pair

Revision ID: 0019_translation_memory
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_translation_memory"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "translation_memory",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("issuing_authority_id", sa.String(length=64), nullable=False),
        sa.Column("executing_authority_id", sa.String(length=64), nullable=False),
        sa.Column("source_language", sa.String(length=8), nullable=False),
        sa.Column("target_language", sa.String(length=8), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["executing_authority_id"],
            ["authorities.id"],
            name=op.f("fk_translation_memory_executing_authority_id_authorities"),
        ),
        sa.ForeignKeyConstraint(
            ["issuing_authority_id"],
            ["authorities.id"],
            name=op.f("fk_translation_memory_issuing_authority_id_authorities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translation_memory")),
        sa.UniqueConstraint(
            "issuing_authority_id",
            "executing_authority_id",
            "source_language",
            "target_language",
            "source_key",
            name="uq_translation_memory_pair_source",
        ),
    )


def downgrade() -> None:
    op.drop_table("translation_memory")
