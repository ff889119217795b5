"""The funnel by pairs of stages on the ten-lead history, every number worked out by hand.

The history is in ``tests/fixtures/ten_leads.py``. Times between stages are computed here in
hours from the UTC times of the stage log (a New York wall time is UTC-4 in summer), then
turned into days. Quantiles are linear interpolation between closest ranks: for n sorted
times and percentile p, h = (n - 1) * p and q = x[floor h] + (h - floor h) * (x[floor h + 1] -
x[floor h]). Every expected value is an exact fraction rounded once (``hours("240.5")``),
which is what the funnel computes too, so floats are compared exactly.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import pandas as pd
import pytest
from sqlalchemy import Engine

from baton.analytics.funnel import OVERALL, funnel
from baton.analytics.period import Period
from baton.analytics.source import Tables, from_store
from baton.contract import default_contract_text, parse_contract
from baton.errors import InvalidInput
from baton.ingest.records import ImportBundle, LeadIn, StageStep
from baton.service.funnel import funnel_report
from baton.service.imports import write_import

CONTRACT = parse_contract(default_contract_text())
PATH = CONTRACT.main_path()
NY = CONTRACT.business_hours.zone
PAIRS = [("subscriber", "lead"), ("lead", "mql"), ("mql", "sql"), ("sql", "opportunity"),
         ("opportunity", "customer")]
NONE = (None, None, None)


def hours(text: str) -> float:
    """Hours, written exactly (``"191.2"``), as days rounded once."""
    return float(Fraction(text) / 24)


def days(text: str) -> float:
    return float(Fraction(text))


def rows(counts: list[tuple[int, int, int, tuple[float | None, ...]]]) -> list[tuple[object, ...]]:
    """Expected rows from (entered, converted, timed, (median, p75, p90)) per pair."""
    out = []
    for step, ((stage, nxt), (entered, converted, timed, qs)) in enumerate(zip(PAIRS, counts, strict=True)):
        conversion = converted / entered if entered else None
        out.append((step, stage, nxt, entered, converted, conversion, timed, *qs))
    return out


def plain(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Rows as tuples with NaN as None; nothing rounded."""
    def value(v: object) -> object:
        return None if isinstance(v, float) and math.isnan(v) else v

    return [tuple(value(v) for v in row) for row in frame.itertuples(index=False)]


@pytest.fixture
def tables(ten_lead_tables: Tables) -> Tables:
    return ten_lead_tables


# Stage log in UTC (from the fixture):
#   L1  lead 07-01 12:00, mql 07-06 13:00, sql 07-08 12:00, opp 07-10 12:00, customer 08-14 12:00
#   L2  lead 07-02 12:00, mql 07-10 19:00, sql 07-14 12:00, opp 07-15 12:00
#   L3  lead 07-03 12:00, mql 07-13 20:00, recycled 07-20
#   L4  lead 07-05 12:00, mql 07-15 13:00
#   L5  lead 07-06 12:00, mql 07-16 12:00, sql 07-17 12:00, opp 07-20 12:00, customer 09-10 12:00
#   L6  lead 07-07 12:00, mql 07-17 20:30, sql 07-21 12:00, opp 07-22 12:00
#   L7  lead 07-08 12:00
#   L8  lead 07-09 12:00, mql 07-20 13:00, disqualified 07-21
#   L9  subscriber 07-10 12:00
#   L10 lead 06-15 12:00, mql 06-20 12:00, sql 06-22 12:00, opp 06-25 12:00, customer 07-30 12:00
#
# Times per pair (hours unless noted):
#   lead→mql  L1 121 (5d1h), L2 199 (8d7h), L3 248 (10d8h), L4 241, L5 240, L6 248.5, L8 265, L10 120
#   mql→sql   L1 47, L2 89, L5 24, L6 87.5, L10 48
#   sql→opp   L1 48, L2 24, L5 72, L6 24, L10 72
#   opp→cust  L1 35 days, L5 52 days (07-20 → 09-10: 11 + 31 + 10), L10 35 days
OVERALL_ROWS = rows([
    # every lead reached subscriber-or-later, all but L9 went on; only L9 entered subscriber
    # itself and it never moved, so nothing is timed
    (10, 9, 0, NONE),
    # sorted 120 121 199 240 241 248 248.5 265 (n=8)
    # median h=3.5: 240 + 0.5*1 = 240.5; p75 h=5.25: 248 + 0.25*0.5 = 248.125;
    # p90 h=6.3: 248.5 + 0.3*16.5 = 253.45
    (9, 8, 8, (hours("240.5"), hours("248.125"), hours("253.45"))),
    # L1 L2 L5 L6 L10 of 8; sorted 24 47 48 87.5 89: median 48; p75 h=3: 87.5;
    # p90 h=3.6: 87.5 + 0.6*1.5 = 88.4
    (8, 5, 5, (hours("48"), hours("87.5"), hours("88.4"))),
    # sorted 24 24 48 72 72: median 48, p75 h=3: 72, p90 h=3.6: 72
    (5, 5, 5, (hours("48"), hours("72"), hours("72"))),
    # L1 L5 L10 of 5; sorted 35 35 52 days: median 35; p75 h=1.5: 35 + 0.5*17 = 43.5;
    # p90 h=1.8: 35 + 0.8*17 = 48.6
    (5, 3, 3, (days("35"), days("43.5"), days("48.6"))),
])


