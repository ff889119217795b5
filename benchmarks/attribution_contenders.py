"""The contenders of the attribution benchmark, each run in a process of its own.

``python benchmarks/attribution_contenders.py NAME FOLDER RESULT [--runs 3]`` loads the inputs
of contender ``NAME`` from the data ``FOLDER`` (``paths.parquet`` and ``baton.duckdb``, see
``attribution_data.py``), runs it once to warm up and then ``--runs`` times, writes the shares
it computed to ``RESULT`` (Parquet: ``model``, ``channel``, ``share`` of conversions) and prints
one JSON line: the time of every run and the process's peak resident memory.

Timed is the model itself: Baton's expressions from the tables in the DuckDB file to the credit
table, ChannelAttribution's and DP6's functions from the path table already in memory (their
parsing of the paths included, as it is part of their call).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark the code of this checkout

if TYPE_CHECKING:
    from baton.analytics.attribution.journeys import Journeys

RESULT_COLUMNS = ["model", "channel", "share"]
#: The heuristics every contender computes under a common name.
HEURISTICS = ("first", "last", "linear", "u-shaped")


def heuristics(journeys: Journeys) -> pd.DataFrame:
    """First, last, linear and U-shaped (40/20/40) touch credit of conversions, in one scan.

    The four in one aggregate, written by hand as the reference of what one query can do
    (:func:`registered` runs the registry's models as the product does): a journey of one
    touch gives it all, of two half each, else 40 % to the first, 40 % to the last and 20 %
    shared by the touches between. Reads the journeys' ``channels`` arrays (one pass, no join).
    """
    import ibis
    import ibis.expr.datatypes as dt

    table = journeys.journeys
    n = table.channels.length()
    rows = table.select(
        channel=table.channels.unnest(),
        position=ibis.range(0, n).unnest(),
        n=n,
        conversions=table.conversions,
    )
    first = rows.position == 0
    last = rows.position == rows.n - 1
    u_shaped = ibis.cases(
        (rows.n == 1, 1.0),
        (rows.n == 2, 0.5),
        (first | last, 0.4),
        else_=0.2 / (rows.n - 2).cast(dt.float64),
    )
    credit = rows.group_by("channel").aggregate(
        first=ibis.ifelse(first, rows.conversions, 0.0).sum(),
        last=ibis.ifelse(last, rows.conversions, 0.0).sum(),
        linear=(rows.conversions / rows.n.cast(dt.float64)).sum(),
        **{"u-shaped": (rows.conversions * u_shaped).sum()},
    )
    return credit.execute()


def registered(journeys: Journeys) -> pd.DataFrame:
    """The same four heuristics as ``baton attribution --compare`` computes them: the registry's
    first, last, linear and U-shaped models handed together to
    :func:`~baton.analytics.attribution.rules.credit_together`, the function the service calls
    for several rule models (one query: one pass over the converting touches, read from the
    journeys' channel arrays, and one ``group by channel``)."""
    from baton.analytics.attribution import MODELS
    from baton.analytics.attribution.rules import credit_together

    credits = credit_together(journeys, [MODELS[name] for name in HEURISTICS])
    frames = [credits[name].set_index("channel")["conversions"].rename(name) for name in HEURISTICS]
    return pd.concat(frames, axis=1).reset_index()


def _shares(frame: pd.DataFrame, models: Sequence[str], channel: str = "channel") -> pd.DataFrame:
    """Long shares (``model``, ``channel``, ``share``) from one column of credit per model."""
    parts = []
    for model in models:
        credit = frame[model].astype("float64")
        parts.append(
            pd.DataFrame(
                {"model": model, "channel": frame[channel].astype(str),
                 "share": credit / credit.sum()}
            )
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True)


def contender(name: str, folder: Path) -> Callable[[], pd.DataFrame]:
    """A function computing one contender's shares; anything loaded once is loaded here."""
    if name.startswith("baton"):  # each contender imports only what it uses: memory is measured
        import ibis

        from baton.analytics.attribution.journeys import Journeys
        from baton.analytics.attribution.markov import markov

        con = ibis.duckdb.connect(str(folder / "baton.duckdb"), read_only=True)
        journeys = Journeys(touches=con.table("touches"), journeys=con.table("journeys"))
        if name == "baton-heuristics":
            return lambda: _shares(heuristics(journeys), HEURISTICS)
        if name == "baton-registered":
            return lambda: _shares(registered(journeys), HEURISTICS)
        method = "window" if name == "baton-markov-window" else "array"
        return lambda: _shares(
            markov(journeys, method=method).rename(columns={"conversions": "markov"}), ["markov"]
        )
    paths = pd.read_parquet(folder / "paths.parquet")
    if name.startswith("ca-"):
        import ChannelAttribution as ca

        if name == "ca-heuristics":

            def run() -> pd.DataFrame:
                with contextlib.redirect_stdout(io.StringIO()):
                    got = ca.heuristic_models(paths, "path", "total_conversions",
                                              var_value="total_conversion_value")  # fmt: skip
                got = got.rename(columns={"first_touch_conversions": "first",
                                          "last_touch_conversions": "last",
                                          "linear_touch_conversions": "linear"})  # fmt: skip
                return _shares(got, ["first", "last", "linear"], "channel_name")

            return run

        def markov_run() -> pd.DataFrame:
            with contextlib.redirect_stdout(io.StringIO()):
                got = ca.markov_model(paths, "path", "total_conversions",
                                      var_value="total_conversion_value", var_null="total_null",
                                      order=1, verbose=False, flg_pro=False)  # fmt: skip
            return _shares(got.rename(columns={"total_conversions": "markov"}), ["markov"],
                           "channel_name")  # fmt: skip

        return markov_run
    if name.startswith("mam-"):
        return _mam(name, paths)
    raise SystemExit(f"unknown contender {name!r}")


def _mam(name: str, paths: pd.DataFrame) -> Callable[[], pd.DataFrame]:
    """DP6's marketing-attribution-models on the paths as grouped journeys.

    Its grouped format has one row per path and outcome: the converting journeys of a path
    (``occurrences`` = conversions) and the others (``occurrences`` = nulls).
    """
    from mam import MAM

    converted = paths[paths["total_conversions"] > 0].assign(
        has_conversion=True, occurrences=paths["total_conversions"]
    )
    lost = paths[paths["total_null"] > 0].assign(
        has_conversion=False, occurrences=paths["total_null"]
    )
    grouped = pd.concat([converted, lost], ignore_index=True)[
        ["path", "occurrences", "has_conversion"]
    ]

    def run() -> pd.DataFrame:
        model = MAM(grouped, format_type="grouped_journey", channels_colname="path",
                    journey_with_conv_colname="has_conversion", occurrences_colname="occurrences",
                    path_separator=" > ")  # fmt: skip
        if name == "mam-markov":
            runs = {"markov": model.run_markov()}
        else:
            runs = {
                "first": model.run_first_click(),
                "last": model.run_last_click(),
                "linear": model.run_linear(),
                "u-shaped": model.run_position_based(),
            }
        parts = []
        for label, result in runs.items():
            frame = result.to_pandas().rename(columns={"channels": "channel", "attribution": label})
            parts.append(_shares(frame, [label]))
        return pd.concat(parts, ignore_index=True)

    return run


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="baton-heuristics, baton-registered, baton-markov, "
                        "baton-markov-window, ca-heuristics, ca-markov, mam-heuristics or "
                        "mam-markov")  # fmt: skip
    parser.add_argument("folder", type=Path, help="the data folder (attribution_data.py)")
    parser.add_argument("result", type=Path, help="where to write the shares (Parquet)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    run = contender(args.name, args.folder)
    result = run()  # warm-up: caches, compiled queries, the engine's buffers
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    result[RESULT_COLUMNS].to_parquet(args.result)
    print(json.dumps({"times": times, "peak_mb": peak_mb()}))


def peak_mb() -> float:
    """This process's resident-memory high-water mark in MB (``VmHWM`` where Linux has it:
    ``ru_maxrss`` would include the parent's memory at the fork)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
