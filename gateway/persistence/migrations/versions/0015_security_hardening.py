"""security hardening: rejection record, upload capabilities, room for encrypted TOTP

Revision ID: 0015_security_hardening
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_security_hardening"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rejections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("envelope_sha256", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejections")),
    )
    with op.batch_alter_table("rejections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rejections_at"), ["at"], unique=False)
    op.create_table(
        "rejection_counts",
        sa.Column("endpoint", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "code", name=op.f("pk_rejection_counts")),
    )
    op.create_table(
        "upload_capabilities",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_upload_capabilities_request_id_requests"),
        ),
        sa.PrimaryKeyConstraint("token_sha256", name=op.f("pk_upload_capabilities")),
    )
    with op.batch_alter_table("upload_capabilities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_upload_capabilities_request_id"), ["request_id"], unique=False
        )
    with op.batch_alter_table("ui_users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("ui_users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
    with op.batch_alter_table("upload_capabilities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_capabilities_request_id"))
    op.drop_table("upload_capabilities")
    op.drop_table("rejection_counts")
    with op.batch_alter_table("rejections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rejections_at"))
    op.drop_table("rejections")
