"""PostgreSQL: no planner statistics on the JSON columns of the tables ingestion grows

Revision ID: 0008_json_statistics
Revises: 0007_web_users
Create Date: 2026-12-03 10:00:00.000000

``ANALYZE`` samples up to 30,000 rows of a table and sorts each column's values; for a JSON
column that means comparing every sampled document. No query of Baton's filters, joins or sorts
on a whole JSON value (a field read out of one is estimated without these statistics), so they
were never used, while they cost half of each ``ANALYZE`` of ``events`` (on 96,000 events:
0.42-0.46 s, 0.20-0.25 s without ``payload``). Those ``ANALYZE`` runs, which ``baton serve``
makes as a new store grows, took 19% of the PostgreSQL server's time while it took 100,000
events. A statistics target of 0 skips the column, in those runs and in autovacuum's. SQLite
keeps no such statistics: nothing changes there.
"""

from __future__ import annotations

from alembic import op

revision = "0008_json_statistics"
down_revision = "0007_web_users"
branch_labels = None
depends_on = None

#: The JSON columns of the tables ``StatisticsKeeper`` analyzes as they grow.
COLUMNS = (
    ("events", "payload"),
    ("touchpoints", "properties"),
    ("leads", "properties"),
    ("contacts", "properties"),
    ("accounts", "properties"),
    ("lead_scores", "breakdown"),
)


def _set(target: int) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET STATISTICS {target:d}')


def upgrade() -> None:
    _set(0)


def downgrade() -> None:
    _set(-1)  # the server's default_statistics_target again
