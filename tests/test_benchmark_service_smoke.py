"""The service benchmark still runs: its harness at a tiny size, on SQLite and (when configured)
PostgreSQL, writing its section and leaving the rest of the file alone.

The benchmark itself (100,000 events, a minute or more) is never run by the tests; the harness
exits non-zero when the store does not hold every event it sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_service_benchmark_runs_and_checks_every_event_is_stored(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Other\n\nkept as it is\n")
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "service.py"),
        "--events",
        "600",
        "--batch",
        "50",
        "--senders",
        "2",
        "--warmup",
        "100",
        "--forms",
        "20",
        "--out",
        str(out),
    ]
    server = os.environ.get("BATON_TEST_DATABASE_URL")
    if server:
        command += ["--postgres", server]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    for _ in range(2):  # the second run replaces the section it wrote
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False, timeout=300
        )
        assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert report.count("## Service: events in") == 1 and "kept as it is" in report
    assert "| SQLite | 600 |" in report and "### Speed-to-lead" in report
    # every form's lead became an MQL and got an owner inside its request
    assert "| SQLite | 20 | 20 | 20 |" in report
    if server:
        assert "| PostgreSQL | 600 |" in report and "| PostgreSQL | 20 | 20 | 20 |" in report
