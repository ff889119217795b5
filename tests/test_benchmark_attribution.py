"""The attribution benchmark still runs: its harness on 2,000 journeys, Baton agreeing with itself
and with ChannelAttribution's heuristics.

The benchmark itself (up to 5,000,000 journeys, minutes) is never run by the tests; this keeps
its code from rotting. The harness exits non-zero when Baton's heuristics differ from
ChannelAttribution's or its two ways of counting Markov transitions disagree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_attribution_benchmark_runs_and_writes_its_section(tmp_path: Path) -> None:
    pytest.importorskip(
        "ChannelAttribution", reason="the benchmark's peers: pip install baton[bench]"
    )
    pytest.importorskip("mam", reason="the benchmark's peers: pip install baton[bench]")
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Other\n\nkept as it is\n")
    command = [
        sys.executable, str(ROOT / "benchmarks" / "attribution.py"), "--journeys", "2000",
        "--data", str(tmp_path / "data"), "--out", str(out), "--runs", "1",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for _ in range(2):  # the second run replaces the section it wrote
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert report.count("## Attribution") == 1 and "kept as it is" in report
    for row in (
        "| heuristics | Baton: first, last, linear, U-shaped in one scan (DuckDB) | 2,000 |",
        "| heuristics | Baton: the registered first, last, linear, U-shaped models",
        "| heuristics | ChannelAttribution `heuristic_models`: first, last, linear | 2,000 |",
        "| markov | ChannelAttribution `markov_model`, order 1 (simulated) | 2,000 |",
        "| markov | DP6 `mam` Markov (exact; per-journey credit) | 2,000 |",
        "ChannelAttribution ÷ Baton, exact order-1 Markov",
    ):
        assert row in report, row
