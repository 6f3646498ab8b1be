"""ui_drafts.updated_at: drafts are saved as the magistrate types (issue 20)

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


def downgrade() -> None:
    with op.batch_alter_table("ui_drafts", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
