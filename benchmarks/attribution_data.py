"""The journeys the attribution benchmark runs on: simulated with a fixed seed, in path format.

``simulate(journeys, seed)`` draws buyers' journeys over twelve channels:

- a journey's length is 1 to 20 touches, geometric with mean about 4 (``p = 0.25``, cut at 20),
  close to the journeys of ChannelAttribution's example data, where most are short;
- the first channel is drawn from a popularity that falls with the channel's rank, each next
  touch repeats the previous channel with probability 0.3 (a visitor coming back the same
  way) or is drawn again from the popularity;
- the journey converts with probability ``sigmoid(-3 + sum of its touches' lifts)``, each
  channel having its own lift (0 to 0.5), so longer journeys and some channels convert more;
  a conversion's value is log-normal (median 150).

``write(folder, journeys, seed)`` aggregates the journeys into ChannelAttribution's path format
(one row per distinct path: ``path``, ``total_conversions``, ``total_conversion_value``,
``total_null``) in ``paths.parquet``, the input of every contender, and writes the same paths
as Baton's journey tables (``touches``, ``journeys``: :mod:`baton.analytics.attribution.journeys`)
into ``baton.duckdb``. Each contender thus reads the same distinct paths with the same counts.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark the code of this checkout

from baton.analytics.attribution.journeys import PATH_SEPARATOR, from_path_table  # noqa: E402

CHANNELS = (
    "paid_search", "organic_search", "email", "social", "display", "referral",
    "direct", "events", "webinar", "partner", "video", "affiliate",
)  # fmt: skip
MAX_LENGTH = 20


@dataclass(frozen=True)
class Dataset:
    """Simulated journeys on disk: their path file, Baton's DuckDB file and their sizes."""

    journeys: int
    paths: Path
    duckdb: Path
    sizes: dict[str, int]


def simulate(journeys: int, seed: int) -> pa.Table:
    """``journeys`` simulated journeys: ``path``, ``converted`` (0 or 1), ``value``."""
    rng = np.random.default_rng(seed)
    k = len(CHANNELS)
    popularity = 1.0 / np.arange(1, k + 1) ** 0.8
    popularity /= popularity.sum()
    lift = np.linspace(0.5, 0.0, k)[rng.permutation(k)]
    lengths = np.minimum(rng.geometric(0.25, size=journeys), MAX_LENGTH)
    offsets = np.zeros(journeys + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    touches = int(offsets[-1])
    drawn = rng.choice(k, size=touches, p=popularity)
    first = np.zeros(touches, dtype=bool)
    first[offsets[:-1]] = True
    fresh = first | (rng.random(touches) >= 0.3)  # else the touch repeats the one before
    source = np.maximum.accumulate(np.where(fresh, np.arange(touches), 0))
    codes = drawn[source]
    score = np.add.reduceat(lift[codes], offsets[:-1]) - 3.0
    converted = rng.random(journeys) < 1.0 / (1.0 + np.exp(-score))
    value = np.where(converted, np.round(rng.lognormal(np.log(150.0), 0.8, journeys), 2), 0.0)
    names = pa.array(CHANNELS).take(pa.array(codes))
    paths = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), names),
                           PATH_SEPARATOR)  # fmt: skip
    return pa.table({"path": paths, "converted": converted.astype(np.int64), "value": value})


def write(data: Path, journeys: int, seed: int) -> Dataset:
    """Simulate, aggregate into paths, write the path file and Baton's DuckDB file (reused)."""
    folder = data / f"journeys-{journeys}-seed-{seed}"
    paths, database, manifest = (
        folder / "paths.parquet",
        folder / "baton.duckdb",
        folder / "sizes.json",
    )
    if manifest.is_file():
        return Dataset(journeys, paths, database, json.loads(manifest.read_text()))
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    simulated = simulate(journeys, seed)
    con = duckdb.connect()
    con.register("simulated", simulated)
    con.execute(f"""
        COPY (
            SELECT path, sum(converted)::BIGINT AS total_conversions,
                   round(sum(value), 2) AS total_conversion_value,
                   sum(1 - converted)::BIGINT AS total_null
            FROM simulated GROUP BY path ORDER BY path
        ) TO '{paths}' (FORMAT parquet)
    """)  # fmt: skip
    con.close()
    database.unlink(missing_ok=True)
    backend = ibis.duckdb.connect(str(database))
    shaped = from_path_table(backend.read_parquet(paths))
    backend.create_table("touches", shaped.touches)
    backend.create_table("journeys", shaped.journeys)
    sizes = {
        "journeys": journeys,
        "touches": int(pc.sum(pc.add(pc.count_substring(simulated.column("path"),
                                                        PATH_SEPARATOR), 1)).as_py()),
        "conversions": int(pc.sum(simulated.column("converted")).as_py()),
        "paths": int(backend.table("journeys").count().execute()),
        "path_touches": int(backend.table("touches").count().execute()),
    }  # fmt: skip
    backend.disconnect()
    manifest.write_text(json.dumps(sizes))
    print(
        f"simulated {journeys:,} journeys in {time.perf_counter() - started:.0f} s", file=sys.stderr
    )
    return Dataset(journeys, paths, database, sizes)
