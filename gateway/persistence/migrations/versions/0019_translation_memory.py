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
    op.create_table(
        "translation_reviews",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_off", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_translation_reviews_request_id_requests"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_translation_reviews")),
    )
    op.create_table(
        "ui_user_roles",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "role in ('magistrate', 'translator')", name=op.f("ck_ui_user_roles_role")
        ),
        sa.ForeignKeyConstraint(
            ["username"], ["ui_users.username"], name=op.f("fk_ui_user_roles_username_ui_users")
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_ui_user_roles")),
    )


def downgrade() -> None:
    op.drop_table("ui_user_roles")
    op.drop_table("translation_reviews")
    op.drop_table("translation_memory")
