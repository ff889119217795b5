"""Goal progress and the reverse funnel on the ten-lead history, worked by hand, on both stores.

Periods are in New York: 2026-Q3 runs from 2026-07-01T04:00Z to 2026-10-01T04:00Z (92 days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from tests.fixtures import ten_leads

from baton.analytics.goals import goal_progress
from baton.analytics.period import Period
from baton.analytics.plan import lookback_before, reverse_funnel
from baton.analytics.source import Tables, from_store
from baton.contract import default_contract_text, parse_contract
from baton.errors import InvalidInput
from baton.service.commitments import records
from baton.service.imports import write_import

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)  # the fixtures' clock
HALF_Q3 = dt.datetime(2026, 8, 16, 4, 0, tzinfo=dt.UTC)  # 46 of Q3's 92 days gone

GOALS = """
[[goals]]
key = "revenue-q3"
metric = "revenue"
period = "2026-Q3"
target = 90000

[[goals]]
key = "customers-q3"
metric = "customers"
period = "2026-Q3"
target = 3

[[goals]]
key = "opportunities-q3"
metric = "opportunities"
period = "2026-Q3"
target = 8

[[goals]]
key = "pipeline-q3"
metric = "pipeline"
period = "2026-Q3"
target = 100000

[[goals]]
key = "sqls-q3"
metric = "sqls"
period = "2026-Q3"
target = 4

[[goals]]
key = "mqls-q3"
metric = "mqls"
period = "2026-Q3"
target = 14

[[goals]]
key = "leads-q3"
metric = "leads"
period = "2026-Q3"
target = 9

[[goals]]
key = "customers-q4"
metric = "customers"
period = "2026-Q4"
target = 5

