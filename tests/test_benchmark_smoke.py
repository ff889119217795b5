"""The scoreboard benchmark still runs: its harness on 2,000 leads, every contender agreeing.

The benchmark itself (a million leads, minutes) is never run by the tests; this keeps its
code from rotting. The harness exits non-zero when any contender's funnel differs from the
hand-written SQL's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from baton.store.engine import normalize_url

ROOT = Path(__file__).resolve().parents[1]


def test_the_benchmark_harness_runs_and_the_contenders_agree(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Other\n\nkept as it is\n")
    command = [
        sys.executable, str(ROOT / "benchmarks" / "scoreboard.py"), "--leads", "2000",
        "--data", str(tmp_path / "data"), "--out", str(out), "--runs", "1",
    ]  # fmt: skip
    server = os.environ.get("BATON_TEST_DATABASE_URL")
    database = f"baton_bench_{uuid.uuid4().hex[:12]}"
    if server:
        command += ["--postgres", server, "--postgres-database", database]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    try:
        for _ in range(2):  # the second run replaces the section it wrote
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stderr
    finally:
        if server:
            admin = create_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                found = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
                )
                if found.first():
                    conn.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
            admin.dispose()
    report = out.read_text()
    assert report.count("## Scoreboard") == 1 and "kept as it is" in report
    for row in ("| Baton full scoreboard (Ibis) | DuckDB file | 2,000 |", "| hand-written SQL |",
                "| pandas", "| Baton full scoreboard (Ibis) | SQLite | 2,000 |", "Baton funnel section ÷ hand-written funnel SQL"):
        assert row in report, row
    if server:
        assert "| Baton full scoreboard (Ibis) | PostgreSQL | 2,000 |" in report
