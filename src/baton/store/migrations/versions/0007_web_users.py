"""web users: dashboard logins (argon2 password hashes, roles) and server-side sessions

Revision ID: 0007_web_users
Revises: 0006_handoff
Create Date: 2026-12-02 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import baton.store.types

revision = "0007_web_users"
down_revision = "0006_handoff"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "web_logins",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", baton.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", baton.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", baton.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", baton.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_logins_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_logins")),
        sa.UniqueConstraint("email", name=op.f("uq_web_logins_email")),
        sa.UniqueConstraint("user_id", name=op.f("uq_web_logins_user_id")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("login_id", Id, nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", baton.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", baton.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["login_id"],
            ["web_logins.id"],
            name=op.f("fk_web_sessions_login_id_web_logins"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_login_id", ["login_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_sessions_login_id")
    op.drop_table("web_sessions")
    op.drop_table("web_logins")
