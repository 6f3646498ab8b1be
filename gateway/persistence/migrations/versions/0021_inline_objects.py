"""inline_objects: small objects' ciphertext kept in the database, written in the
transaction that records the object (issue 16, intake throughput)

Revision ID: 0021_inline_objects
Revises: 0001
Create Date: 2026-12-06 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_inline_objects"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inline_objects",
        sa.Column("object_id", sa.String(length=36), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("object_id", name=op.f("pk_inline_objects")),
    )


def downgrade() -> None:
    op.drop_table("inline_objects")
