"""Tables of the magistrate web interface: users, server-side sessions, drafts.

No document text lives here: a draft's form JSON is an encrypted blob (stored_objects).
"""

from __future__ import annotations

import sqlalchemy as sa

from gateway.persistence.metadata import metadata

_now = sa.func.current_timestamp()

ui_users = sa.Table(
    "ui_users",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("authority_id", sa.ForeignKey("authorities.id"), nullable=False, index=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    # encrypted under the KEK (services/totp_secrets.py); legacy rows may still be plain
    sa.Column("totp_secret", sa.String(255), nullable=False),
    # the last accepted TOTP time step: a code is never accepted twice
    sa.Column("last_totp_step", sa.BigInteger),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("failed_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("last_login_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
)

# Only the SHA-256 of a session id is kept; the id itself lives in the browser's cookie.
ui_sessions = sa.Table(
    "ui_sessions",
    metadata,
    sa.Column("id_sha256", sa.String(64), primary_key=True),
    sa.Column("username", sa.ForeignKey("ui_users.username"), index=True),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("language", sa.String(8)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.CheckConstraint("stage in ('anonymous', 'password', 'full')", name="stage"),
)

ui_drafts = sa.Table(
    "ui_drafts",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("username", sa.ForeignKey("ui_users.username"), nullable=False, index=True),
    sa.Column("authority_id", sa.ForeignKey("authorities.id"), nullable=False),
    sa.Column("request_type", sa.String(32), nullable=False),
    sa.Column("form_object_id", sa.ForeignKey("stored_objects.id"), nullable=False),
    sa.Column("form_sha256", sa.String(64), nullable=False),
    sa.Column("attachments", sa.JSON, nullable=False),
    sa.Column("request_id", sa.String(36)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now),
    # last autosave (migration 0020); NULL for drafts saved once, before autosave existed
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

# When a user last looked at a request's replies (migration 0020): replies received later
# are marked "new" in her list.
ui_replies_seen = sa.Table(
    "ui_replies_seen",
    metadata,
    sa.Column("username", sa.ForeignKey("ui_users.username"), primary_key=True),
    sa.Column("request_id", sa.String(36), primary_key=True),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)

# A translation preview of a draft's free-text fields (issue 20): asked for by the draft's
# owner, translated by a worker. The result (source and target text) is an encrypted blob;
# the row holds ids, languages, the state and when the preview expires.
ui_translation_previews = sa.Table(
    "ui_translation_previews",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    # one preview per draft: a new one replaces it; the unique index answers races
    sa.Column("draft_id", sa.ForeignKey("ui_drafts.id"), nullable=False, unique=True),
    sa.Column("username", sa.ForeignKey("ui_users.username"), nullable=False),
    # the draft version the preview translates (a later autosave makes it stale)
    sa.Column("form_sha256", sa.String(64), nullable=False),
    sa.Column("source_language", sa.String(8), nullable=False),
    sa.Column("target_language", sa.String(8), nullable=False),
    sa.Column("engine", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("failure_code", sa.String(64)),
    sa.Column("result_object_id", sa.ForeignKey("stored_objects.id")),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.CheckConstraint("state in ('pending', 'done', 'failed')", name="state"),
)
