"""Tables of the security hardening: anonymous refusals and upload capabilities.

Refusals before a signer is verified (garbage, undecryptable, untrusted) are kept here,
bounded and prunable, never in the permanent Merkle log: anonymous callers must not be
able to grow what the gateway keeps for ever.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.persistence.metadata import metadata

# The last N anonymous refusals (services/rejections.py prunes the oldest on insert).
rejections = sa.Table(
    "rejections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("endpoint", sa.String(32), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("envelope_sha256", sa.String(64)),
)

# One counter per (endpoint, code): bounded by the set of stable refusal codes.
rejection_counts = sa.Table(
    "rejection_counts",
    metadata,
    sa.Column("endpoint", sa.String(32), primary_key=True),
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
)

# The capability a sender needs to upload a request's large attachments (SHA-256 only).
upload_capabilities = sa.Table(
    "upload_capabilities",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.ForeignKey("requests.id"), nullable=False, index=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)
