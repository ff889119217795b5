"""Rule models computed together in one query give each model's credit exactly as when it runs
alone: on the five hand-made journeys (DuckDB, SQLite, PostgreSQL), on the demo's journeys at
contact and account level, and on path data (arrays read from an expression or from stored
tables); and the combined query is one aggregation, executed once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.operations as ops
import pandas as pd
import pytest
from ibis.backends import BaseBackend
from tests.fixtures.attribution import FIVE, frames, on_backend

from baton.analytics.attribution import Journeys, Model, build_journeys, read_paths
from baton.analytics.attribution.rules import credit_together, rule_credit
from baton.analytics.source import Tables, from_backend
from baton.contract import default_contract_text, parse_contract
from baton.demo.columns import simulate_columns
from baton.errors import InvalidInput
from baton.service import attribution as service
from baton.service.attribution import AttributionQuery, attribute, models_for

#: The default contract with a custom position model, so it is computed with the built-in ones.
CONTRACT = parse_contract(
    default_contract_text()
    + '\n[[attribution.custom]]\nkey = "ends"\nfirst = 0.1\nlast = 0.6\nlead = 0.1\n'
    "middle = 0.2\n"
)
GIVEN = AttributionQuery(("linear",), direct_channels=("D", "direct")).parameters(
    CONTRACT.attribution
)
END = dt.date(2026, 11, 1)


def rule_models() -> list[Model]:
    """Every rule model the contract makes available: the built-in ones and its custom one."""
    models = [m for m in models_for(CONTRACT.attribution).values() if m.weight is not None]
    assert {"first", "last", "last-non-direct", "linear", "time-decay", "u-shaped", "w-shaped",
            "full-path", "ends"} <= {m.name for m in models}  # fmt: skip
    return models


def by_channel(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("channel").sort_index()[["conversions", "value"]]


def assert_together_equals_alone(journeys: Journeys, models: list[Model]) -> None:
    together = credit_together(journeys, models, GIVEN)
    assert list(together) == [m.name for m in models]
    for model in models:
        alone = model(journeys, **GIVEN)
        assert isinstance(alone, ibis.Table)
        pd.testing.assert_frame_equal(
            by_channel(together[model.name]), by_channel(alone.execute()), rtol=1e-12,
            check_dtype=False, obj=model.name,
        )  # fmt: skip


@pytest.mark.parametrize("bare", [False, True], ids=["timed-flagged", "bare"])
def test_together_equals_alone_on_the_five_journeys(backend: BaseBackend, bare: bool) -> None:
    # every rule model at once: windows of several models side by side on one table; bare
    # journeys have no times (time decay counts steps) and no flags (roles fall to the last)
    five = on_backend(backend, *frames(FIVE, timed=not bare, flagged=not bare))
    assert_together_equals_alone(five, rule_models())


@pytest.fixture(scope="module")
def demo() -> Iterator[Tables]:
    """The demo's simulated funnel as the store's tables on DuckDB (no store in between)."""
    con = duckdb.connect()
    for name, table in simulate_columns(CONTRACT, seed=7, leads=600, end=END).items():
        con.from_arrow(table).create(name)
    tables = from_backend(ibis.duckdb.from_connection(con))
    yield tables
    tables.close()


@pytest.mark.parametrize(
    ("outcome", "level", "by"),
    [("won", "account", "campaign"), ("won", "contact", "channel"), ("sql", "contact", "campaign")],
)
def test_together_equals_alone_on_demo_journeys(
    demo: Tables, outcome: str, level: str, by: str
) -> None:
    journeys = build_journeys(demo, CONTRACT, outcome, level, by=by)
    assert_together_equals_alone(journeys, rule_models())


def test_the_service_computes_rule_models_together_and_data_driven_ones_alone(
    demo: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("w-shaped", "markov-1", "first", "ends", "linear", "shapley")
    query = AttributionQuery(names, outcome="won", level="account", by="campaign")
    calls: list[list[str]] = []

    def spy(journeys: Journeys, models: list[Model], given: Any = None) -> Any:
        calls.append([m.name for m in models])
        return credit_together(journeys, models, given)

    monkeypatch.setattr(service, "credit_together", spy)
    result = attribute(demo, CONTRACT, query)
    assert calls == [["w-shaped", "first", "ends", "linear"]]
    assert result.models == list(names)
    assert result.reconciliation["reconciled"].all()
    journeys = build_journeys(demo, CONTRACT, "won", "account", by="campaign")
    models = models_for(CONTRACT.attribution)
    for name in ("w-shaped", "first", "ends", "linear"):
        got = result.credit[result.credit["model"] == name]
        alone = by_channel(
            models[name](journeys, **query.parameters(CONTRACT.attribution)).execute()
        )
        pd.testing.assert_frame_equal(
            by_channel(got).reindex(alone.index), alone, rtol=1e-12, check_dtype=False
        )
        # channels the model gave nothing are listed with 0, as before
        assert set(got["channel"]) == set(result.credit["channel"])


class _Stop(Exception):
    pass


def test_the_service_tells_each_step_and_stops_where_told_to(
    demo: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("w-shaped", "markov-1", "first", "shapley")
    query = AttributionQuery(names, outcome="won", level="account", by="campaign")
    steps: list[int] = []
    result = attribute(demo, CONTRACT, query, advance=steps.append)
    # the journeys, the rule models together, then each data-driven model
    assert steps == [1, 1, 1, 1]
    assert result.models == list(names)

    ran: list[str] = []
    monkeypatch.setattr(service, "credit_together", lambda *a: ran.append("rules") or {})

    def stop(_done: int) -> None:
        raise _Stop  # as the dashboard's checkpoint does once an action made it useless

    with pytest.raises(_Stop):
        attribute(demo, CONTRACT, query, advance=stop)
    assert ran == []  # stopped once the journeys were made, before any model


@pytest.mark.shared_data
def test_together_equals_alone_on_path_data(shared_data: Path) -> None:
    journeys = read_paths(shared_data / "channelattribution-pathdata" / "Data.csv")
    models = rule_models()
    assert_together_equals_alone(journeys, models)
    # the same paths stored as tables (as the benchmark reads them): channels are listed from
    # the stored touches, the converting touches read from the arrays
    raw = duckdb.connect()
    for name in ("touches", "journeys"):
        raw.from_arrow(getattr(journeys, name).to_pyarrow()).create(name)
    con = ibis.duckdb.from_connection(raw)
    stored = Journeys(touches=con.table("touches"), journeys=con.table("journeys"))
    assert_together_equals_alone(stored, models)
    from_expressions = credit_together(journeys, models, GIVEN)
    for name, frame in credit_together(stored, models, GIVEN).items():
        pd.testing.assert_frame_equal(
            by_channel(frame), by_channel(from_expressions[name]), rtol=1e-12, obj=name
        )
    con.disconnect()


def test_several_models_are_one_aggregation_executed_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    con = ibis.duckdb.connect()
    five = on_backend(con, *frames(FIVE))
    models = rule_models()
    wide = rule_credit(five, [(m.weight, m.parameters(GIVEN)) for m in models if m.weight])
    # one group by channel for every model (the channels are listed by a distinct)
    assert len(wide.op().find(ops.Aggregate)) == 1
    assert len(wide.columns) == 1 + 2 * len(models)
    executed: list[object] = []
    run = con.execute

    def counted(expr: object, **kwargs: Any) -> Any:
        executed.append(expr)
        return run(expr, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(con, "execute", counted)
    credit_together(five, models, GIVEN)
    assert len(executed) == 1
    con.disconnect()


def test_only_rule_models_are_computed_together() -> None:
    models = models_for(CONTRACT.attribution)
    with pytest.raises(InvalidInput, match="markov-1: not a rule model"):
        credit_together(on_backend(ibis.duckdb.connect(), *frames(FIVE)), [models["markov-1"]])
    assert credit_together(on_backend(ibis.duckdb.connect(), *frames(FIVE)), []) == {}


def test_the_data_driven_models_credit_nothing_when_no_journey_has_a_touch(
    backend: BaseBackend,
) -> None:
    """A new store (events arriving, nothing converted or touched yet) on every engine: no
    channel at all must still be a table the engine can hold (PostgreSQL refused an untyped one)."""
    from baton.analytics.attribution.markov import markov
    from baton.analytics.attribution.shapley import shapley

    five = on_backend(backend, *frames(FIVE))
    untouched = Journeys(five.touches.filter(ibis.literal(False)), five.journeys)
    for credit in (shapley(untouched), markov(untouched)):
        assert credit.empty or float(credit["conversions"].sum()) == 0.0
