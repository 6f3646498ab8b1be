"""ui_drafts.updated_at (drafts saved as the magistrate types) and ui_replies_seen
(which replies a magistrate has seen, so the list can mark new ones) (issue 20)

Revision ID: 0020_ui_draft_autosave
Revises: 0001
Create Date: 2026-12-05 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_ui_draft_autosave"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ui_drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "ui_replies_seen",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"], ["ui_users.username"], name=op.f("fk_ui_replies_seen_username_ui_users")
        ),
        sa.PrimaryKeyConstraint("username", "request_id", name=op.f("pk_ui_replies_seen")),
    )


def downgrade() -> None:
    op.drop_table("ui_replies_seen")
    with op.batch_alter_table("ui_drafts", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
