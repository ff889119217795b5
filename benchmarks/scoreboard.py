"""Benchmark: Baton's full scoreboard at a million leads, against hand-written SQL and pandas.

    python benchmarks/scoreboard.py [--leads 1000000] [--out docs/benchmarks.md]

1. Simulates the funnel with the demo simulator's columnar path
   (:func:`baton.demo.columns.simulate_columns`), with ``--touches`` times the demo's marketing
   touches so stage changes and touchpoints together pass ten rows per lead, and writes it to
   Parquet and to a DuckDB file under ``--data`` (reused while the options stay the same).
2. Loads the same data (``--store-leads`` of it) into a SQLite store and, with ``--postgres``,
   a PostgreSQL database, through the store's own schema.
3. Runs every contender in a process of its own (``benchmarks/contenders.py``): one warm-up,
   then the best of ``--runs`` runs, and the process's peak resident memory.
4. Checks that every contender computed the same funnel, and writes the table of times and
   ratios into the scoreboard section of ``--out``, leaving the rest of the file as it is.

A benchmark, not a test: it takes minutes and is never run by the test suite
(``tests/test_benchmark_smoke.py`` runs it on 2,000 leads so it cannot rot).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark the code of this checkout

from contenders import normalise  # noqa: E402
from report import Measured, machine, write_section  # noqa: E402
from stores import load_postgres, load_sqlite  # noqa: E402

from baton.analytics.source import Tables  # noqa: E402
from baton.contract import default_contract_text, parse_contract  # noqa: E402
from baton.demo.columns import simulate_columns  # noqa: E402

END = dt.date(2026, 11, 1)  # a fixed window, so every run simulates the same funnel
PERIOD = "2026-Q3"  # the scoreboard's period: the window's last whole quarter


@dataclass(frozen=True)
class Dataset:
    """One simulated funnel on disk: the Parquet folder, the DuckDB file, its row counts."""

    leads: int
    parquet: Path
    duckdb: Path
    rows: dict[str, int]


def generate(data: Path, *, leads: int, touches: float, seed: int) -> Dataset:
    """Simulate ``leads`` leads into ``data`` as Parquet and DuckDB, unless already there."""
    folder = data / f"leads-{leads}-touches-{touches}-seed-{seed}"
    parquet, database, manifest = folder / "parquet", folder / "baton.duckdb", folder / "rows.json"
    if manifest.is_file():
        rows = json.loads(manifest.read_text())
        if set(rows) >= set(Tables.names()):  # else written before the store had more tables
            return Dataset(leads, parquet, database, rows)
    started = time.perf_counter()
    contract = parse_contract(default_contract_text())
    tables = simulate_columns(contract, seed=seed, leads=leads, end=END, touches=touches)
    parquet.mkdir(parents=True, exist_ok=True)
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    for name, table in tables.items():
        pq.write_table(table, parquet / f"{name}.parquet")
        con.from_arrow(table).create(name)
    con.close()
    rows = {name: table.num_rows for name, table in tables.items()}
    manifest.write_text(json.dumps(rows))
    print(f"simulated {leads:,} leads in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return Dataset(leads, parquet, database, rows)


def run(name: str, source: str, result: Path, runs: int) -> tuple[list[float], float]:
    """Run one contender in a fresh process; its run times and peak memory in MB."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "contenders.py"), name, source, str(result),
         "--runs", str(runs), "--period", PERIOD],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"contender {name} on {source} failed:\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["times"], report["peak_mb"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--touches", type=float, default=2.6,
                        help="marketing touches per lead, times the demo's (default 2.6)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--store-leads", type=int, default=None,
                        help="leads loaded into SQLite and PostgreSQL (default: --leads)")
    parser.add_argument("--postgres", default=os.environ.get("BATON_BENCH_POSTGRES_URL"),
                        help="a PostgreSQL server URL; the benchmark creates its own database")
    parser.add_argument("--postgres-database", default=None,
                        help="name of that database (default baton_bench_<store leads>)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path("/tmp/baton-bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)  # fmt: skip

    main_set = generate(args.data, leads=args.leads, touches=args.touches, seed=args.seed)
    store_leads = args.store_leads or args.leads
    store_set = main_set
    if store_leads != args.leads:
        store_set = generate(args.data, leads=store_leads, touches=args.touches, seed=args.seed)
    results = args.data / "results"
    results.mkdir(parents=True, exist_ok=True)

    plan = [
        ("Baton full scoreboard (Ibis)", "DuckDB file", "baton", str(main_set.duckdb), main_set),
        ("Baton funnel section (Ibis)", "DuckDB file", "baton-funnel", str(main_set.duckdb),
         main_set),
        ("Baton full scoreboard (Ibis)", "Parquet (DuckDB)", "baton", str(main_set.parquet),
         main_set),
        ("hand-written SQL", "DuckDB file", "sql", str(main_set.duckdb), main_set),
        ("pandas, as an analyst writes it", "pandas", "pandas", str(main_set.parquet), main_set),
        ("pandas, tuned", "pandas", "pandas-tuned", str(main_set.parquet), main_set),
    ]  # fmt: skip
    if store_set is not main_set:
        plan.append(("hand-written SQL", "DuckDB file", "sql", str(store_set.duckdb), store_set))
    stores: list[tuple[str, str, float]] = []
    started = time.perf_counter()
    sqlite_url = load_sqlite(store_set.parquet, args.data / f"store-{store_leads}.db")
    stores.append(("SQLite", sqlite_url, time.perf_counter() - started))
    if args.postgres:
        started = time.perf_counter()
        name = args.postgres_database or f"baton_bench_{store_leads}"
        pg_url = load_postgres(store_set.parquet, args.postgres, name)
        stores.append(("PostgreSQL", pg_url, time.perf_counter() - started))
    for engine, url, _ in stores:
        plan.append(("Baton full scoreboard (Ibis)", engine, "baton", f"store|{url}", store_set))

    measured = []
    for i, (label, engine, name, source, dataset) in enumerate(plan):
        result = results / f"{i}-{name}.parquet"
        times, peak = run(name, source, result, args.runs)
        print(f"{label} on {engine}: best {min(times):.3f} s, peak {peak:.0f} MB", file=sys.stderr)
        measured.append(Measured(label, engine, name, dataset.leads, times, peak, result))
    _check_agreement(measured)
    write_section(
        args.out,
        measured,
        machine=machine(),
        sizes={main_set.leads: main_set.rows, store_set.leads: store_set.rows},
        loads=[(engine, seconds) for engine, _, seconds in stores],
        options={"touches": args.touches, "seed": args.seed, "runs": args.runs,
                 "end": END.isoformat(), "period": PERIOD},
    )  # fmt: skip
    print(f"wrote {args.out}", file=sys.stderr)


def _check_agreement(measured: list[Measured]) -> None:
    """Every contender's funnel equals the hand-written SQL's on the same data."""
    reference = {m.leads: m for m in measured if m.name == "sql"}
    for m in measured:
        expected = pd.read_parquet(reference[m.leads].result)
        got = pd.read_parquet(m.result)
        try:
            pd.testing.assert_frame_equal(normalise(got), normalise(expected), rtol=1e-9)
        except AssertionError as exc:
            raise SystemExit(f"{m.label} on {m.engine} disagrees with the SQL:\n{exc}") from exc


if __name__ == "__main__":
    main()
