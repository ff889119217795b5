"""lead score log

Revision ID: 0004_lead_scores
Revises: 0003_attribution
Create Date: 2026-11-24 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import baton.store.types

revision = '0004_lead_scores'
# merge: down_revision becomes 0003_attribution
down_revision = '0002'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

APPEND_ONLY_SQLITE = """
CREATE TRIGGER lead_scores_no_{op} BEFORE {OP} ON lead_scores
BEGIN SELECT RAISE(ABORT, 'lead_scores is append-only: record a new score instead'); END
"""
# baton_append_only() is created by 0001 with the stage log's trigger
APPEND_ONLY_PG_TRIGGER = """
CREATE TRIGGER lead_scores_append_only BEFORE UPDATE OR DELETE ON lead_scores
FOR EACH ROW EXECUTE FUNCTION baton_append_only()
"""


def upgrade() -> None:
    op.create_table('lead_scores',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('lead_id', ID, nullable=False),
    sa.Column('model_key', sa.String(length=64), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('contract_version_id', ID, nullable=True),
    sa.Column('scored_at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('fit', sa.Float(), nullable=False),
    sa.Column('engagement', sa.Float(), nullable=False),
    sa.Column('breakdown', baton.store.types.JSONList(), nullable=False),
    sa.Column('recorded_at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ['contract_version_id'], ['contract_versions.id'],
        name=op.f('fk_lead_scores_contract_version_id_contract_versions'),
    ),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_lead_scores_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_scores'))
    )
    with op.batch_alter_table('lead_scores', schema=None) as batch_op:
        batch_op.create_index('ix_lead_scores_lead_id_id', ['lead_id', 'id'], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        for name in ("update", "delete"):
            op.execute(APPEND_ONLY_SQLITE.format(op=name, OP=name.upper()))
    else:
        op.execute(APPEND_ONLY_PG_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS lead_scores_no_update")
        op.execute("DROP TRIGGER IF EXISTS lead_scores_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS lead_scores_append_only ON lead_scores")
    with op.batch_alter_table('lead_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_scores_lead_id_id')

    op.drop_table('lead_scores')