def test_the_overall_funnel(tables: Tables) -> None:
    got = funnel(tables, PATH).to_pandas()
    assert got.columns.tolist() == [
        "step", "stage", "next_stage", "entered", "converted", "conversion", "timed",
        "median_days", "p75_days", "p90_days",
    ]
    assert plain(got) == OVERALL_ROWS


BY_CHANNEL = {
    # L7, L8: only L8 reached mql (265 h) and it was disqualified
    "direct": rows([(2, 2, 0, NONE), (2, 1, 1, (hours("265"),) * 3), (1, 0, 0, NONE),
                    (0, 0, 0, NONE), (0, 0, 0, NONE)]),
    # L5, L6. lead→mql 240, 248.5: median 244.25, p75 240 + 0.75*8.5 = 246.375,
    # p90 240 + 0.9*8.5 = 247.65. mql→sql 24, 87.5: 55.75, 24 + 0.75*63.5 = 71.625,
    # 24 + 0.9*63.5 = 81.15. sql→opp 24, 72: 48, 60, 67.2. opp→customer L5 only: 52 days
    "events": rows([
        (2, 2, 0, NONE),
        (2, 2, 2, (hours("244.25"), hours("246.375"), hours("247.65"))),
        (2, 2, 2, (hours("55.75"), hours("71.625"), hours("81.15"))),
        (2, 2, 2, (hours("48"), hours("60"), hours("67.2"))),
        (2, 1, 1, (days("52"),) * 3),
    ]),
    # L3, L4, L10. lead→mql sorted 120 241 248: median 241, p75 h=1.5: 244.5,
    # p90 h=1.8: 241 + 0.8*7 = 246.6. Then only L10 goes on: 48 h, 72 h, 35 days
    "organic_search": rows([
        (3, 3, 0, NONE),
        (3, 3, 3, (hours("241"), hours("244.5"), hours("246.6"))),
        (3, 1, 1, (hours("48"),) * 3),
        (1, 1, 1, (hours("72"),) * 3),
        (1, 1, 1, (days("35"),) * 3),
    ]),
    # L1, L2, L9 (L9 stays a subscriber). lead→mql 121, 199: 160, 121 + 0.75*78 = 179.5,
    # 121 + 0.9*78 = 191.2. mql→sql 47, 89: 68, 78.5, 84.8. sql→opp 48, 24 → 24, 48:
    # 36, 42, 45.6. opp→customer L1 only of 2: 35 days
    "paid_search": rows([
        (3, 2, 0, NONE),
        (2, 2, 2, (hours("160"), hours("179.5"), hours("191.2"))),
        (2, 2, 2, (hours("68"), hours("78.5"), hours("84.8"))),
        (2, 2, 2, (hours("36"), hours("42"), hours("45.6"))),
        (2, 1, 1, (days("35"),) * 3),
    ]),
    OVERALL: OVERALL_ROWS,
}


