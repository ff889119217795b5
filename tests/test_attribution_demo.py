"""Attribution on the demo's simulated funnel (1,500 leads, seed 7): account-level journeys hold
the touches of several contacts of an account, a campaign that reached only a contact who did
not buy still gets credit, the builder agrees with a plain recomputation in pandas, and the
numbers are the same on SQLite, PostgreSQL and DuckDB.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

import duckdb
import ibis
import pandas as pd
import pytest
from sqlalchemy import Engine

from baton.analytics.attribution import MODELS, Journeys, build_journeys
from baton.analytics.attribution.store_journeys import NO_TOUCH
from baton.analytics.period import Period
from baton.analytics.source import Tables, from_backend, from_store
from baton.contract import default_contract_text, parse_contract
from baton.demo import run_demo
from baton.demo.columns import simulate_columns
from baton.service.attribution import AttributionQuery, attribute

CONTRACT = parse_contract(default_contract_text())
END = dt.date(2026, 11, 1)
LOOKBACK = dt.timedelta(days=90)


@pytest.fixture
def demo(engine: Engine, database_url: str, clock: object) -> Iterator[Tables]:
    run_demo(
        engine, contract_text=default_contract_text(), clock=clock, seed=7, leads=1500, end=END
    )  # type: ignore[arg-type]
    tables = from_store(database_url)
    yield tables
    tables.close()


def frame(table: ibis.Table) -> pd.DataFrame:
    out = table.execute()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def by_hand(tables: Tables) -> tuple[dict[str, float], list[dict[str, object]]]:
    """Linear credit of won deals by campaign at account level, recomputed in pandas.

    Each account's closed deals (won or lost) in time order cut its touches: a won deal gets
    the touches after the previous closed deal, up to its close, at most 90 days before it.
    Returns the value credited to each campaign, and each won journey's touches.
    """
    leads = frame(tables.leads.select("id", "account_id")).set_index("id")
    touches = frame(
        tables.touchpoints.select("id", "lead_id", "account_id", "campaign_id", "occurred_at")
    )
    names = frame(tables.campaigns.select("id", "name")).set_index("id")["name"]
    deals = frame(
        tables.opportunities.select("id", "lead_id", "account_id", "stage", "amount", "closed_at")
    )
    deals = deals[deals["stage"].isin(["won", "lost"]) & deals["closed_at"].notna()]
    touches["account"] = touches["account_id"].fillna(touches["lead_id"].map(leads["account_id"]))
    touches["campaign"] = touches["campaign_id"].map(names).fillna("unknown")
    credit: dict[str, float] = defaultdict(float)
    journeys = []
    for account, closed in deals.sort_values("closed_at").groupby("account_id"):
        mine = touches[touches["account"] == account].sort_values(["occurred_at", "id"])
        previous = pd.Timestamp.min
        for deal in closed.itertuples(index=False):
            inside = mine[
                (mine["occurred_at"] > previous)
                & (mine["occurred_at"] <= deal.closed_at)
                & (mine["occurred_at"] >= deal.closed_at - LOOKBACK)
            ]
            previous = deal.closed_at
            if deal.stage != "won":
                continue
            journeys.append({"buyer": deal.lead_id, "touches": inside})
            if inside.empty:
                credit[NO_TOUCH] += float(deal.amount)
            for campaign in inside["campaign"]:
                credit[campaign] += float(deal.amount) / len(inside)
    return dict(credit), journeys


def test_account_journeys_credit_the_whole_buying_committee(demo: Tables) -> None:
    hand, journeys = by_hand(demo)
    journeys_with_others = [j for j in journeys if (j["touches"]["lead_id"] != j["buyer"]).any()]
    # the demo's accounts buy as committees: many won journeys hold other contacts' touches
    assert len(journeys_with_others) >= 5
    assert any(j["touches"]["lead_id"].nunique() >= 3 for j in journeys)

    account = build_journeys(demo, CONTRACT, "won", "account", by="campaign")
    got = MODELS["linear"](account).execute().set_index("channel")["value"]
    # the builder and the models agree with the plain recomputation, campaign by campaign
    assert set(got[got > 0].index) == {c for c, v in hand.items() if v > 0}
    for campaign, value in hand.items():
        assert got[campaign] == pytest.approx(value, rel=1e-9), campaign

    # a campaign whose touches in won journeys all fell on contacts who were not the buyer:
    # credited at account level, nothing at contact level
    buyers_campaigns = set()
    others_campaigns = set()
    for j in journeys:
        t = j["touches"]
        buyers_campaigns |= set(t.loc[t["lead_id"] == j["buyer"], "campaign"])
        others_campaigns |= set(t.loc[t["lead_id"] != j["buyer"], "campaign"])
    only_others = sorted(others_campaigns - buyers_campaigns - {"unknown"})
    assert only_others, "the demo should have a campaign that reached only non-buyers"
    contact = build_journeys(demo, CONTRACT, "won", "contact", by="campaign")
    at_contact = MODELS["linear"](contact).execute().set_index("channel")["value"]
    for campaign in only_others:
        assert got[campaign] > 0, campaign
        assert at_contact.get(campaign, 0.0) == 0.0, campaign


def test_every_engine_gives_the_same_credit(demo: Tables) -> None:
    # the columnar simulation gives the store's tables on DuckDB without going through it
    columns = simulate_columns(CONTRACT, seed=7, leads=1500, end=END)
    con = duckdb.connect()
    for name, table in columns.items():
        con.from_arrow(table).create(name)
    duck = from_backend(ibis.duckdb.from_connection(con))
    try:
        for outcome, level, by in (("won", "account", "campaign"), ("sql", "contact", "channel")):
            query = AttributionQuery(tuple(MODELS), outcome=outcome, level=level, by=by)
            store, ours = attribute(demo, CONTRACT, query), attribute(duck, CONTRACT, query)
            assert store.reconciliation["reconciled"].all()
            assert store.totals == ours.totals
            pd.testing.assert_frame_equal(
                store.credit.sort_values(["model", "channel"]).reset_index(drop=True),
                ours.credit.sort_values(["model", "channel"]).reset_index(drop=True),
                rtol=1e-9,
            )
    finally:
        duck.close()


def _readable(journeys: Journeys) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Journeys and touches as sorted rows (the period's bounds given as they are run)."""
    ends = journeys.journeys.execute(params=journeys.params)
    touches = journeys.touches.execute(params=journeys.params)
    return (
        sorted(ends[["journey_id", "n_steps", "conversions", "value", "nulls"]].itertuples(
            index=False, name=None
        )),
        sorted(touches[[
            "journey_id", "step", "channel", "touch_id", "is_lead_touch", "is_opportunity_touch",
            "is_won_touch",
        ]].astype(object).where(touches.notna(), None).itertuples(index=False, name=None)),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "level"), [("won", "account"), ("mql", "contact"), ("opportunity", "contact")]
)
def test_a_periods_journeys_are_everyones_up_to_its_end_that_ended_in_it(
    demo: Tables, outcome: str, level: str
) -> None:
    # a period's journeys are cut from the touches and events of the subjects active in it
    # only: the same journeys as cutting everyone's up to its end and keeping those that
    # ended in it
    zone = CONTRACT.business_hours.zone
    for text in ("2026-Q3", "2026-W40"):
        period = Period.parse(text, zone)
        since = Period("since 2000", dt.date(2000, 1, 1), period.end, zone)
        got = _readable(build_journeys(demo, CONTRACT, outcome, level, period=period))
        journeys = build_journeys(demo, CONTRACT, outcome, level, period=since)
        ends = journeys.journeys.execute(params=journeys.params)
        start = pd.Timestamp(period.bounds()[0])
        ended = set(ends.loc[utc_naive(ends["ended_at"]) >= start, "journey_id"])
        everyone = _readable(journeys)
        expected = (
            [row for row in everyone[0] if row[0] in ended],
            [row for row in everyone[1] if row[0] in ended],
        )
        assert got == expected, text
        assert got[0], f"no {outcome} journey ended in {text}"


def utc_naive(values: pd.Series) -> pd.Series:
    """Times from any backend as naive UTC."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None)
