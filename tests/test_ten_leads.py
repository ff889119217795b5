"""The ten-lead history loads on both databases; the KPI tests build on it."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from tests.fixtures import ten_leads

from baton.store import tables as t


def test_the_ten_lead_history_loads(engine: Engine, clock: object) -> None:
    report = ten_leads.load(engine, clock)
    assert report.counts["leads"]["new"] == 10
    with engine.connect() as conn:
        stages = dict(conn.execute(select(t.Lead.stage, func.count()).group_by(t.Lead.stage)).all())
        deals = dict(conn.execute(select(t.Opportunity.external_id, t.Opportunity.stage)).all())
    assert stages == {
        "customer": 3, "opportunity": 2, "recycled": 1, "mql": 1, "lead": 1,
        "disqualified": 1, "subscriber": 1,
    }
    assert deals == {"O1": "won", "O2": "lost", "O3": "won", "O4": "proposal", "O5": "won"}
