"""The simulator's columnar output is what ``baton demo`` writes into an empty store."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine

from baton.analytics.source import Tables, from_store
from baton.contract import Contract, default_contract_text, parse_contract
from baton.demo import run_demo
from baton.demo.columns import simulate_columns
from baton.errors import InvalidInput
from baton.store.arrow import arrow_schema

END = dt.date(2026, 11, 1)
#: Columns the columnar path fills differently: no contract is applied, nothing is written.
NOT_COMPARED = {("stage_changes", "contract_version_id"), ("stage_changes", "recorded_at")}


@pytest.fixture(scope="module")
def contract() -> Contract:
    return parse_contract(default_contract_text())


def test_the_columns_equal_the_store_after_baton_demo(
    sqlite_engine: Engine, clock: object, contract: Contract
) -> None:
    run_demo(sqlite_engine, contract_text=default_contract_text(), clock=clock, seed=3, leads=800, end=END)  # type: ignore[arg-type]
    columns = simulate_columns(contract, seed=3, leads=800, end=END)
    store = from_store(sqlite_engine.url.render_as_string(hide_password=False))
    try:
        assert set(columns) == set(Tables.names())
        for name in Tables.names():
            mine = columns[name]
            assert mine.schema == arrow_schema(name), name
            table = getattr(store, name)
            if "properties" in table.columns:
                table = table.mutate(properties=table.properties.cast("string"))
            stored = table.order_by("id").to_pyarrow()
            assert mine.num_rows == stored.num_rows > 0, name
            for column in mine.column_names:
                if (name, column) in NOT_COMPARED:
                    continue
                got, want = mine[column].to_pylist(), stored[column].to_pylist()
                if column == "properties":
                    got, want = [json.loads(v) for v in got], [json.loads(v) for v in want]
                assert got == want, f"{name}.{column}"
    finally:
        store.close()


def test_more_touches_on_request_and_the_rest_unchanged(contract: Contract) -> None:
    usual = simulate_columns(contract, seed=5, leads=600, end=END)
    more = simulate_columns(contract, seed=5, leads=600, end=END, touches=3.0)
    assert more["touchpoints"].num_rows > 2 * usual["touchpoints"].num_rows
    assert more["leads"].num_rows == usual["leads"].num_rows == 600
    with pytest.raises(InvalidInput, match="touch scale"):
        simulate_columns(contract, leads=10, end=END, touches=0)
