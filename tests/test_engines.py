"""The full scoreboard gives the same numbers on every engine: the store's SQLite or PostgreSQL,
a DuckDB file and a Parquet folder exported from it, for every section (funnel, KPIs, SLA,
goals).

Each test loads a history into the store (SQLite, and PostgreSQL when configured), exports it
with ``baton export``, computes :func:`full_scoreboard` on the three sources and compares:
counts exactly, rates to a relative 1e-9.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from tests.fixtures import ten_leads
from tests.fixtures.frames import assert_same

from baton.analytics.export import export_duckdb, export_parquet
from baton.analytics.funnel import OVERALL
from baton.analytics.period import Period
from baton.analytics.source import from_backend, open_source
from baton.contract import Contract, default_contract_text, parse_contract
from baton.demo import run_demo
from baton.demo.columns import simulate_columns
from baton.service.full_scoreboard import full_scoreboard

END = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def contract() -> Contract:
    return parse_contract(default_contract_text())


def quarter(contract: Contract) -> Period:
    """The quarter both histories fall in (the demo's window ends 2026-10-31)."""
    return Period.parse("2026-Q3", contract.business_hours.zone)


def on_every_engine(
    database_url: str, contract: Contract, tmp_path: Path
) -> dict[str, dict[str, pd.DataFrame]]:
    """The scoreboard on the store, and on its DuckDB and Parquet exports."""
    store = open_source("store", database_url)
    try:
        export_parquet(store, tmp_path / "parquet", batch_rows=1000)
        export_duckdb(store, tmp_path / "baton.duckdb", batch_rows=1000)
        boards = {"store": full_scoreboard(store, contract, quarter(contract))}
    finally:
        store.close()
    for spec in (tmp_path / "parquet", tmp_path / "baton.duckdb"):
        tables = open_source(str(spec), database_url)
        try:
            boards[spec.name] = full_scoreboard(tables, contract, quarter(contract))
        finally:
            tables.close()
    return boards


def test_ten_leads_give_the_same_scoreboard_everywhere(
    engine: Engine, database_url: str, clock: object, contract: Contract, tmp_path: Path
) -> None:
    ten_leads.load(engine, clock)
    boards = on_every_engine(database_url, contract, tmp_path)
    for where in ("parquet", "baton.duckdb"):
        assert_same(boards["store"], boards[where], where)

    # Worked by hand from the fixture: each lead's furthest main-path stage (0 subscriber ...
    # 5 customer) is L1 5, L2 4, L3 2 (recycled is off the path), L4 2, L5 5, L6 4, L7 1,
    # L8 2 (disqualified is off the path), L9 0, L10 5. A lead reached stage i if its
    # furthest stage is i or later.
    funnel = boards["baton.duckdb"]["funnel"]
    overall = funnel[funnel["channel"] == OVERALL].sort_values("step")
    assert overall["reached"].tolist() == [
        10,  # every lead
        9,  # all but L9
        8,  # L1 L2 L3 L4 L5 L6 L8 L10
        5,  # L1 L2 L5 L6 L10
        5,  # the same five
        3,  # L1 L5 L10
    ]
    direct = funnel[funnel["channel"] == "direct"].sort_values("step")
    assert direct["reached"].tolist() == [2, 2, 1, 0, 0, 0]  # L7 at lead, L8 at mql
    # conversion lead → mql overall: 8 / 9
    assert overall["conversion"].tolist()[1] == pytest.approx(8 / 9, rel=1e-12)


def test_the_demo_gives_the_same_scoreboard_everywhere(
    engine: Engine, database_url: str, clock: object, contract: Contract, tmp_path: Path
) -> None:
    run_demo(engine, contract_text=default_contract_text(), clock=clock, seed=7, leads=1500, end=END)  # type: ignore[arg-type]
    boards = on_every_engine(database_url, contract, tmp_path)
    for where in ("parquet", "baton.duckdb"):
        assert_same(boards["store"], boards[where], where)

    # the columnar simulation, which never went through the store, gives the same numbers:
    # this ties the SQLite and PostgreSQL runs of this test to one answer
    columns = simulate_columns(contract, seed=7, leads=1500, end=END)
    con = duckdb.connect()
    for name, table in columns.items():
        con.from_arrow(table).create(name)
    tables = from_backend(ibis.duckdb.from_connection(con))
    assert_same(boards["store"], full_scoreboard(tables, contract, quarter(contract)), "columns")
    funnel = boards["store"]["funnel"]
    assert funnel.loc[funnel["channel"] == OVERALL, "reached"].iloc[0] == 1500


def test_comparable_tells_counts_apart_and_forgives_float_noise() -> None:
    a = pd.DataFrame({"channel": ["x", "(all)"], "n": [3, 4], "rate": [0.1 + 0.2, np.nan]})
    b = pd.DataFrame({"channel": ["(all)", "x"], "n": [Decimal(4), Decimal(3)], "rate": [None, 0.3]})
    assert_same({"s": a}, {"s": b}, "noise")
    c = b.assign(n=[Decimal(4), Decimal(2)])
    with pytest.raises(AssertionError):
        assert_same({"s": a}, {"s": c}, "counts")

