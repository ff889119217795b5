"""Acceptance: Baton's funnel on the real Olist data equals a plain pandas recomputation.

Definition both sides use. Every row of the MQL file is a lead that entered the MQL stage at
its ``first_contact_date`` (a date: midnight UTC, the import's default zone); its channel is
its ``origin``, with an empty origin counted as ``unknown`` (as the importer does, and the same
label as Olist's own ``unknown`` origin). A lead is won when the closed-deals file has its
``mql_id``; it entered the customer stage at the deal's ``won_date``. MQL → won conversion =
won leads ÷ MQLs, overall and per origin. The time from first contact to won is
``won_date - first_contact_date`` in whole seconds, shown in days; the median is the middle
value, or the mean of the two middle values (pandas' ``median``, Baton's linear interpolation).

The one clamped deal: one deal in the file is won before its MQL's first contact date. The
importer keeps the deal's real ``won_date`` on the opportunity but dates the lead's customer
step at the first contact (a history runs forward in time), so in Baton's stage log that lead
took 0 days. The pandas recomputation applies the same rule (a negative time counts as 0);
the test also shows the rule cannot move the median, since the clamped time is the smallest
either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from baton.analytics.funnel import OVERALL
from baton.analytics.source import Tables, from_store
from baton.contract import default_contract_text, parse_contract
from baton.service.funnel import funnel_report
from baton.service.imports import run_import

pytestmark = pytest.mark.shared_data

CONTRACT = parse_contract(default_contract_text())
MQL_TO_WON = [CONTRACT.mql_stage.key, CONTRACT.won_stage.key]


@pytest.fixture(scope="module")
def olist(shared_data: Path) -> Path:
    return shared_data / "olist-marketing-funnel"


@pytest.fixture(scope="module")
def recomputed(olist: Path) -> pd.DataFrame:
    """Per origin and overall, from the raw CSV files with plain pandas: MQLs, won, conversion,
    median days from first contact to won (negative times as 0, see the module docstring)."""
    mqls = pd.read_csv(olist / "olist_marketing_qualified_leads_dataset.csv", dtype=str, keep_default_na=False)
    deals = pd.read_csv(olist / "olist_closed_deals_dataset.csv", dtype=str, keep_default_na=False)
    leads = mqls.assign(origin=mqls.origin.str.strip().replace("", "unknown")).merge(
        deals[["mql_id", "won_date"]], on="mql_id", how="left", validate="one_to_one"
    )
    leads["won"] = leads.won_date.notna()
    waited = pd.to_datetime(leads.won_date) - pd.to_datetime(leads.first_contact_date)
    leads["seconds"] = waited.dt.total_seconds().clip(lower=0)
    everyone = leads.assign(origin=OVERALL)
    both = pd.concat([leads, everyone])
    summary = both.groupby("origin").agg(
        mqls=("mql_id", "size"), won=("won", "sum"), median_seconds=("seconds", "median")
    )
    summary["conversion"] = summary.won / summary.mqls
    summary["median_days"] = summary.median_seconds / 86400
    return summary


@pytest.fixture
def tables(engine: Engine, database_url: str, olist: Path, clock: object) -> Iterator[Tables]:
    run_import(engine, "olist", [olist], contract_text=default_contract_text(), clock=clock)  # type: ignore[arg-type]
    source = from_store(database_url)
    yield source
    source.close()


def test_mql_to_won_overall_and_by_origin_equal_pandas(tables: Tables, recomputed: pd.DataFrame) -> None:
    frame = funnel_report(tables, CONTRACT, by="channel", stages=MQL_TO_WON).set_index("channel")
    assert sorted(frame.index) == sorted(recomputed.index)
    assert (frame.stage == "mql").all() and (frame.next_stage == "customer").all()
    assert frame.entered.to_dict() == recomputed.mqls.to_dict()
    assert frame.converted.to_dict() == recomputed.won.to_dict()
    # identical floats: both are one division of the same two integers
    assert frame.conversion.to_dict() == recomputed.conversion.to_dict()
    # every won lead entered the MQL stage itself, so every one is timed
    assert frame.timed.to_dict() == recomputed.won.to_dict()
    medians = frame.median_days.dropna().to_dict()
    assert medians == recomputed.median_days.dropna().to_dict()
    # the raw files as published: 8,000 MQLs, 842 won
    assert (frame.loc[OVERALL, "entered"], frame.loc[OVERALL, "converted"]) == (8000, 842)


def test_the_clamped_deal_cannot_move_the_median(olist: Path, recomputed: pd.DataFrame) -> None:
    mqls = pd.read_csv(olist / "olist_marketing_qualified_leads_dataset.csv", dtype=str)
    deals = pd.read_csv(olist / "olist_closed_deals_dataset.csv", dtype=str).merge(mqls, on="mql_id")
    seconds = (pd.to_datetime(deals.won_date) - pd.to_datetime(deals.first_contact_date)).dt.total_seconds()
    assert (seconds < 0).sum() == 1
    assert seconds.median() / 86400 == recomputed.loc[OVERALL, "median_days"]


def test_the_whole_olist_funnel_counts_skipped_stages_without_timing_them(tables: Tables) -> None:
    # Olist leads go straight from mql to customer: sql and opportunity are passed, not
    # entered, so those pairs convert fully with nothing timed; mql → sql carries the wait.
    frame = funnel_report(tables, CONTRACT).set_index("stage")
    assert frame.entered.tolist() == [8000, 8000, 8000, 842, 842]
    assert frame.converted.tolist() == [8000, 8000, 842, 842, 842]
    assert frame.timed.tolist() == [0, 0, 842, 0, 0]
    whole = funnel_report(tables, CONTRACT, stages=MQL_TO_WON)
    assert frame.loc["mql", "median_days"] == whole.median_days.item()
