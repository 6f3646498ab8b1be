"""ui_translation_previews: a draft's free-text fields translated by a worker before
sealing, the result encrypted at rest and kept for an hour (issue 20)

Revision ID: 0020b_ui_translation_previews
Revises: 0020_ui_draft_autosave
Create Date: 2026-12-05 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020b_ui_translation_previews"
down_revision: str | None = "0020_ui_draft_autosave"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ui_translation_previews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("draft_id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("form_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_language", sa.String(length=8), nullable=False),
        sa.Column("target_language", sa.String(length=8), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("result_object_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state in ('pending', 'done', 'failed')", name=op.f("ck_ui_translation_previews_state")
        ),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["ui_drafts.id"],
            name=op.f("fk_ui_translation_previews_draft_id_ui_drafts"),
        ),
        sa.ForeignKeyConstraint(
            ["result_object_id"],
            ["stored_objects.id"],
            name=op.f("fk_ui_translation_previews_result_object_id_stored_objects"),
        ),
        sa.ForeignKeyConstraint(
            ["username"],
            ["ui_users.username"],
            name=op.f("fk_ui_translation_previews_username_ui_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ui_translation_previews")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_ui_translation_previews_draft_id")),
    )
    with op.batch_alter_table("ui_translation_previews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ui_translation_previews_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ui_translation_previews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ui_translation_previews_expires_at"))
    op.drop_table("ui_translation_previews")
