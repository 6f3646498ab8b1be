"""audit: witness keys for checkpoint cosignatures

Revision ID: 0002_audit
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_audit"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_witnesses",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("authority_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"],
            ["authorities.id"],
            name=op.f("fk_audit_witnesses_authority_id_authorities"),
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_witnesses")),
    )
    with op.batch_alter_table("audit_witnesses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_witnesses_authority_id"), ["authority_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_witnesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_witnesses_authority_id"))
    op.drop_table("audit_witnesses")
