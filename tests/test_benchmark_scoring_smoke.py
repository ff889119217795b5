"""The scoring benchmark still runs: its harness on 3,000 leads, writing only its own section.

The benchmark itself (a million leads, minutes) is never run by the tests; this keeps its code
from rotting.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_scoring_benchmark_runs_and_keeps_other_sections(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Other\n\nkept as it is\n")
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "scoring.py"),
        "--leads",
        "3000",
        "--runs",
        "1",
        "--single",
        "100",
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for _ in range(2):  # the second run replaces the section it wrote
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert report.count("## Lead scoring") == 1 and "kept as it is" in report
    for row in (
        "| LightGBM, calibrated (Baton's model) | 3,000 |",
        "| logistic regression | 3,000 |",
        "| naive Bayes (Odoo) | 3,000 |",
        "| `score_lead` (probability) |",
        "| batch scoring, leads/s |",
        "| single lead p99 |",
        "| training on 3,000 leads |",
    ):
        assert row in report, row
