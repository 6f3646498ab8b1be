"""Tables of the legal workflow: a request's time terms, its dated facts, clocks and notices.

No document text lives here: only codes, dates and the rule (article) behind a due date.
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.persistence.metadata import metadata

_now = sa.func.current_timestamp()

# What the signed request says about time and use: urgency, the issuer's deadline, labels.
request_terms = sa.Table(
    "request_terms",
    metadata,
    sa.Column("request_id", sa.ForeignKey("requests.id"), primary_key=True),
    sa.Column("urgency", sa.String(16), nullable=False),
    sa.Column("issuer_deadline", sa.Date),
    sa.Column("handling", sa.JSON, nullable=False),
)

# A fact the gateway can prove: an evidence it issued or a signed reply it accepted.
legal_facts = sa.Table(
    "legal_facts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.ForeignKey("requests.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("recorded_on", sa.Date, nullable=False),
    sa.Column("fact_date", sa.Date),
    sa.Column("decision", sa.String(16)),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    sa.UniqueConstraint("request_id", "kind", "source", name="fact_once"),
)

legal_clocks = sa.Table(
    "legal_clocks",
    metadata,
    sa.Column("request_id", sa.ForeignKey("requests.id"), primary_key=True),
    sa.Column("clock", sa.String(32), primary_key=True),
    sa.Column("rule", sa.String(120), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("closed_on", sa.Date),
)

# One row per reminder or breach ever raised: the unique key makes the periodic job idempotent.
legal_notices = sa.Table(
    "legal_notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.ForeignKey("requests.id"), nullable=False, index=True),
    sa.Column("clock", sa.String(32), nullable=False),
    sa.Column("notice", sa.String(24), nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("request_id", "clock", "notice", "due_on", name="notice_once"),
)
