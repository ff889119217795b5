"""campaign spend per month

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import baton.store.types

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign_spend',
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('properties', baton.store.types.JSONDict(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_spend_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_spend')),
    sa.UniqueConstraint('source', 'external_id', name='uq_campaign_spend_source_external_id')
    )
    with op.batch_alter_table('campaign_spend', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_spend_month', ['month'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('campaign_spend', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_spend_month')

    op.drop_table('campaign_spend')
