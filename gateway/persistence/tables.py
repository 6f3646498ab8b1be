"""Tables of the gateway. Document content never lives here: only ids, states, hashes."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.persistence import audit_tables as _audit_tables  # noqa: F401  (registers)
from gateway.persistence import legal_tables as _legal_tables  # noqa: F401
from gateway.persistence import memory_tables as _memory_tables  # noqa: F401
from gateway.persistence import object_tables as _object_tables  # noqa: F401
from gateway.persistence import reliability_tables as _reliability_tables  # noqa: F401
from gateway.persistence import security_tables as _security_tables  # noqa: F401
from gateway.persistence import translation_tables as _translation_tables  # noqa: F401
from gateway.persistence import ui_tables as _ui_tables  # noqa: F401
from gateway.persistence.metadata import metadata

_now = sa.func.current_timestamp()


def _ts(name: str, *, nullable: bool = False, default: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=_now if default else None,
    )


authorities = sa.Table(
    "authorities",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("languages", sa.JSON, nullable=False),
    sa.Column("request_types", sa.JSON, nullable=False),
    sa.Column("push_endpoint", sa.String(500)),
    sa.Column("webhook_url", sa.String(500)),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    _ts("created_at", default=True),
)

authority_certificates = sa.Table(
    "authority_certificates",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("authority_id", sa.ForeignKey("authorities.id"), nullable=False, index=True),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("pem", sa.Text, nullable=False),
    _ts("not_before"),
    _ts("not_after"),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    _ts("added_at", default=True),
    sa.CheckConstraint("purpose in ('signing', 'encryption')", name="purpose"),
)

api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("client_id", sa.String(100), primary_key=True),
    sa.Column("authority_id", sa.ForeignKey("authorities.id"), nullable=False, index=True),
    sa.Column("public_jwk", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    _ts("created_at", default=True),
)

used_assertions = sa.Table(
    "used_assertions",
    metadata,
    sa.Column("jti", sa.String(200), primary_key=True),
    sa.Column("client_id", sa.String(100), nullable=False),
    _ts("expires_at"),
)

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("message_id", sa.String(200), nullable=False, unique=True),
    sa.Column("message_sha256", sa.String(64), nullable=False, index=True),
    sa.Column("request_type", sa.String(32), nullable=False),
    sa.Column("issuing_authority_id", sa.ForeignKey("authorities.id"), nullable=False, index=True),
    sa.Column(
        "executing_authority_id", sa.ForeignKey("authorities.id"), nullable=False, index=True
    ),
    sa.Column("source_language", sa.String(8), nullable=False),
    sa.Column("target_language", sa.String(8), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("failed_step", sa.String(16)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("progress_done", sa.Integer, nullable=False, default=0),
    sa.Column("progress_total", sa.Integer, nullable=False, default=0),
    sa.Column("signer_fingerprint", sa.String(64)),
    sa.Column("received_audit_index", sa.BigInteger),
    sa.Column("in_reply_to", sa.String(36), index=True),
    sa.Column("deadline", sa.Date),
    _ts("received_at", default=True),
    _ts("updated_at", default=True),
    # a running step's sign of life, and how often the current step was started unfinished
    _ts("heartbeat_at", nullable=True),
    sa.Column("step_runs", sa.Integer, nullable=False, default=0, server_default="0"),
)

stored_objects = sa.Table(
    "stored_objects",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("request_id", sa.ForeignKey("requests.id"), index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("media_type", sa.String(100), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    _ts("created_at", default=True),
    sa.UniqueConstraint("request_id", "kind", "name", name="object_per_kind"),
)

data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("object_id", sa.ForeignKey("stored_objects.id"), primary_key=True),
    sa.Column("kek_id", sa.String(64), nullable=False, index=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("task", sa.String(100), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    _ts("created_at", default=True),
    _ts("sent_at", nullable=True),
    _ts("claimed_at", nullable=True),  # a flusher took it; others skip it until the claim ages
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("request_id", sa.ForeignKey("requests.id"), primary_key=True),
    sa.Column("authority_id", sa.ForeignKey("authorities.id"), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False),
    _ts("expires_at"),
)

evidences = sa.Table(
    "evidences",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.ForeignKey("requests.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(48), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    _ts("created_at", default=True),
)

delivery_attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.ForeignKey("requests.id"), nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("detail", sa.String(300), nullable=False, default=""),
    _ts("attempted_at", default=True),
)

# Opaque bearer tokens of counterpart API clients; only the SHA-256 of a token is kept.
access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.ForeignKey("api_clients.client_id"), nullable=False, index=True),
    sa.Column("authority_id", sa.ForeignKey("authorities.id"), nullable=False),
    _ts("expires_at"),
    _ts("issued_at", default=True),
)