def test_the_funnel_by_channel(tables: Tables) -> None:
    got = funnel(tables, PATH, by="channel").to_pandas()
    expected = [(channel, *row) for channel in sorted(BY_CHANNEL) for row in BY_CHANNEL[channel]]
    assert plain(got) == expected


# Cohorts by the New York month a lead reached the pair's first stage: only L10 is in June for
# every pair (lead 06-15, mql 06-20, sql 06-22, opp 06-25); everyone else is in July.
BY_MONTH = {
    "2026-06": rows([(1, 1, 0, NONE), (1, 1, 1, (hours("120"),) * 3),
                     (1, 1, 1, (hours("48"),) * 3), (1, 1, 1, (hours("72"),) * 3),
                     (1, 1, 1, (days("35"),) * 3)]),
    "2026-07": rows([
        (9, 8, 0, NONE),
        # sorted 121 199 240 241 248 248.5 265 (n=7): median h=3: 241; p75 h=4.5:
        # 248 + 0.5*0.5 = 248.25; p90 h=5.4: 248.5 + 0.4*16.5 = 255.1
        (8, 7, 7, (hours("241"), hours("248.25"), hours("255.1"))),
        # L1 L2 L5 L6 of 7 (L3, L4, L8 did not go on); sorted 24 47 87.5 89: median h=1.5:
        # 47 + 0.5*40.5 = 67.25; p75 h=2.25: 87.5 + 0.25*1.5 = 87.875; p90 h=2.7: 88.55
        (7, 4, 4, (hours("67.25"), hours("87.875"), hours("88.55"))),
        # sorted 24 24 48 72: median 36; p75 h=2.25: 48 + 0.25*24 = 54; p90 h=2.7: 64.8
        (4, 4, 4, (hours("36"), hours("54"), hours("64.8"))),
        # L1 35 days, L5 52 days of 4: median 43.5; p75 35 + 0.75*17 = 47.75; p90 50.3
        (4, 2, 2, (days("43.5"), days("47.75"), days("50.3"))),
    ]),
}


def test_the_funnel_by_month_cohort(tables: Tables) -> None:
    got = funnel(tables, PATH, cohort="month", zone=NY).to_pandas()
    expected = [(month, *row) for month in sorted(BY_MONTH) for row in BY_MONTH[month]]
    assert plain(got) == expected


def test_a_period_keeps_the_leads_that_entered_each_pair_within_it(tables: Tables) -> None:
    # 2026-Q3 in New York holds exactly the July cohort of every pair
    q3 = Period.parse("2026-Q3", NY)
    assert plain(funnel(tables, PATH, period=q3).to_pandas()) == BY_MONTH["2026-07"]
    june = funnel(tables, PATH, period=Period.parse("2026-06", NY), by="owner").to_pandas()
    # only L10 (Ann's) entered anything in June
    assert plain(june[june.owner == "Ann"].drop(columns="owner")) == BY_MONTH["2026-06"]


def test_one_pair_mql_to_customer(tables: Tables) -> None:
    # reached mql: L1..L6, L8, L10 (8); customers L1, L5, L10, all timed from their MQL:
    # L1 07-06 13:00 → 08-14 12:00 = 38 d 23 h = 935 h; L5 07-16 → 09-10 = 56 d = 1344 h;
    # L10 06-20 → 07-30 = 40 d = 960 h. Sorted 935 960 1344: median 960 (40 d);
    # p75 h=1.5: 960 + 0.5*384 = 1152 (48 d); p90 h=1.8: 960 + 0.8*384 = 1267.2 (52.8 d)
    got = funnel(tables, PATH, only=["mql", "customer"]).to_pandas()
    assert plain(got) == [
        (0, "mql", "customer", 8, 3, 3 / 8, 3, hours("960"), hours("1152"), hours("1267.2"))
    ]


