"""object chunks: encrypted objects stored in the database

Revision ID: 0016_object_chunks
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_object_chunks"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "object_chunks",
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("object_id", "seq", name=op.f("pk_object_chunks")),
    )


def downgrade() -> None:
    op.drop_table("object_chunks")
