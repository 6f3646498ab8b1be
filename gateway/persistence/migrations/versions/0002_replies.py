"""replies: link a reply to the request it answers

Revision ID: 0002_replies
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_replies"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_reply_to", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_requests_in_reply_to"), ["in_reply_to"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_requests_in_reply_to"))
        batch_op.drop_column("in_reply_to")