def test_the_other_breakdowns_label_every_lead(tables: Tables) -> None:
    entered = {}
    for by in ("campaign", "segment", "team", "owner"):
        got = funnel(tables, PATH, by=by).to_pandas()
        first = got[got.step == 0]
        entered[by] = dict(zip(first[by], first.entered, strict=True))
    # each lead's first touch is in its own channel's campaign
    assert entered["campaign"] == {
        "direct campaign": 2, "events campaign": 2, "organic_search campaign": 3,
        "paid_search campaign": 3, OVERALL: 10,
    }
    # no account in the history has a head count
    assert entered["segment"] == {"unknown": 10, OVERALL: 10}
    # Ann owns L1 L3 L4 L6 L10, Bob L2 L5 L8; L7 and L9 have no owner
    assert entered["owner"] == {"Ann": 5, "Bob": 3, "unknown": 2, OVERALL: 10}
    assert entered["team"] == {"East": 5, "West": 3, "unknown": 2, OVERALL: 10}


def test_the_report_rejects_what_it_does_not_know(tables: Tables) -> None:
    with pytest.raises(InvalidInput, match="not a breakdown"):
        funnel_report(tables, CONTRACT, by="region")
    with pytest.raises(InvalidInput, match="not a cohort"):
        funnel_report(tables, CONTRACT, cohort="day")
    with pytest.raises(InvalidInput, match="path order"):
        funnel_report(tables, CONTRACT, stages=["customer", "mql"])
    with pytest.raises(InvalidInput, match="not on the funnel"):
        funnel_report(tables, CONTRACT, stages=["mql", "recycled"])
    frame = funnel_report(tables, CONTRACT, by="channel", cohort="month", period="2026-Q3")
    assert frame[frame.channel == OVERALL].entered.tolist() == [9, 8, 7, 4, 4]


T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)


def skipping(external_id: str, *moves: tuple[str, int]) -> LeadIn:
    steps = [StageStep(stage, T0 + dt.timedelta(days=day), reason="no-budget" if stage == "recycled" else None)
             for stage, day in moves]
    return LeadIn(external_id, created_at=T0, channel="web", history=steps)


def test_skipped_stages_count_but_are_not_timed(engine: Engine, database_url: str, clock: object) -> None:
    bundle = ImportBundle(source="skips")
    bundle.leads = [
        skipping("s1", ("lead", 0), ("sql", 2)),  # skips mql
        skipping("s2", ("lead", 0), ("mql", 1), ("opportunity", 4)),  # skips sql
        # reaches mql by passing it (sql on day 1) before entering mql itself on day 5
        skipping("s3", ("lead", 0), ("sql", 1), ("recycled", 2), ("mql", 5), ("sql", 7)),
    ]
    write_import(engine, lambda _c: bundle, label="t", contract_text=default_contract_text(), clock=clock)  # type: ignore[arg-type]
    source = from_store(database_url)
    try:
        got = funnel(source, PATH, only=["lead", "mql", "sql", "opportunity"]).to_pandas()
    finally:
        source.close()
    assert plain(got) == [
        # all reached mql-or-later: s1 on day 2 (sql), s2 day 1, s3 day 1 (sql); all entered
        # lead itself, so all are timed: 2, 1, 1 days → median 1, p75 1.5, p90 1.8
        (0, "lead", "mql", 3, 3, 1.0, 3, 1.0, 1.5, days("1.8")),
        # all reached sql-or-later (s2 through opportunity on day 4); only s2 entered mql
        # itself when it first reached it (s1 never did, s3 only after passing it): 4 - 1 = 3
        (1, "mql", "sql", 3, 3, 1.0, 1, 3.0, 3.0, 3.0),
        # s1 (day 2), s2 (day 4, skipped sql), s3 (day 1) reached sql; only s2 reached
        # opportunity, and it skipped sql, so nothing is timed
        (2, "sql", "opportunity", 3, 1, 1 / 3, 0, None, None, None),
    ]


def test_an_empty_store_gives_every_pair_with_nothing_in_it(engine: Engine, database_url: str) -> None:
    source = from_store(database_url)
    try:
        got = funnel(source, PATH).to_pandas()
    finally:
        source.close()
    assert plain(got) == rows([(0, 0, 0, NONE)] * 5)
