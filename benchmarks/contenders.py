"""The contenders of the scoreboard benchmark, each run in a process of its own.

``python benchmarks/contenders.py NAME SOURCE RESULT [--runs 3]`` runs contender ``NAME`` once to
warm up and then ``--runs`` times, writes the funnel it computed to ``RESULT`` (Parquet) and
prints one JSON line: the time of every run and the process's peak resident memory. Running
each contender in a fresh process keeps their memory apart and makes ``ru_maxrss`` its own.

The contenders compute the funnel of :func:`baton.analytics.funnel.funnel_by_channel`: for
every channel and overall, the leads that reached each main-path stage (entered it or a later
one) and how many of those reached the next.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark the code of this checkout

from baton.analytics.funnel import OVERALL, UNKNOWN  # noqa: E402
from baton.analytics.period import Period  # noqa: E402
from baton.analytics.source import open_source  # noqa: E402
from baton.contract import Contract, default_contract_text, parse_contract  # noqa: E402
from baton.service.full_scoreboard import EXPRESSIONS, full_scoreboard  # noqa: E402

COLUMNS = ["channel", "step", "stage", "reached", "next_stage", "converted", "conversion"]


def hand_sql(keys: Sequence[str]) -> str:
    """The funnel as one DuckDB query written by hand: one pass over the lead moves.

    Each lead's furthest main-path step is one ``max``; leads are counted per channel and
    furthest step; a stage's ``reached`` sums the counts at or past its step.
    """
    following = [f"'{key}'" for key in keys[1:]] + ["NULL"]
    steps = ", ".join(f"({i}, '{key}', {following[i]})" for i, key in enumerate(keys))
    step_of = " ".join(f"WHEN '{key}' THEN {i}" for i, key in enumerate(keys))
    listed = ", ".join(f"'{key}'" for key in keys)
    return f"""
    WITH furthest AS (
        SELECT subject_id AS lead_id, max(CASE to_stage {step_of} END) AS step
        FROM stage_changes
        WHERE subject = 'lead' AND to_stage IN ({listed})
        GROUP BY subject_id
    ), counted AS (
        SELECT coalesce(l.channel, '{UNKNOWN}') AS channel, f.step, count(*) AS n
        FROM furthest f JOIN leads l ON l.id = f.lead_id
        GROUP BY ALL
    ), labelled AS (
        SELECT channel, step, n FROM counted
        UNION ALL
        SELECT '{OVERALL}', step, sum(n) FROM counted GROUP BY step
    ), reached AS (
        SELECT c.channel, s.step, s.stage, s.next_stage,
               sum(CASE WHEN c.step >= s.step THEN c.n ELSE 0 END)::BIGINT AS reached
        FROM labelled c
        CROSS JOIN (VALUES {steps}) AS s(step, stage, next_stage)
        GROUP BY ALL
    )
    SELECT channel, step::BIGINT AS step, stage, reached, next_stage,
           lead(reached) OVER (PARTITION BY channel ORDER BY step) AS converted,
           converted / nullif(reached, 0)::DOUBLE AS conversion
    FROM reached
    ORDER BY channel, step
    """


def pandas_funnel(folder: Path, keys: Sequence[str]) -> pd.DataFrame:
    """The funnel as an analyst writes it: read the tables, join the channel, count per stage."""
    changes = pd.read_parquet(folder / "stage_changes.parquet")
    leads = pd.read_parquet(folder / "leads.parquet")
    moves = changes[(changes["subject"] == "lead") & changes["to_stage"].isin(keys)]
    moves = moves.merge(leads[["id", "channel"]], left_on="subject_id", right_on="id")
    moves["channel"] = moves["channel"].fillna(UNKNOWN)
    rows = []
    for channel, group in [*moves.groupby("channel"), (OVERALL, moves)]:
        reached = [
            group.loc[group["to_stage"].isin(keys[i:]), "subject_id"].nunique()
            for i in range(len(keys))
        ]
        rows += _rows(str(channel), keys, reached)
    return pd.DataFrame(rows, columns=COLUMNS)


def pandas_tuned(folder: Path, keys: Sequence[str]) -> pd.DataFrame:
    """The funnel in pandas done with care: only the columns used, one max per lead."""
    moves = pd.read_parquet(
        folder / "stage_changes.parquet", columns=["subject", "subject_id", "to_stage"]
    )
    leads = pd.read_parquet(folder / "leads.parquet", columns=["id", "channel"])
    moves = moves[(moves["subject"] == "lead") & moves["to_stage"].isin(keys)]
    step = moves["to_stage"].map({key: i for i, key in enumerate(keys)}).astype("int64")
    furthest = step.groupby(moves["subject_id"]).max().rename("furthest")
    labelled = leads.set_index("id").join(furthest, how="inner")
    labelled["channel"] = labelled["channel"].fillna(UNKNOWN)
    counts = labelled.groupby(["channel", "furthest"]).size().unstack(fill_value=0)
    counts.loc[OVERALL] = counts.sum()
    counts = counts.reindex(columns=range(len(keys)), fill_value=0)
    # reached stage i: furthest at i or later
    reached = counts.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1]
    rows = []
    for channel, values in reached.iterrows():
        rows += _rows(str(channel), keys, [int(v) for v in values])
    return pd.DataFrame(rows, columns=COLUMNS)


def _rows(channel: str, keys: Sequence[str], reached: Sequence[int]) -> list[dict[str, object]]:
    """The funnel rows of one channel from the leads reaching each stage."""
    rows = []
    for i, key in enumerate(keys):
        converted = reached[i + 1] if i + 1 < len(keys) else None
        rows.append({
            "channel": channel, "step": i, "stage": key, "reached": reached[i],
            "next_stage": keys[i + 1] if i + 1 < len(keys) else None, "converted": converted,
            "conversion": converted / reached[i] if converted is not None and reached[i] else None,
        })  # fmt: skip
    return rows


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """A funnel in one shape whoever computed it: sorted, counts as integers, rates as floats."""
    out = frame[COLUMNS].copy()
    for column in ("channel", "stage", "next_stage"):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    for column in ("step", "reached", "converted"):
        out[column] = pd.array(
            [None if pd.isna(v) else int(v) for v in out[column]], dtype="Int64"
        )
    out["conversion"] = out["conversion"].astype("float64")
    return out.sort_values(["channel", "step"]).reset_index(drop=True)


def contender(
    name: str, source: str, contract: Contract, period: Period
) -> Callable[[], pd.DataFrame]:
    """A function computing the funnel one way; anything opened once is opened here.

    Baton's contenders compute more than the funnel: ``baton`` the whole scoreboard of
    ``period`` (the funnel is one of its sections), ``baton-funnel`` the funnel section alone.
    """
    keys = [s.key for s in contract.main_path()]
    if name == "pandas":
        return lambda: pandas_funnel(Path(source), keys)
    if name == "pandas-tuned":
        return lambda: pandas_tuned(Path(source), keys)
    if name == "sql":
        con = duckdb.connect(source, read_only=True)
        query = hand_sql(keys)
        return lambda: con.execute(query).df()
    spec, _, url = source.partition("|")
    tables = open_source(spec, url)
    if name == "baton":
        return lambda: full_scoreboard(tables, contract, period)["funnel"]
    if name == "baton-funnel":
        funnel = EXPRESSIONS["funnel"]
        return lambda: tables.backend.execute(funnel(tables, contract, period))
    raise SystemExit(f"unknown contender {name!r}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="baton, baton-funnel, sql, pandas or pandas-tuned")
    parser.add_argument("source", help="DuckDB file, Parquet folder, or store|URL for Baton")
    parser.add_argument("result", type=Path, help="where to write the funnel (Parquet)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--period", default="2026-Q3", help="the scoreboard's period")
    args = parser.parse_args(argv)
    contract = parse_contract(default_contract_text())
    period = Period.parse(args.period, contract.business_hours.zone)
    run = contender(args.name, args.source, contract, period)
    result = run()  # warm-up: caches, compiled queries, the engine's buffers
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    normalise(result).to_parquet(args.result)
    print(json.dumps({"times": times, "peak_mb": peak_mb()}))


def peak_mb() -> float:
    """This process's resident-memory high-water mark, in MB.

    ``VmHWM`` where Linux has it: ``ru_maxrss`` would include the parent's memory at the
    fork, which Linux carries across ``exec``.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