[[goals]]
key = "revenue-2026"
metric = "revenue"
period = "2026"
target = 2000000
"""


def contract_text() -> str:
    """The default contract with the goals above in place of its own."""
    text = default_contract_text()
    first, rest = text.index("[[goals]]"), text.index("# Reason codes")
    return text[:first] + GOALS.lstrip() + "\n" + text[rest:]


CONTRACT = parse_contract(contract_text())


@pytest.fixture
def tables(engine: Engine, database_url: str, clock: object) -> Iterator[Tables]:
    write_import(
        engine,
        ten_leads.bundle,
        label=ten_leads.SOURCE,
        contract_text=contract_text(),
        clock=clock,  # type: ignore[arg-type]
    )
    source = from_store(database_url)
    yield source
    source.close()


def progress(tables: Tables, as_of: dt.datetime) -> dict[str, tuple[object, ...]]:
    frame = goal_progress(tables, CONTRACT, as_of)
    return {
        r["key"]: (
            r["actual"],
            round(r["share"], 6),
            round(r["expected_share"], 6),
            r["on_track"],
            r["state"],
        )
        for r in records(frame)
    }


def test_goal_progress_after_the_quarter(tables: Tables) -> None:
    # Won in Q3: O5 07-30 5,000, O1 08-14 10,000, O3 09-10 30,000 (O2 was lost).
    # Opened in Q3: O1 07-10 10,000, O2 07-15 20,000, O3 07-20 30,000, O4 07-22 15,000 (O5 in June).
    # Reached SQL in Q3: L1 L2 L5 L6 (L10 in June); MQL: L1-L6, L8; created: L1-L9 (L10 in June).
    # 2026 runs from 01-01T05:00Z; by NOW 323 days and 10 hours of its 365 days are gone.
    year = (323 + 10 / 24) / 365
    assert progress(tables, NOW) == {
        "revenue-q3": (45000.0, 0.5, 1.0, False, "ended"),         # 45,000 / 90,000
        "customers-q3": (3, 1.0, 1.0, True, "ended"),
        "opportunities-q3": (4, 0.5, 1.0, False, "ended"),
        "pipeline-q3": (75000.0, 0.75, 1.0, False, "ended"),
        "sqls-q3": (4, 1.0, 1.0, True, "ended"),
        "mqls-q3": (7, 0.5, 1.0, False, "ended"),
        "leads-q3": (9, 1.0, 1.0, True, "ended"),
        # Q4 runs from 10-01T04:00Z to 01-01T05:00Z (the clocks go back on 11-01): 92 days and an
        # hour, of which 50 days and 11 hours are gone by NOW (11-20T15:00Z).
        "customers-q4": (0, 0.0, round((50 + 11 / 24) / (92 + 1 / 24), 6), False, "in progress"),
        "revenue-2026": (45000.0, 0.0225, round(year, 6), False, "in progress"),
    }  # fmt: skip


def test_goal_progress_halfway_through_the_quarter(tables: Tables) -> None:
    # By 08-16 only O5 (5,000) and O1 (10,000) are won; O3 is won in September.
    assert progress(tables, HALF_Q3) == {
        "revenue-q3": (15000.0, round(15000 / 90000, 6), 0.5, False, "in progress"),
        "customers-q3": (2, round(2 / 3, 6), 0.5, True, "in progress"),
        "opportunities-q3": (4, 0.5, 0.5, True, "in progress"),   # exactly on pace counts
        "pipeline-q3": (75000.0, 0.75, 0.5, True, "in progress"),
        "sqls-q3": (4, 1.0, 0.5, True, "in progress"),
        "mqls-q3": (7, 0.5, 0.5, True, "in progress"),
        "leads-q3": (9, 1.0, 0.5, True, "in progress"),
        "customers-q4": (0, 0.0, 0.0, True, "not started"),
        # 2026-01-01T05:00Z to 08-16T04:00Z: 227 days less an hour, of 365
        "revenue-2026": (15000.0, 0.0075, round((227 - 1 / 24) / 365, 6), False, "in progress"),
    }  # fmt: skip


def test_the_reverse_funnel_for_a_revenue_goal(tables: Tables) -> None:
    q4 = Period.parse("2026-Q4", CONTRACT.business_hours.zone)
    plan = reverse_funnel(tables, CONTRACT, 1_000_000, q4, NOW)
    # Rates over the four quarters before Q4 (2025-10-01 to 2026-09-30):
    assert (plan.lookback.first, plan.lookback.end) == (dt.date(2025, 10, 1), dt.date(2026, 10, 1))
    # deal size: O1 10,000 + O3 30,000 + O5 5,000 won = 45,000 / 3 = 15,000
    # win rate: 3 won of 4 closed (O2 lost) = 0.75
    # SQL -> opportunity: L1 L2 L5 L6 L10 reached SQL, all five reached opportunity = 1.0
    # MQL -> SQL: 8 MQLs (L1-L6, L8, L10), 5 reached SQL = 0.625
    # lead -> MQL: 10 leads created, 8 reached MQL = 0.8
    # customers = ceil(1,000,000 / 15,000) = ceil(66.7) = 67; opportunities = ceil(67 / 0.75)
    # = ceil(89.3) = 90; SQLs = 90 / 1.0 = 90; MQLs = 90 / 0.625 = 144; leads = 144 / 0.8 = 180.
    steps = [(r["step"], r["needed"], r["so_far"], r["rate"]) for r in records(plan.steps)]
    assert steps == [
        ("revenue", 1_000_000, 0, None),
        ("customers", 67, 0, 15000.0),
        ("opportunities", 90, 0, 0.75),
        ("sqls", 90, 0, 1.0),
        ("mqls", 144, 0, 0.625),
        ("leads", 180, 0, 0.8),
    ]
    assert plan.steps.basis.tolist()[1:] == [
        "3 won deals worth 45,000",
        "3 won of 4 closed",
        "5 of 5 SQLs",
        "5 of 8 MQLs",
        "8 of 10 leads",
    ]


def test_the_plan_for_q3_counts_what_q3_already_holds(tables: Tables) -> None:
    # Rates from July 2026 alone: won O5 (5,000) of 1 closed; SQLs L1 L2 L5 L6 all became
    # opportunities; 4 of the 7 MQLs reached SQL; 7 of the 9 leads created reached MQL.
    q3 = Period.parse("2026-Q3", CONTRACT.business_hours.zone)
    july = Period.parse("2026-07", CONTRACT.business_hours.zone)
    plan = reverse_funnel(tables, CONTRACT, 50_000, q3, NOW, lookback=july)
    # customers = 50,000 / 5,000 = 10; opportunities = 10 / 1 = 10; SQLs = 10 / 1 = 10;
    # MQLs = ceil(10 / (4/7)) = ceil(17.5) = 18; leads = ceil(18 / (7/9)) = ceil(23.14) = 24.
    got = [(r["step"], r["needed"], r["so_far"]) for r in records(plan.steps)]
    assert got == [
        ("revenue", 50_000, 45000.0),
        ("customers", 10, 3),
        ("opportunities", 10, 4),
        ("sqls", 10, 4),
        ("mqls", 18, 7),
        ("leads", 24, 9),
    ]


def test_a_rate_without_data_is_named(tables: Tables) -> None:
    # The year before Q3 holds only L10 (MQL, SQL and opportunity in June, won in July):
    # no deal was won or lost in it, while its lead rates are 1 of 1.
    q3 = Period.parse("2026-Q3", CONTRACT.business_hours.zone)
    with pytest.raises(InvalidInput) as caught:
        reverse_funnel(tables, CONTRACT, 1_000_000, q3, NOW)
    message = str(caught.value)
    assert "2025-07-01 to 2026-06-30" in message
    assert "average deal size (0 won deals worth 0), win rate (0 won of 0 closed)" in message
    assert "MQL → SQL" not in message and "lead → MQL" not in message


def test_plan_inputs_are_checked() -> None:
    q3 = Period.parse("2026-Q3", CONTRACT.business_hours.zone)
    assert lookback_before(q3).first == dt.date(2025, 7, 1)
    assert lookback_before(q3, 1).first == dt.date(2026, 4, 1)
    with pytest.raises(InvalidInput, match="at least one quarter"):
        lookback_before(q3, 0)
    with pytest.raises(InvalidInput, match="positive"):
        reverse_funnel(None, CONTRACT, 0, q3, NOW)  # type: ignore[arg-type]
