"""handoff: routing, assignments, SLA timers, outbox, rep availability

Revision ID: 0006_handoff
Revises: 0005_events (0002 on this branch until the events migration lands)
Create Date: 2026-11-22 08:58:46.709538
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import baton.store.types

revision = '0006_handoff'
down_revision = '0005_events'
branch_labels = None
depends_on = None


# Routing decisions are the answer to "why did I get this lead?": append-only, like the stage log.
APPEND_ONLY_SQLITE = """
CREATE TRIGGER routing_decisions_no_{op} BEFORE {OP} ON routing_decisions
BEGIN SELECT RAISE(ABORT, 'routing_decisions is append-only: record a new decision instead'); END
"""
APPEND_ONLY_PG = """
CREATE TRIGGER routing_decisions_append_only BEFORE UPDATE OR DELETE ON routing_decisions
FOR EACH ROW EXECUTE FUNCTION baton_append_only()
"""


def upgrade() -> None:
    op.create_table('round_robin',
    sa.Column('pool', sa.String(length=100), nullable=False),
    sa.Column('state', baton.store.types.JSONDict(), nullable=False),
    sa.Column('updated_at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pool', name=op.f('pk_round_robin'))
    )
    op.create_table('rep_availability',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('max_open', sa.Integer(), nullable=True),
    sa.Column('max_per_day', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('days', sa.String(length=40), nullable=True),
    sa.Column('start', sa.String(length=5), nullable=True),
    sa.Column('end', sa.String(length=5), nullable=True),
    sa.Column('updated_at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_rep_availability_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_rep_availability'))
    )
    op.create_table('rep_time_off',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_rep_time_off_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rep_time_off'))
    )
    with op.batch_alter_table('rep_time_off', schema=None) as batch_op:
        batch_op.create_index('ix_rep_time_off_user_id_ends_on', ['user_id', 'ends_on'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('topic', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=True),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payload', baton.store.types.JSONDict(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_try_at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('locked_at', baton.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', baton.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_outbox_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_next_try_at', ['status', 'next_try_at'], unique=False)

    op.create_table('routing_decisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assignee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('rule', sa.String(length=80), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('reason_text', sa.Text(), nullable=False),
    sa.Column('reason', baton.store.types.JSONDict(), nullable=False),
    sa.Column('contract_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_routing_decisions_assignee_id_users')),
    sa.ForeignKeyConstraint(['contract_version_id'], ['contract_versions.id'], name=op.f('fk_routing_decisions_contract_version_id_contract_versions')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_routing_decisions_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_decisions'))
    )
    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_routing_decisions_lead_id_at', ['lead_id', 'at'], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for name in ("update", "delete"):
            op.execute(APPEND_ONLY_SQLITE.format(op=name, OP=name.upper()))
    else:
        op.execute(APPEND_ONLY_PG)

    op.create_table('assignments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('decision_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('assigned_at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sla_start', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_touch_due', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_touch_at', baton.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('connected_at', baton.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('handoffs', sa.Integer(), nullable=False),
    sa.Column('closed_at', baton.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.String(length=64), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.Column('closed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_assignments_closed_by_id_users')),
    sa.ForeignKeyConstraint(['decision_id'], ['routing_decisions.id'], name=op.f('fk_assignments_decision_id_routing_decisions')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_assignments_lead_id_leads')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_assignments_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_user_id_assigned_at', ['user_id', 'assigned_at'], unique=False)
        batch_op.create_index('ix_assignments_user_id_status', ['user_id', 'status'], unique=False)
        batch_op.create_index('uq_assignments_open_lead', ['lead_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('sla_timers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('lead_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assignment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('share', sa.Float(), nullable=True),
    sa.Column('due_at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('locked_at', baton.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('result', baton.store.types.JSONDict(), nullable=True),
    sa.Column('created_at', baton.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', baton.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_sla_timers_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_sla_timers_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_timers'))
    )
    with op.batch_alter_table('sla_timers', schema=None) as batch_op:
        batch_op.create_index('ix_sla_timers_assignment_id', ['assignment_id'], unique=False)
        batch_op.create_index('ix_sla_timers_lead_id', ['lead_id'], unique=False)
        batch_op.create_index('ix_sla_timers_status_due_at', ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('sla_timers', schema=None) as batch_op:
        batch_op.drop_index('ix_sla_timers_status_due_at')
        batch_op.drop_index('ix_sla_timers_lead_id')
        batch_op.drop_index('ix_sla_timers_assignment_id')

    op.drop_table('sla_timers')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('uq_assignments_open_lead', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_assignments_user_id_status')
        batch_op.drop_index('ix_assignments_user_id_assigned_at')

    op.drop_table('assignments')
    if op.get_bind().dialect.name == "sqlite":
        for name in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS routing_decisions_no_{name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS routing_decisions_append_only ON routing_decisions")
    with op.batch_alter_table('routing_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_routing_decisions_lead_id_at')

    op.drop_table('routing_decisions')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next_try_at')

    op.drop_table('outbox')
    with op.batch_alter_table('rep_time_off', schema=None) as batch_op:
        batch_op.drop_index('ix_rep_time_off_user_id_ends_on')

    op.drop_table('rep_time_off')
    op.drop_table('rep_availability')
    op.drop_table('round_robin')
