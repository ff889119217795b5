"""attribution snapshots and their credit per channel

Revision ID: 0003_attribution
Revises: 0002
Create Date: 2026-11-24 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import baton.store.types

revision = "0003_attribution"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attribution_snapshots",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("parameters", baton.store.types.JSONDict(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("by", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=True),
        sa.Column("period_start", baton.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("period_end", baton.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("engine", sa.String(length=40), nullable=False),
        sa.Column("created_at", baton.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("journeys", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("nulls", sa.Float(), nullable=False),
        sa.Column("conversions_residual", sa.Float(), nullable=False),
        sa.Column("value_residual", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribution_snapshots")),
    )
    with op.batch_alter_table("attribution_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attribution_snapshots_model_outcome_level",
            ["model", "outcome", "level", "by", "created_at"],
            unique=False,
        )

    op.create_table(
        "attribution_credits",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=300), nullable=False),
        sa.Column("conversions", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["attribution_snapshots.id"],
            name=op.f("fk_attribution_credits_snapshot_id_attribution_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attribution_credits")),
        sa.UniqueConstraint(
            "snapshot_id", "channel", name=op.f("uq_attribution_credits_snapshot_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("attribution_credits")
    with op.batch_alter_table("attribution_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_attribution_snapshots_model_outcome_level")

    op.drop_table("attribution_snapshots")
