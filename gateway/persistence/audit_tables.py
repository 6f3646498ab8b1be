"""Tables of the audit log: leaves, perfect-subtree nodes, the head row, checkpoints,
cosignatures and the witness keys they are checked against."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from gateway.persistence.metadata import metadata

# One row per appended entry; ``entry`` is the canonical JSON, never document text.
audit_leaf = Table(
    "audit_leaf",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("entry", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("request_id", String(128), nullable=True, index=True),
)

# Hash of every complete (perfect) subtree: covers leaves [idx * 2**level, (idx + 1) * 2**level).
audit_node = Table(
    "audit_node",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

# Single row serialising appends: size, root and the compact range (frontier) of the tree.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)

audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("size", BigInteger, nullable=False, index=True),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_cosignature = Table(
    "audit_cosignature",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("checkpoint_id", Integer, ForeignKey("audit_checkpoint.id"), nullable=False),
    Column("witness_name", String(255), nullable=False),
    Column("key_id", LargeBinary(4), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("line", Text, nullable=False),
    UniqueConstraint(
        "checkpoint_id", "witness_name", "key_id", name="uq_audit_cosignature_witness"
    ),
)

# Witness keys a counterpart authority cosigns checkpoints with (tlog-cosignature/v1).
# Not in AUDIT_TABLES: it references the authorities table of the gateway schema.
audit_witnesses = Table(
    "audit_witnesses",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("authority_id", String(64), ForeignKey("authorities.id"), nullable=False, index=True),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

AUDIT_TABLES = [audit_leaf, audit_node, audit_head, audit_checkpoint, audit_cosignature]
