"""The same funnel expressions give identical numbers on the store and on DuckDB.

The store (SQLite, and PostgreSQL when configured) is filled by the demo simulator, whose
accounts, campaigns, teams and skipped or repeated stages exercise every breakdown and rule;
its tables are then copied into an in-memory DuckDB through Arrow (timestamps as naive UTC, as
a Parquet export writes them) and read back with ``analytics.source.from_backend``. Every
number, floats included, must be equal: quantiles and rates are one division of two exact
integers on each engine.
"""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from sqlalchemy import Engine

from baton.analytics.source import Tables, from_backend, from_store
from baton.contract import default_contract_text, parse_contract
from baton.demo import run_demo
from baton.service.funnel import funnel_report, stuck_report

CONTRACT = parse_contract(default_contract_text())


def naive_utc(table: pa.Table) -> pa.Table:
    """Aware timestamp columns (PostgreSQL's) as naive UTC, the form every source uses."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            plain = table.column(i).cast(pa.timestamp(field.type.unit))
            table = table.set_column(i, field.name, plain)
    return table


def copy_to_duckdb(source: Tables) -> Tables:
    con = ibis.duckdb.connect()
    for name in Tables.names():
        table: ibis.Table = getattr(source, name)
        # free-form JSON properties are not read by analytics and do not travel through Arrow
        scalar = [c for c, kind in table.schema().items() if not kind.is_json()]
        # DuckDB's own Arrow import: Ibis 12's create_table from Arrow fails on DuckDB 1.5
        con.con.from_arrow(naive_utc(table.select(scalar).to_pyarrow())).create(name)
    return from_backend(con)


@pytest.fixture
def engines(engine: Engine, database_url: str, clock: object) -> Iterator[tuple[Tables, Tables]]:
    run_demo(engine, contract_text=default_contract_text(), clock=clock, seed=11, leads=1500)  # type: ignore[arg-type]
    store = from_store(database_url)
    duck = copy_to_duckdb(store)
    yield store, duck
    store.close()
    duck.close()


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) > 0
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


OPTIONS = [
    {},
    {"by": "channel", "cohort": "month"},
    {"by": "campaign"},
    {"by": "segment", "cohort": "quarter"},
    {"by": "team", "period": "2026-Q1"},
    {"by": "owner"},
    {"cohort": "week"},
    {"stages": ["mql", "customer"], "by": "channel"},
]


def test_the_funnel_is_identical_on_the_store_and_on_duckdb(engines: tuple[Tables, Tables]) -> None:
    store, duck = engines
    for options in OPTIONS:
        on_store = funnel_report(store, CONTRACT, **options)  # type: ignore[arg-type]
        on_duck = funnel_report(duck, CONTRACT, **options)  # type: ignore[arg-type]
        same(on_store, on_duck)
    # the demo's data has times to interpolate between and every breakdown has groups
    whole = funnel_report(store, CONTRACT, by="segment")
    assert set(whole.segment) == {"(all)", "smb", "mid-market", "enterprise"}
    assert whole.timed.sum() > 1000 and whole.median_days.notna().sum() > 10


def test_the_stuck_list_is_identical_on_the_store_and_on_duckdb(
    engines: tuple[Tables, Tables], clock: object
) -> None:
    store, duck = engines
    now = clock()  # type: ignore[operator]
    same(stuck_report(store, CONTRACT, as_of=now), stuck_report(duck, CONTRACT, as_of=now))
