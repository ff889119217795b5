"""Markov and Shapley on ChannelAttribution's example paths: against ChannelAttribution's
simulation, and the same numbers on DuckDB, SQLite and PostgreSQL.

How close to ``ChannelAttribution.markov_model`` is close enough: it estimates removal effects
by simulating walks of the chain, and stops once ten repetitions agree within 5 % (its
``conv_par``). Run with 20 seeds on this file at order 1, one channel's share of conversions
varied by a standard deviation of up to 0.32 points between seeds (0.75 points for its share
of value, at orders 1 to 3), and single runs differed from Baton's exact shares by up to 0.71
points (1.31 for value); the mean of the seeds stayed within 0.09 points of Baton's (0.13 for
value), as an unbiased estimate of the exact number should. So a single run must be within
1.5 points (about 4.5 standard deviations) and the mean of eight runs within 0.5 points
(4 standard deviations of a mean of eight, rounded up), twice that for value.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd
import pytest

from baton.analytics.attribution.credit import residuals, totals
from baton.analytics.attribution.journeys import Journeys, read_paths
from baton.analytics.attribution.markov import markov
from baton.analytics.attribution.shapley import shapley
from baton.analytics.engine import connect

pytestmark = pytest.mark.shared_data

SINGLE_RUN, MEAN_OF_RUNS, VALUE_FACTOR = 0.015, 0.005, 2.0
SEEDS = [1000 * i for i in range(8)]  # far apart: a run of seed s uses the streams s .. s + 9


def path_file(shared_data: Path) -> Path:
    return shared_data / "channelattribution-pathdata" / "Data.csv"


def channel_attribution(data: pd.DataFrame, order: int, seed: int) -> pd.DataFrame:
    ca = pytest.importorskip("ChannelAttribution", reason="pip install baton[bench]")
    with contextlib.redirect_stdout(io.StringIO()):  # its banner and progress
        got = ca.markov_model(
            data, "path", "total_conversions", var_value="total_conversion_value",
            var_null="total_null", order=order, seed=seed, verbose=False, flg_pro=False,
        )  # fmt: skip
    got = got.set_index("channel_name")
    return pd.DataFrame(
        {
            "share": got["total_conversions"] / got["total_conversions"].sum(),
            "share_value": got["total_conversion_value"] / got["total_conversion_value"].sum(),
        }
    )


@pytest.mark.parametrize(("order", "seeds"), [(1, SEEDS), (2, SEEDS[:4]), (3, SEEDS[:4])])
def test_markov_shares_agree_with_channelattribution_within_its_noise(
    shared_data: Path, order: int, seeds: list[int]
) -> None:
    file = path_file(shared_data)
    ours = markov(read_paths(file), order=order).set_index("channel")
    share = ours["conversions"] / ours["conversions"].sum()
    share_value = ours["value"] / ours["value"].sum()
    data = pd.read_csv(file, sep=";")
    runs = [channel_attribution(data, order, seed).reindex(ours.index) for seed in seeds]
    mean_tolerance = MEAN_OF_RUNS * np.sqrt(len(SEEDS) / len(seeds))
    for column, exact, factor in (
        ("share", share, 1.0),
        ("share_value", share_value, VALUE_FACTOR),
    ):
        table = pd.concat([run[column] for run in runs], axis=1)
        assert table.sub(exact, axis=0).abs().max().max() <= SINGLE_RUN * factor, column
        assert (table.mean(axis=1) - exact).abs().max() <= mean_tolerance * factor, column


def test_markov_and_shapley_reconcile_on_the_path_file(shared_data: Path) -> None:
    journeys = read_paths(path_file(shared_data))
    total = totals(journeys)
    assert total.conversions == 19785 and total.value == pytest.approx(74802.97, abs=0.005)
    for got in (markov(journeys), markov(journeys, order=3), shapley(journeys)):
        assert len(got) == 12
        assert max(residuals(got, total).values()) < 1e-9


def copy_journeys(journeys: Journeys, backend: object, *, arrays: bool) -> Journeys:
    """The journeys written into ``backend`` as two tables (without arrays where it has none)."""
    touches = journeys.touches.drop("touch_at").execute()
    table = journeys.journeys.drop("converted_at").execute()
    if not arrays:
        table = table.drop(columns="channels")
    # path data has no times (SQLite cannot store a column of nothing but null timestamps);
    # the table is created first and filled after: Ibis 12 fails creating one from a frame
    # on SQLite ("incomplete input" dropping its temporary table)
    stored = {}
    for name, frame in (("touches", touches), ("journeys", table)):
        backend.create_table(name, schema=ibis.memtable(frame).schema())  # type: ignore[attr-defined]
        backend.insert(name, frame)  # type: ignore[attr-defined]
        stored[name] = backend.table(name)  # type: ignore[attr-defined]
    touches_in, journeys_in = stored["touches"], stored["journeys"]
    return Journeys(
        touches=touches_in.mutate(touch_at=ibis.null(dt.timestamp)),
        journeys=journeys_in.mutate(converted_at=ibis.null(dt.timestamp)),
    )


def test_the_same_credit_on_duckdb_sqlite_and_postgresql(
    shared_data: Path, database_url: str
) -> None:
    journeys = read_paths(path_file(shared_data))
    want = {
        (model, order): markov(journeys, order=order, method="window") if model == "markov"
        else shapley(journeys)
        for model, order in (("markov", 1), ("markov", 2), ("shapley", 0))
    }  # fmt: skip
    pd.testing.assert_frame_equal(markov(journeys, method="array"), want[("markov", 1)])
    backend = connect(database_url)
    try:
        postgres = backend.name == "postgres"
        copied = copy_journeys(journeys, backend, arrays=postgres)
        methods = ["window", "array"] if postgres else ["window"]
        for method in methods:
            for order in (1, 2):
                got = markov(copied, order=order, method=method)
                pd.testing.assert_frame_equal(got, want[("markov", order)], rtol=1e-9)
        pd.testing.assert_frame_equal(shapley(copied), want[("shapley", 0)], rtol=1e-9)
    finally:
        backend.disconnect()
