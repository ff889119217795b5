"""Journeys from the store, on the small history of ``tests/fixtures/committee.py``: cut at each
outcome, gathered per account (the buying committee) or per person, with the lookback, the
period, the flags of the lead, opportunity and won touches, and the journeys that did not
convert; the same on SQLite, PostgreSQL and a DuckDB export.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from tests.fixtures import committee

from baton.analytics.attribution import MODELS, build_journeys
from baton.analytics.attribution.journeys import Journeys
from baton.analytics.attribution.store_journeys import NO_TOUCH
from baton.analytics.export import export_duckdb
from baton.analytics.period import Period
from baton.analytics.source import Tables, from_store, open_source
from baton.contract import default_contract_text, parse_contract
from baton.errors import InvalidInput
from baton.service.attribution import AttributionQuery, attribute

CONTRACT = parse_contract(default_contract_text())


@pytest.fixture
def store(engine: Engine, database_url: str, clock: object) -> Iterator[Tables]:
    committee.load(engine, clock)
    tables = from_store(database_url)
    yield tables
    tables.close()


def names(tables: Tables) -> dict[str, str]:
    """``"account 7"`` → ``"A1"``, ``"lead 3"`` → ``"B"``: subjects by their ids in the source."""
    out = {}
    for kind, table in (("account", tables.accounts), ("lead", tables.leads)):
        for row in table.select("id", "external_id").execute().itertuples(index=False):
            out[f"{kind} {row.id}"] = row.external_id
    return out


def readable(journeys: Journeys, tables: Tables) -> dict[str, dict[str, object]]:
    """Each journey by a readable id (``A1 #1``), with its numbers and its touches in order."""
    label = names(tables)

    def rename(journey_id: str) -> str:
        subject, _, rest = journey_id.rpartition(" #") if " #" in journey_id else (
            journey_id.removesuffix(" (open)"), "", "(open)"
        )  # fmt: skip
        return f"{label[subject]} {'#' + rest if rest != '(open)' else rest}"

    rows = journeys.journeys.execute(params=journeys.params)
    touches = journeys.touches.execute(params=journeys.params).sort_values(["journey_id", "step"])
    out: dict[str, dict[str, object]] = {}
    for row in rows.itertuples(index=False):
        mine = touches[touches["journey_id"] == row.journey_id]
        out[rename(row.journey_id)] = {
            "numbers": (int(row.n_steps), row.conversions, row.value, row.nulls),
            "channels": mine["channel"].tolist(),
            "steps": mine["step"].tolist(),
            "lead": mine.loc[mine["is_lead_touch"].astype(bool), "step"].tolist(),
            "opportunity": mine.loc[mine["is_opportunity_touch"].astype(bool), "step"].tolist(),
            "won": mine.loc[mine["is_won_touch"].astype(bool), "step"].tolist(),
        }
    return out


def test_account_journeys_gather_every_contact_of_the_account(store: Tables) -> None:
    got = readable(build_journeys(store, CONTRACT, "won", "account"), store)
    assert set(got) == {"A1 #1", "A1 (open)", "A2 #1", "A2 (open)", "A3 #1"}
    # N's T1 and T5 and B's T2 T3 T4, up to the win on 03-30; B's lead was created with T3,
    # the deal on 03-15 after T4, won after T5
    assert got["A1 #1"] == {
        "numbers": (5, 1.0, 1000.0, 0.0),
        "channels": ["events", "paid_search", "email", "direct", "email"],
        "steps": [1, 2, 3, 4, 5], "lead": [3], "opportunity": [4], "won": [5],
    }  # fmt: skip
    # after the win: a journey that did not convert (yet)
    assert got["A1 (open)"]["numbers"] == (1, 0.0, 0.0, 1.0)
    assert got["A1 (open)"]["channels"] == ["paid_social"]
    assert got["A1 (open)"]["lead"] == got["A1 (open)"]["won"] == []
    # the lost deal ends a journey that did not convert; L's lead (03-03) and deal (03-06)
    # came after T7, so T7 is the last touch before both
    assert got["A2 #1"] == {
        "numbers": (1, 0.0, 0.0, 1.0), "channels": ["referral"], "steps": [1],
        "lead": [1], "opportunity": [1], "won": [],
    }  # fmt: skip
    assert got["A2 (open)"]["channels"] == ["email"]
    # no touch at all: one touch of its own so the 500 is credited somewhere
    assert got["A3 #1"] == {
        "numbers": (1, 1.0, 500.0, 0.0), "channels": [NO_TOUCH], "steps": [1],
        "lead": [1], "opportunity": [1], "won": [1],
    }  # fmt: skip


def test_contact_journeys_keep_each_person_apart(store: Tables) -> None:
    got = readable(build_journeys(store, CONTRACT, "won", "contact"), store)
    assert set(got) == {"B #1", "B (open)", "N (open)", "L #1", "L (open)", "U #1"}
    assert got["B #1"] == {
        "numbers": (3, 1.0, 1000.0, 0.0), "channels": ["paid_search", "email", "direct"],
        "steps": [1, 2, 3], "lead": [2], "opportunity": [3], "won": [3],
    }  # fmt: skip
    # N never bought: his touches are a journey that did not convert
    assert got["N (open)"]["numbers"] == (2, 0.0, 0.0, 1.0)
    assert got["N (open)"]["channels"] == ["events", "email"]


def credit(journeys: Journeys, model: str) -> dict[str, tuple[float, float]]:
    frame = MODELS[model](journeys).execute()
    return {r.channel: (r.conversions, r.value) for r in frame.itertuples(index=False)}


def test_a_campaign_that_reached_only_a_non_buyer_gets_credit_at_account_level(
    store: Tables,
) -> None:
    account = credit(build_journeys(store, CONTRACT, "won", "account", by="campaign"), "w-shaped")
    # W-shaped on A1 #1 by campaign: Conference first 30%, Newsletter lead 30%, T4 (no
    # campaign) opportunity 30%, Search and the second Newsletter the middle 5% each; A3's 500
    # to "(no touch)"
    hand = {
        "Conference": (0.3, 300.0), "Search": (0.05, 50.0), "Newsletter": (0.35, 350.0),
        "unknown": (0.3, 300.0), NO_TOUCH: (1.0, 500.0), "Partners": (0.0, 0.0),
        "Social": (0.0, 0.0),
    }  # fmt: skip
    assert sorted(account) == sorted(hand)
    for campaign, numbers in hand.items():
        assert account[campaign] == pytest.approx(numbers, rel=1e-12), campaign
    contact = credit(build_journeys(store, CONTRACT, "won", "contact", by="campaign"), "w-shaped")
    # B's own journey: Search first, Newsletter lead, unknown opportunity: a third each
    assert contact["Conference"] == (0.0, 0.0)
    assert contact["Search"] == pytest.approx((1 / 3, 1000 / 3))


def test_the_lookback_keeps_touches_up_to_that_many_days_before_the_end(store: Tables) -> None:
    got = readable(build_journeys(store, CONTRACT, "won", "account", lookback_days=10), store)
    # A1 #1 ends 03-30 12:00: only T5 (03-25) is within 10 days; every event came before it,
    # so it is the touch nearest to each
    assert got["A1 #1"]["channels"] == ["email"]
    assert (got["A1 #1"]["lead"], got["A1 #1"]["opportunity"], got["A1 #1"]["won"]) == (
        [1], [1], [1]
    )  # fmt: skip
    # A2 #1 ends 03-12 12:00 and T7 is exactly 10 days before: kept
    assert got["A2 #1"]["channels"] == ["referral"]
    shorter = readable(build_journeys(store, CONTRACT, "won", "account", lookback_days=9), store)
    assert "A2 #1" not in shorter  # nothing left of a journey that did not convert


def test_first_time_outcomes_end_at_the_first_time(store: Tables) -> None:
    contact = readable(build_journeys(store, CONTRACT, "mql", "contact"), store)
    # B became an MQL on 03-11: T2 and T3; his later touches lead to no further MQL
    assert contact["B #1"]["channels"] == ["paid_search", "email"]
    assert "B (open)" not in contact
    assert contact["N (open)"]["numbers"] == (2, 0.0, 0.0, 1.0)
    assert contact["U #1"]["channels"] == [NO_TOUCH]
    account = readable(build_journeys(store, CONTRACT, "mql", "account"), store)
    # A1's first MQL is B's; its first lead was N's (03-05), created at T1
    assert account["A1 #1"]["channels"] == ["events", "paid_search", "email"]
    assert account["A1 #1"]["lead"] == [1]
    assert account["A1 #1"]["opportunity"] == []  # no deal before the MQL


def test_opportunity_journeys_are_worth_the_pipeline(store: Tables) -> None:
    got = readable(build_journeys(store, CONTRACT, "opportunity", "account"), store)
    assert got["A1 #1"]["numbers"] == (4, 1.0, 1000.0, 0.0)
    assert got["A2 #1"]["numbers"] == (1, 1.0, 2000.0, 0.0)
    assert got["A1 (open)"]["channels"] == ["email", "paid_social"]


def test_a_period_keeps_the_journeys_that_ended_in_it_as_known_at_its_end(store: Tables) -> None:
    march = Period.parse("2026-03", CONTRACT.business_hours.zone)
    got = readable(build_journeys(store, CONTRACT, "won", "account", period=march), store)
    # T6 (04-10) is after March: A1 has nothing after its win yet
    assert set(got) == {"A1 #1", "A2 #1", "A2 (open)", "A3 #1"}
    april = Period.parse("2026-04", CONTRACT.business_hours.zone)
    got = readable(build_journeys(store, CONTRACT, "won", "account", period=april), store)
    assert set(got) == {"A1 (open)"}


def test_unknown_choices_are_refused(store: Tables) -> None:
    with pytest.raises(
        InvalidInput, match='--outcome "opportunities" is not known; did you mean "opportunity"'
    ):
        build_journeys(store, CONTRACT, "opportunities", "account")
    with pytest.raises(InvalidInput, match="--level"):
        build_journeys(store, CONTRACT, "won", "company")


def test_the_journeys_are_the_same_on_a_duckdb_export(store: Tables, tmp_path: Path) -> None:
    export_duckdb(store, tmp_path / "baton.duckdb")
    duck = open_source(str(tmp_path / "baton.duckdb"), "sqlite:///unused.db")
    try:
        for outcome, level, by in (("won", "account", "campaign"), ("mql", "contact", "channel")):
            a = build_journeys(store, CONTRACT, outcome, level, by=by)
            b = build_journeys(duck, CONTRACT, outcome, level, by=by)
            assert readable(a, store) == readable(b, duck), (outcome, level)
            query = AttributionQuery(tuple(MODELS), outcome=outcome, level=level, by=by)
            left, right = attribute(store, CONTRACT, query), attribute(duck, CONTRACT, query)
            pd.testing.assert_frame_equal(
                left.credit.sort_values(["model", "channel"]).reset_index(drop=True),
                right.credit.sort_values(["model", "channel"]).reset_index(drop=True),
                rtol=1e-12,
            )
    finally:
        duck.close()
