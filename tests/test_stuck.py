"""Stuck leads on the ten-lead history, worked out by hand.

The default contract lets a lead wait 3 days in mql, 14 in sql and 60 in opportunity. Stage
entries in UTC (from ``tests/fixtures/ten_leads.py``): L2 sql 07-14 12:00, opportunity 07-15
12:00; L3 mql 07-13 20:00, recycled 07-20; L4 mql 07-15 13:00 (and nothing after); L6 mql
07-17 20:30, sql 07-21 12:00, opportunity 07-22 12:00; L8 mql 07-20 13:00, disqualified 07-21.
L1, L5 and L10 are customers by the end.
"""

from __future__ import annotations

import datetime as dt

import pytest

from baton.analytics.source import Tables
from baton.analytics.stuck import STUCK_COLUMNS, stuck_leads
from baton.contract import default_contract_text, parse_contract
from baton.service.funnel import stuck_report

CONTRACT = parse_contract(default_contract_text())
LIMITS = CONTRACT.stuck_after_days


def utc(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=dt.UTC)


@pytest.fixture
def tables(ten_lead_tables: Tables) -> Tables:
    return ten_lead_tables


def listed(tables: Tables, as_of: dt.datetime) -> list[tuple[object, ...]]:
    frame = stuck_report(tables, CONTRACT, as_of=as_of)
    assert frame.columns.tolist() == list(STUCK_COLUMNS)
    return [
        (r.external_id, r.email, r.owner, r.stage, r.entered_at.to_pydatetime(), r.days_in_stage,
         r.stuck_after_days)
        for r in frame.itertuples(index=False)
    ]


def test_stuck_as_of_a_day_in_july(tables: Tables) -> None:
    # At 07-21 00:00: L4 in mql since 07-15 13:00 = 5 d 11 h; L6 in mql since 07-17 20:30 =
    # 3 d 3.5 h (it reaches sql later that day); L8 in mql only 11 h; L2 in sql 6.5 d of 14;
    # L1, L5 in opportunity well under 60 d; L3 recycled and L7, L9 have no limit.
    assert listed(tables, utc(7, 21)) == [
        ("L4", "l4@example.com", "Ann", "mql", utc(7, 15, 13), (5 * 24 + 11) / 24, 3),
        ("L6", "l6@example.com", "Ann", "mql", utc(7, 17, 20, 30), (3 * 24 + 3.5) / 24, 3),
    ]


def test_stuck_now(tables: Tables) -> None:
    # At 11-20 15:00 (the tests' clock): L2 in opportunity since 07-15 12:00: July 15 → Nov 15
    # is 31 + 31 + 30 + 31 = 123 days, + 5 d 3 h = 128 d 3 h; L4 in mql since 07-15 13:00 =
    # 128 d 2 h; L6 in opportunity since 07-22 12:00 = 7 days less + 0 h = 121 d 3 h.
    assert listed(tables, utc(11, 20, 15)) == [
        ("L2", "l2@example.com", "Bob", "opportunity", utc(7, 15, 12), (128 * 24 + 3) / 24, 60),
        ("L4", "l4@example.com", "Ann", "mql", utc(7, 15, 13), (128 * 24 + 2) / 24, 3),
        ("L6", "l6@example.com", "Ann", "opportunity", utc(7, 22, 12), (121 * 24 + 3) / 24, 60),
    ]


def test_exactly_the_limit_is_not_yet_stuck(tables: Tables) -> None:
    # 07-18 13:00: L4 has waited exactly 3 days in mql; L3 4 d 17 h (mql since 07-13 20:00)
    assert [row[0] for row in listed(tables, utc(7, 18, 13))] == ["L3"]
    assert [row[0] for row in listed(tables, utc(7, 18, 13, 0, 1))] == ["L3", "L4"]


def test_a_naive_moment_is_utc_and_no_limits_list_nothing(tables: Tables) -> None:
    naive = stuck_leads(tables, LIMITS, dt.datetime(2026, 7, 21)).to_pandas()
    assert naive.external_id.tolist() == ["L4", "L6"]
    assert stuck_leads(tables, {}, utc(11, 20)).to_pandas().empty
