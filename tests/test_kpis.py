"""The shared KPIs on the ten-lead history (tests/fixtures/ten_leads.py), worked out by hand.

Period 2026-Q3 in New York: 2026-07-01T04:00Z to 2026-10-01T04:00Z. Every expected number
below is derived from the fixture's table in comments; nothing is computed by Baton's code.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import ibis
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine
from tests.fixtures import ten_leads

from baton.analytics.kpis import OVERALL, UNKNOWN, Scope, kpi_table
from baton.analytics.kpis.marketing import marketing_pipeline
from baton.analytics.period import Period
from baton.analytics.source import Tables, from_parquet, from_store
from baton.contract import default_contract_text, parse_contract
from baton.errors import InvalidInput
from baton.ingest.records import AccountIn, ImportBundle, OpportunityIn, SpendIn, StageStep
from baton.service.imports import write_import

CONTRACT = parse_contract(default_contract_text())
Q3 = Period.parse("2026-Q3", CONTRACT.business_hours.zone)

# Monthly spend of the ten-lead company: (channel, campaign, month, amount).
SPEND = [
    ("paid_search", "C-paid_search", dt.date(2026, 6, 1), "500"),  # before Q3
    ("paid_search", "C-paid_search", dt.date(2026, 7, 1), "1000"),
    ("paid_search", "C-paid_search", dt.date(2026, 8, 1), "1000"),
    ("paid_search", "C-paid_search", dt.date(2026, 9, 1), "1000"),
    ("paid_search", "C-paid_search", dt.date(2026, 10, 1), "700"),  # after Q3
    ("events", "C-events", dt.date(2026, 7, 1), "2000"),
    ("events", "C-events", dt.date(2026, 8, 1), "2000"),
    ("events", "C-events", dt.date(2026, 9, 1), "2000"),
    ("organic_search", None, dt.date(2026, 8, 1), "1000"),
    ("paid_social", None, dt.date(2026, 9, 1), "500"),  # spend, and no customer
]


def spend_bundle(contract: object) -> ImportBundle:
    bundle = ImportBundle(source=ten_leads.SOURCE)
    bundle.spend = [
        SpendIn(f"{month:%Y-%m}:{channel}", channel=channel, month=month, amount=Decimal(amount),
                campaign=campaign, currency="USD")
        for channel, campaign, month, amount in SPEND
    ]
    return bundle


def load(engine: Engine, clock: object) -> None:
    ten_leads.load(engine, clock)
    write_import(engine, spend_bundle, label="spend", contract_text=default_contract_text(),
                 clock=clock)  # type: ignore[arg-type]


Board = dict[tuple[str, str], tuple[object, ...]]


def scoreboard(url: str, by: str | None = None, period: Period = Q3) -> Board:
    """``(kpi, group) → (value, numerator, denominator, note)``, NaN as None, rounded."""
    tables = from_store(url)
    try:
        frame = kpi_table(tables, CONTRACT, period, by).to_pandas()
    finally:
        tables.close()
    return rows(frame)


def rows(frame: pd.DataFrame) -> Board:
    def clean(v: object) -> object:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return round(v, 6) if isinstance(v, float) else v

    out = {}
    for r in frame.itertuples(index=False):
        key = (r.kpi, r.group)
        assert key not in out, f"{key} twice"
        out[key] = tuple(clean(v) for v in (r.value, r.numerator, r.denominator, r.note))
    return out


def values(board: Board, kpi: str) -> dict[str, object]:
    return {group: v[0] for (k, group), v in board.items() if k == kpi}


def approx(mapping: dict[str, float | None]) -> dict[str, object]:
    return {k: None if v is None else pytest.approx(v, rel=1e-6) for k, v in mapping.items()}


# -- overall --------------------------------------------------------------------------------
def test_every_kpi_overall(engine: Engine, database_url: str, clock: object) -> None:
    load(engine, clock)
    board = scoreboard(database_url)
    expected = {
        # leads created in Q3: L1..L9 (L10 was created in June) = 9; customers now: L1, L5
        "lead_conversion": (2 / 9, 2, 9),
        # reached MQL (or later) in Q3: L1 L2 L3 L4 L5 L6 L8 = 7 (L10's MQL was in June);
        # of them reached SQL: L1 L2 L5 L6 = 4
        "mql_to_sql": (4 / 7, 4, 7),
        # reached SQL in Q3: L1 L2 L5 L6; all four reached the opportunity stage
        "sql_to_opportunity": (4 / 4, 4, 4),
        # closed in Q3: O1 won 08-14, O2 lost 09-01, O3 won 09-10, O5 won 07-30 → 3 of 4
        "win_rate": (3 / 4, 3, 4),
        # won in Q3: 10,000 + 30,000 + 5,000 = 45,000 over 3 deals
        "average_deal_size": (15_000, 45_000, 3),
        # cycles: O1 07-10→08-14 = 35 d, O3 07-20→09-10 = 52 d, O5 06-25→07-30 = 35 d
        "sales_cycle_days": (122 / 3, 122, 3),
        # sorted 35, 35, 52 → 35
        "sales_cycle_median_days": (35, None, 3),
        # open at Q3's end: O4 only; 1 * 0.75 * 15,000 ÷ (122/3) = 11,250 * 3 / 122
        "pipeline_velocity": (11_250 * 3 / 122, None, None),
        # spend in Jul-Sep: 3,000 + 6,000 + 1,000 + 500 = 10,500; new customers in Q3:
        # A1 (L1 08-14), A2 (L5 09-10), A4 (L10 07-30) = 3 → 3,500
        "cac": (3_500, 10_500, 3),
        # created in Q3: O1 10k, O2 20k, O3 30k, O4 15k; every first touch is marketing
        "marketing_sourced_pipeline": (75_000, 75_000, 75_000),
        # won in Q3: O1 10k, O3 30k, O5 5k (L10's first touch organic_search)
        "marketing_sourced_revenue": (45_000, 45_000, 45_000),
        "marketing_influenced_pipeline": (75_000, 75_000, 75_000),
        "marketing_influenced_revenue": (45_000, 45_000, 45_000),
    }
    for kpi, (value, numerator, denominator) in expected.items():
        got = board[kpi, OVERALL]
        assert got[:3] == (
            pytest.approx(value),
            None if numerator is None else pytest.approx(numerator),
            None if denominator is None else pytest.approx(denominator),
        ), kpi
        assert got[3] is None, kpi
    # no account won twice, so there is no renewal: retention is null, with the reason
    for kpi in ("logo_retention", "net_revenue_retention"):
        assert board[kpi, OVERALL][0] is None
        assert "no renewals recorded" in str(board[kpi, OVERALL][3])
    assert {k for k, _ in board} == set(expected) | {"logo_retention", "net_revenue_retention"}


# -- by channel -----------------------------------------------------------------------------
def test_by_channel(engine: Engine, database_url: str, clock: object) -> None:
    load(engine, clock)
    board = scoreboard(database_url, "channel")
    # created in Q3 per channel: paid L1 L2 L9 (L1 customer), organic L3 L4, events L5 L6
    # (L5 customer), direct L7 L8
    assert values(board, "lead_conversion") == approx({
        OVERALL: 2 / 9, "paid_search": 1 / 3, "organic_search": 0, "events": 1 / 2, "direct": 0,
    })
    # MQL cohort: paid L1 L2 → both SQL; organic L3 L4 → none; events L5 L6 → both; direct L8
    assert values(board, "mql_to_sql") == approx({
        OVERALL: 4 / 7, "paid_search": 1, "organic_search": 0, "events": 1, "direct": 0,
    })
    # SQL cohort: paid L1 L2, events L5 L6, all became opportunities; organic and direct none
    assert values(board, "sql_to_opportunity") == approx({
        OVERALL: 1, "paid_search": 1, "events": 1, "organic_search": None, "direct": None,
    })
    assert board["sql_to_opportunity", "direct"][3] == "no lead reached the SQL stage in the period"
    # deals by their lead's channel: paid O1 won + O2 lost; events O3 won (+ O4 open);
    # organic O5 won
    assert values(board, "win_rate") == approx(
        {OVERALL: 3 / 4, "paid_search": 1 / 2, "events": 1, "organic_search": 1}
    )
    assert values(board, "average_deal_size") == approx(
        {OVERALL: 15_000, "paid_search": 10_000, "events": 30_000, "organic_search": 5_000}
    )
    assert values(board, "sales_cycle_days") == approx(
        {OVERALL: 122 / 3, "paid_search": 35, "events": 52, "organic_search": 35}
    )
    assert values(board, "sales_cycle_median_days") == approx(
        {OVERALL: 35, "paid_search": 35, "events": 52, "organic_search": 35}
    )
    # velocity: events 1 open (O4) * 1 * 30,000 ÷ 52; the others have no open deal
    assert values(board, "pipeline_velocity") == approx({
        OVERALL: 11_250 * 3 / 122, "paid_search": 0, "events": 30_000 / 52, "organic_search": 0,
    })
    # CAC: paid 3,000 ÷ 1 (A1), events 6,000 ÷ 1 (A2), organic 1,000 ÷ 1 (A4);
    # paid_social 500 of spend and no customer → null, with the reason
    assert values(board, "cac") == approx({
        OVERALL: 3_500, "paid_search": 3_000, "events": 6_000, "organic_search": 1_000,
        "paid_social": None,
    })
    assert board["cac", "paid_social"][1:3] == (500, 0)
    assert "no new customer" in str(board["cac", "paid_social"][3])
    # created in Q3: paid O1 + O2 = 30,000, events O3 + O4 = 45,000; organic created none
    assert values(board, "marketing_sourced_pipeline") == approx(
        {OVERALL: 75_000, "paid_search": 30_000, "events": 45_000, "organic_search": 0}
    )
    assert values(board, "marketing_influenced_revenue") == approx(
        {OVERALL: 45_000, "paid_search": 10_000, "events": 30_000, "organic_search": 5_000}
    )
    assert ("logo_retention", "paid_search") not in board  # retention is overall only


# -- by owner and team ----------------------------------------------------------------------
def test_by_owner_and_by_team(engine: Engine, database_url: str, clock: object) -> None:
    load(engine, clock)
    for by, ann, bob in (("owner", "Ann", "Bob"), ("team", "East", "West")):
        board = scoreboard(database_url, by)
        # leads of Ann (east): L1 L3 L4 L6 (+ L10, June); of Bob (west): L2 L5 L8;
        # no owner: L7 L9
        assert values(board, "lead_conversion") == approx(
            {OVERALL: 2 / 9, ann: 1 / 4, bob: 1 / 3, UNKNOWN: 0}
        )
        # MQLs: Ann L1 L3 L4 L6 → SQL L1 L6; Bob L2 L5 L8 → SQL L2 L5; unknown has none
        assert values(board, "mql_to_sql") == approx(
            {OVERALL: 4 / 7, ann: 2 / 4, bob: 2 / 3, UNKNOWN: None}
        )
        # deals: Ann O1 won 10k (35 d), O5 won 5k (35 d), O4 open; Bob O2 lost, O3 won 30k (52 d)
        assert values(board, "win_rate") == approx({OVERALL: 3 / 4, ann: 1, bob: 1 / 2})
        assert values(board, "average_deal_size") == approx(
            {OVERALL: 15_000, ann: 7_500, bob: 30_000}
        )
        assert values(board, "sales_cycle_days") == approx({OVERALL: 122 / 3, ann: 35, bob: 52})
        # Ann: 1 open * 1 * 7,500 ÷ 35; Bob: nothing open
        assert values(board, "pipeline_velocity") == approx(
            {OVERALL: 11_250 * 3 / 122, ann: 7_500 / 35, bob: 0}
        )
        # pipeline created in Q3: Ann O1 + O4 = 25k, Bob O2 + O3 = 50k
        assert values(board, "marketing_sourced_pipeline") == approx(
            {OVERALL: 75_000, ann: 25_000, bob: 50_000}
        )
        # spend has no owner: the blended CAC only
        assert values(board, "cac") == approx({OVERALL: 3_500})


# -- the marketing channel list ------------------------------------------------------------
def test_sourced_and_influenced_follow_the_channel_list(
    engine: Engine, database_url: str, clock: object
) -> None:
    load(engine, clock)
    tables = from_store(database_url)
    try:
        parts = marketing_pipeline(
            tables, CONTRACT, Scope.of(Q3), not_marketing=frozenset({"paid_search", "direct"})
        )
        board = rows(ibis.union(*parts).to_pandas())
    finally:
        tables.close()
    # with paid search not marketing, O1 and O2 (L1, L2 first touched by paid search) are not
    # sourced: sourced pipeline O3 + O4 = 45,000 of 75,000; sourced revenue O3 + O5 = 35,000
    assert board["marketing_sourced_pipeline", OVERALL][:3] == (45_000, 45_000, 75_000)
    assert board["marketing_sourced_revenue", OVERALL][:3] == (35_000, 35_000, 45_000)
    # but O1 was influenced: L1's events touch on 07-09 came before O1 on 07-10; and O2
    # (only paid-search touches on L2) through its account Acme, where L1's events touch
    # came before O2 on 07-15. So all four deals created in Q3 are influenced.
    assert board["marketing_influenced_pipeline", OVERALL][:3] == (75_000, 75_000, 75_000)
    assert board["marketing_influenced_revenue", OVERALL][:3] == (45_000, 45_000, 45_000)


# -- periods --------------------------------------------------------------------------------
def test_a_week_has_no_cac_and_a_bad_breakdown_is_refused(
    sqlite_engine: Engine, clock: object
) -> None:
    load(sqlite_engine, clock)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    # ISO week 33 of 2026 holds O1's win (Fri 08-14): win rate 1 of 1
    board = scoreboard(url, period=Period.parse("2026-W33", CONTRACT.business_hours.zone))
    assert board["win_rate", OVERALL][:3] == (1, 1, 1)
    assert board["cac", OVERALL][0] is None
    assert "per month" in str(board["cac", OVERALL][3])
    with pytest.raises(InvalidInput, match='"chanel" is not a breakdown; did you mean "channel"'):
        scoreboard(url, by="chanel")


# -- retention, where renewals exist -------------------------------------------------------
def won(key: str, account: str, closed: dt.datetime, amount: int) -> OpportunityIn:
    return OpportunityIn(
        key, stage="won", account=account, amount=Decimal(amount), created_at=closed,
        closed_at=closed, history=[StageStep("won", closed)],
    )


def renewals_bundle(contract: object) -> ImportBundle:
    at = lambda y, m, d: dt.datetime(y, m, d, 12, tzinfo=dt.UTC)  # noqa: E731
    bundle = ImportBundle(source="renewals")
    bundle.accounts = [AccountIn(f"R{n}", f"Account {n}") for n in range(1, 5)]
    bundle.opportunities = [
        won("R1-a", "R1", at(2025, 9, 15), 10_000),
        won("R1-b", "R1", at(2026, 9, 10), 12_000),  # a renewal, in Q3
        won("R2-a", "R2", at(2025, 8, 1), 20_000),  # never renewed
        won("R3-a", "R3", at(2026, 2, 1), 5_000),
        won("R4-a", "R4", at(2026, 8, 1), 8_000),  # a new customer in Q3
        OpportunityIn("R2-lost", stage="lost", account="R2", amount=Decimal(9_000),
                      created_at=at(2026, 7, 1), closed_at=at(2026, 8, 1),
                      history=[StageStep("lost", at(2026, 8, 1), reason="price")]),
    ]
    return bundle


def test_retention_where_renewals_exist(engine: Engine, database_url: str, clock: object) -> None:
    write_import(engine, renewals_bundle, label="renewals", contract_text=default_contract_text(),
                 clock=clock)  # type: ignore[arg-type]
    board = scoreboard(database_url)
    # customers at Q3's start (a win in 2025-07-01..2026-06-30): R1 (2025-09-15), R2
    # (2025-08-01), R3 (2026-02-01) = 3. At Q3's end (a win in 2025-10-01..2026-09-30):
    # R1 (renewed 2026-09-10) and R3 (2026-02-01); R2's only win is too old. R4 is new.
    assert board["logo_retention", OVERALL] == (pytest.approx(2 / 3), 2, 3, None)
    # revenue at the end: R1 12,000 + R2 0 + R3 5,000 = 17,000;
    # at the start: R1 10,000 + R2 20,000 + R3 5,000 = 35,000
    assert board["net_revenue_retention", OVERALL] == (
        pytest.approx(17_000 / 35_000), 17_000, 35_000, None
    )


# -- engines --------------------------------------------------------------------------------
def test_duckdb_on_parquet_gives_the_same_numbers(
    sqlite_engine: Engine, clock: object, tmp_path: Path
) -> None:
    load(sqlite_engine, clock)
    source = from_store(sqlite_engine.url.render_as_string(hide_password=False))
    try:
        for name in Tables.names():
            table = getattr(source, name)
            # free-form JSON properties do not go to Arrow as they are, and no KPI reads them
            narrow = table.drop("properties") if "properties" in table.columns else table
            pq.write_table(narrow.to_pyarrow(), tmp_path / f"{name}.parquet")
        copied = from_parquet(tmp_path)
        for by in (None, "channel", "owner"):
            expected = rows(kpi_table(source, CONTRACT, Q3, by).to_pandas())
            assert rows(kpi_table(copied, CONTRACT, Q3, by).to_pandas()) == expected, by
        copied.close()
    finally:
        source.close()
