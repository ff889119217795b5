"""SLA compliance on the ten-lead history, every number worked out by hand (SQLite and PostgreSQL).

Business hours are 09:00-17:00 Monday to Friday in New York (UTC-4 in July); the SLA gives
sales 4 business hours to the first touch and 10 business days for 6 attempts. The first
touches and their arithmetic are in the docstring of ``tests/fixtures/ten_leads.py``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator

import pandas as pd
import pytest
from sqlalchemy import Engine
from tests.fixtures import ten_leads
from tests.fixtures.ten_leads import ny

from baton.analytics.funnel import OVERALL
from baton.analytics.period import Period
from baton.analytics.sla import attempt_windows, mql_handoffs
from baton.analytics.source import Tables, from_store
from baton.contract import default_contract_text, parse_contract
from baton.domain.business_hours import BusinessClock
from baton.ingest.records import ActivityIn, LeadIn, StageStep
from baton.service.commitments import sla_report
from baton.service.imports import write_import

CONTRACT = parse_contract(default_contract_text())
ZONE = CONTRACT.business_hours.zone
Q3 = Period.parse("2026-Q3", ZONE)
NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)  # the fixtures' clock: long after Q3


@pytest.fixture
def tables(engine: Engine, database_url: str, clock: object) -> Iterator[Tables]:
    ten_leads.load(engine, clock)
    source = from_store(database_url)
    yield source
    source.close()


def handoffs(tables: Tables, as_of: dt.datetime) -> pd.DataFrame:
    clock = BusinessClock(CONTRACT.business_hours)
    frame = mql_handoffs(tables, CONTRACT, clock, Q3, as_of).to_pandas()
    ids = tables.leads.select("id", "external_id").to_pandas()
    lead_keys = dict(zip(ids.id, ids.external_id, strict=True))
    return frame.assign(lead=frame.lead_id.map(lead_keys)).set_index("lead")


def utc(at: pd.Series) -> list[dt.datetime | None]:
    values = pd.to_datetime(at, utc=True)
    return [None if pd.isna(v) else v.to_pydatetime() for v in values]


def test_each_mql_of_the_quarter_with_its_first_touch_attempts_and_outcome(tables: Tables) -> None:
    got = handoffs(tables, NOW)
    # L10's MQL was in June, L7 and L9 never were MQLs: seven MQLs, in the order they came.
    assert got.index.tolist() == ["L1", "L2", "L3", "L4", "L5", "L6", "L8"]
    assert utc(got.first_touch_at) == [
        ny(7, 6, 11),
        ny(7, 13, 10),
        ny(7, 14, 13),
        None,
        ny(7, 16, 12, 30),
        ny(7, 20, 10, 30),
        ny(7, 20, 9, 30),
    ]
    # Attempts by the owner: L2 two calls (13th and 14th), L3 an email and a call, L4 none.
    assert got.attempts.tolist() == [1, 2, 2, 0, 1, 1, 1]
    # Day 1 is the first working day closing after the MQL, the window closes at 17:00 on day 10:
    # L1 Mon 07-06 -> Fri 07-17; L2 Fri 07-10 -> Thu 07-23; L3 Mon 07-13 16:00 -> Fri 07-24;
    # L4 Wed 07-15 -> Tue 07-28; L5 Thu 07-16 08:00 (before opening, same day) -> Wed 07-29;
    # L6 Fri 07-17 16:30 -> Thu 07-30; L8 Mon 07-20 -> Fri 07-31.
    ends = pd.to_datetime(got.window_end_s, unit="s", utc=True).tolist()
    assert ends == [ny(7, d, 17) for d in (17, 23, 24, 28, 29, 30, 31)]
    # Accepted = reached SQL later (L1, L2, L5, L6); L3 recycled, L8 disqualified; L4 pending.
    assert got.outcome.tolist() == [
        "accepted",
        "accepted",
        "rejected",
        "pending",
        "accepted",
        "accepted",
        "rejected",
    ]
    assert got.rep.tolist() == ["Ann", "Bob", "Ann", "Ann", "Bob", "Ann", "Bob"]
    assert got.team.tolist() == ["East", "West", "East", "East", "West", "East", "West"]


def rows(frame: pd.DataFrame, keys: list[str]) -> dict[tuple[str, ...], dict[str, object]]:
    out = {}
    for row in frame.to_dict("records"):
        key = tuple(row.pop(k) for k in keys)
        out[key] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
    return out


# Business hours to the first touch (ten_leads docstring): Ann L1 2, L3 5 (late), L4 never,
# L6 2 (16:30-17:00 Friday + 09:00-10:30 Monday); Bob L2 3 (15:00-17:00 Friday + 09:00-10:00
# Monday, across the weekend), L5 3.5 (MQL at 08:00, counted from 09:00), L8 0.5.
ANN = {
    "mqls": 4, "touched": 3, "within": 2, "breached": 2, "open": 0,
    "within_rate": 0.5,            # L1, L6 within; L3 late and L4 never touched (long overdue)
    "median_hours": 2.0,           # median of 2, 5, 2
    "attempts": 4,                 # L1 1 + L3 2 + L4 0 + L6 1
    "attempts_per_mql": 1.0,       # 4 / 4
    "attempts_met": 2,             # L1, L6 accepted: no more attempts needed
    "attempts_missed": 2,          # L3 (2 of 6) and L4 (0 of 6), windows long closed
    "attempts_open": 0,
    "attempts_rate": 0.5,          # 2 / (2 + 2)
}  # fmt: skip
BOB = {
    "mqls": 3, "touched": 3, "within": 3, "breached": 0, "open": 0,
    "within_rate": 1.0,
    "median_hours": 3.0,           # median of 3, 3.5, 0.5
    "attempts": 4,                 # L2 2 + L5 1 + L8 1
    "attempts_per_mql": round(4 / 3, 6),
    "attempts_met": 2,             # L2, L5 accepted
    "attempts_missed": 1,          # L8: 1 of 6 before it was disqualified
    "attempts_open": 0,
    "attempts_rate": round(2 / 3, 6),
}  # fmt: skip
ALL = {
    "mqls": 7, "touched": 6, "within": 5, "breached": 2, "open": 0,
    "within_rate": round(5 / 7, 6),
    "median_hours": 2.5,           # 0.5, 2, 2, 3, 3.5, 5: (2 + 3) / 2
    "attempts": 8,
    "attempts_per_mql": round(8 / 7, 6),
    "attempts_met": 4, "attempts_missed": 3, "attempts_open": 0,
    "attempts_rate": round(4 / 7, 6),
}  # fmt: skip


def test_sales_sla_by_rep_team_and_overall(tables: Tables) -> None:
    by_rep = sla_report(tables, CONTRACT, as_of=NOW, period=Q3, by="rep").sales
    assert rows(by_rep, ["rep", "team"]) == {
        ("Ann", "East"): ANN,
        ("Bob", "West"): BOB,
        (OVERALL, OVERALL): ALL,
    }
    by_team = sla_report(tables, CONTRACT, as_of=NOW, period=Q3, by="team").sales
    assert rows(by_team, ["team"]) == {("East",): ANN, ("West",): BOB, (OVERALL,): ALL}
    overall = sla_report(tables, CONTRACT, as_of=NOW, period=Q3, by=None).sales
    assert rows(overall, []) == {(): ALL}


def test_marketing_sla_volume_per_month_and_acceptance(tables: Tables) -> None:
    report = sla_report(tables, CONTRACT, as_of=NOW, period=Q3)
    # All seven MQLs came in July; the commitment is 400 a month, every month is over by NOW.
    assert report.volume.to_dict("list") == {
        "month": ["2026-07", "2026-08", "2026-09"],
        "days": [31, 31, 30],
        "mqls": [7, 0, 0],
        "commitment": [400.0, 400.0, 400.0],
        "share": [7 / 400, 0.0, 0.0],
        "state": ["short", "short", "short"],
    }
    a = report.acceptance
    # accepted L1 L2 L5 L6, rejected L3 (recycled) L8 (disqualified), pending L4:
    # 4 / (4 + 2) = 0.667 against the 0.6 minimum.
    assert (a.accepted, a.rejected, a.pending, a.target, a.met) == (4, 2, 1, 0.6, True)
    assert a.rate == pytest.approx(4 / 6)


def test_an_untouched_mql_is_open_until_due_then_breached(tables: Tables) -> None:
    # Wed 07-15 10:00: L4 came at 09:00 and is due at 13:00; L5, L6, L8 have not come yet.
    early = sla_report(tables, CONTRACT, as_of=ny(7, 15, 10), period=Q3, by=None)
    assert rows(early.sales, []) == {(): {
        "mqls": 4, "touched": 3, "within": 2, "breached": 1, "open": 1,
        "within_rate": round(2 / 3, 6),   # L1 and L2 within, L3 late; L4 undecided
        "median_hours": 3.0,              # 2, 3, 5
        "attempts": 4,                    # L1 1, L2 2, L3 1 (its call on the 15th is at 11:00)
        "attempts_per_mql": 1.0,
        "attempts_met": 2,                # L1, L2 accepted by then
        "attempts_missed": 0,
        "attempts_open": 2,               # L3 and L4: their windows run to the 24th and 28th
        "attempts_rate": 1.0,
    }}  # fmt: skip
    assert early.acceptance.pending == 2 and early.acceptance.rate == 1.0
    assert early.volume.state.tolist() == ["in progress", "not started", "not started"]
    # 14:00 the same day: L4's due time (13:00) has passed, so it is a breach.
    later = sla_report(tables, CONTRACT, as_of=ny(7, 15, 14), period=Q3, by=None).sales
    assert later.loc[0, ["within", "breached", "open", "attempts"]].tolist() == [2, 2, 0, 5]


def test_an_mql_that_comes_back_is_judged_again(
    engine: Engine, database_url: str, clock: object
) -> None:
    def bundle(contract: object) -> object:
        b = ten_leads.bundle(contract)  # type: ignore[arg-type]
        # L11: MQL Mon 07-27 09:00, recycled the next day, MQL again Mon 08-03 09:00, then SQL.
        b.leads.append(LeadIn(
            "L11", created_at=ny(7, 20, 9), email="l11@example.com", channel="events", owner="bob",
            history=[
                StageStep("lead", ny(7, 20, 9)), StageStep("mql", ny(7, 27, 9)),
                StageStep("recycled", ny(7, 28, 9), reason="bad-timing"),
                StageStep("mql", ny(8, 3, 9)), StageStep("sql", ny(8, 5, 9)),
            ],
        ))  # fmt: skip
        b.activities += [
            ActivityIn("W11a", kind="call", occurred_at=ny(7, 27, 10), lead="L11", user="bob"),
            ActivityIn("W11b", kind="note", occurred_at=ny(8, 3, 9, 30), lead="L11", user="bob"),
            ActivityIn("W11c", kind="email", occurred_at=ny(8, 3, 15), lead="L11", user="bob"),
        ]
        return b

    write_import(
        engine, bundle, label="ten-leads", contract_text=default_contract_text(), clock=clock
    )  # type: ignore[arg-type]
    source = from_store(database_url)
    try:
        got = handoffs(source, NOW).loc[["L11"]]
    finally:
        source.close()
    # First handoff: touched after 1 hour; the August email belongs to the second handoff.
    # Second: the note does not count, the email at 15:00 is 6 hours in (late), then accepted.
    assert utc(got.first_touch_at) == [ny(7, 27, 10), ny(8, 3, 15)]
    assert got.attempts.tolist() == [1, 1]
    assert got.outcome.tolist() == ["rejected", "accepted"]


def test_the_hand_worked_hours() -> None:
    clock = BusinessClock(CONTRACT.business_hours)
    hours = [
        clock.elapsed(mql, touch) / dt.timedelta(hours=1)
        for mql, touch in [
            (ny(7, 10, 15), ny(7, 13, 10)),  # L2, across the weekend
            (ny(7, 16, 8), ny(7, 16, 12, 30)),  # L5, before hours
            (ny(7, 17, 16, 30), ny(7, 20, 10, 30)),  # L6
        ]
    ]
    assert hours == [3.0, 3.5, 2.0]


def test_business_days_skip_weekends_and_holidays() -> None:
    clock = BusinessClock(CONTRACT.business_hours)  # 2026-12-25 is a holiday; EST is UTC-5
    z = dt.UTC
    opens, closes = clock.working_days(
        dt.datetime(2026, 12, 24, 12, tzinfo=z), dt.datetime(2026, 12, 29, 23, tzinfo=z)
    )
    # Thu 24th, then Christmas and the weekend are skipped: Mon 28th, Tue 29th.
    assert pd.DatetimeIndex(opens).tolist() == [
        pd.Timestamp(f"2026-12-{d} 14:00") for d in (24, 28, 29)
    ]
    assert pd.DatetimeIndex(closes).tolist() == [
        pd.Timestamp(f"2026-12-{d} 22:00") for d in (24, 28, 29)
    ]
    # Two business days after an MQL on the 24th: before closing, the 24th and the 28th;
    # after closing (18:00 local), day 1 is the 28th and the window ends on the 29th.
    table = attempt_windows(
        clock, 2, dt.datetime(2026, 12, 24, tzinfo=z), dt.datetime(2026, 12, 24, 1, tzinfo=z)
    )
    row = table.iloc[0]
    seconds = {
        d: int(pd.Timestamp(f"2026-12-{d} 22:00", tz="UTC").timestamp()) for d in (24, 28, 29, 30)
    }
    assert row.day == pd.Timestamp("2026-12-24", tz="UTC").timestamp() // 86_400
    assert (row.c1, row.c2) == (seconds[24], seconds[28])
    assert (row.w0, row.w1, row.w2) == (seconds[28], seconds[29], seconds[30])


def test_a_period_without_mqls(tables: Tables) -> None:
    q1 = Period.parse("2026-Q1", ZONE)
    report = sla_report(tables, CONTRACT, as_of=NOW, period=q1, by="rep")
    overall = report.sales.iloc[-1]
    assert len(report.sales) == 1 and overall.rep == OVERALL and overall.mqls == 0 and math.isnan(overall.within_rate)
    assert report.volume.mqls.tolist() == [0, 0, 0]
    assert report.acceptance.rate is None and report.acceptance.met is None
