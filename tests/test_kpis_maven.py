"""Acceptance: on the Maven CRM data, the deal KPIs per sales agent equal a pandas recomputation.

The expected numbers come from the raw ``sales_pipeline.csv`` with plain pandas; Baton's come
from the analytics KPI expressions (by owner) over what the maven-crm preset stored.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from baton.analytics.kpis import OVERALL, kpi_table
from baton.analytics.period import Period
from baton.analytics.source import from_store
from baton.contract import default_contract_text, parse_contract
from baton.service.imports import run_import

pytestmark = pytest.mark.shared_data


def test_win_rate_deal_size_and_cycle_per_agent_match_pandas(
    engine: Engine, database_url: str, shared_data: Path, clock: object
) -> None:
    folder = shared_data / "maven-crm-sales-opportunities"
    text = default_contract_text()
    run_import(engine, "maven-crm", [folder], contract_text=text, clock=clock)  # type: ignore[arg-type]
    contract = parse_contract(text)
    # every Maven deal closed in 2017 (March to December)
    period = Period.parse("2017", contract.business_hours.zone)
    tables = from_store(database_url)
    try:
        board = kpi_table(tables, contract, period, by="owner").to_pandas()
    finally:
        tables.close()
    ours = board.pivot(index="group", columns="kpi", values="value")

    raw = pd.read_csv(folder / "sales_pipeline.csv", parse_dates=["engage_date", "close_date"])
    closed = raw[raw["deal_stage"].isin(["Won", "Lost"])]
    won = closed[closed["deal_stage"] == "Won"]
    expected = pd.DataFrame({
        "win_rate": closed["deal_stage"].eq("Won").groupby(closed["sales_agent"]).mean(),
        "average_deal_size": won.groupby("sales_agent")["close_value"].mean(),
        "sales_cycle_days": (won["close_date"] - won["engage_date"])
        .dt.days.groupby(won["sales_agent"])
        .mean(),
    })
    expected.loc[OVERALL] = [
        closed["deal_stage"].eq("Won").mean(),
        won["close_value"].mean(),
        (won["close_date"] - won["engage_date"]).dt.days.mean(),
    ]

    assert len(expected) == 31  # 30 agents and the total
    assert set(ours.index) == set(expected.index)
    for agent, numbers in expected.iterrows():
        got = ours.loc[agent, list(expected.columns)].astype(float).tolist()
        assert got == pytest.approx(numbers.tolist(), rel=1e-9), agent
