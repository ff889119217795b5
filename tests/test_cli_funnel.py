"""``baton funnel`` as a user runs it, on the ten-lead history in a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli import app

runner = CliRunner()


@pytest.fixture
def store(ten_lead_folder: Path) -> Path:
    return ten_lead_folder


def test_the_funnel_table(store: Path) -> None:
    result = runner.invoke(app, ["funnel", "--by", "channel", "--cohort", "month", "--period", "2026-Q3"])
    assert result.exit_code == 0, result.output
    assert "Funnel, 2026-Q3, by channel, monthly cohorts" in result.output
    assert "paid_search · 2026-07" in result.output
    # the overall group comes last: 4 of 4 opportunities, 2 won, median 43.5 days
    last = result.output.strip().splitlines()[-1].split()
    assert last[:3] == ["opportunity", "→", "customer"] and last[3:] == ["4", "2", "50.0%", "2", "43.5", "47.8", "50.3"]


def test_json_and_csv(store: Path) -> None:
    result = runner.invoke(app, ["funnel", "--stages", "mql,customer", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"funnel": [{
        "step": 0, "stage": "mql", "next_stage": "customer", "entered": 8, "converted": 3,
        "conversion": 0.375, "timed": 3, "median_days": 40.0, "p75_days": 48.0, "p90_days": 52.8,
    }]}
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["funnel", "--format", "csv"]).output)))
    assert [(r["stage"], r["entered"], r["timed"], r["median_days"]) for r in rows] == [
        ("subscriber", "10", "0", ""), ("lead", "9", "8", str(240.5 / 24)), ("mql", "8", "5", "2.0"),
        ("sql", "5", "5", "2.0"), ("opportunity", "5", "3", "35.0"),
    ]


def test_stuck(store: Path) -> None:
    result = runner.invoke(app, ["funnel", "--stuck", "--as-of", "2026-07-21", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["as_of"] == "2026-07-21T00:00:00+00:00"
    assert [(r["external_id"], r["stage"], r["owner"]) for r in data["stuck"]] == [
        ("L4", "mql", "Ann"), ("L6", "mql", "Ann")
    ]
    table = runner.invoke(app, ["funnel", "--stuck", "--as-of", "2026-07-21"])
    assert "Stuck leads at 2026-07-21 00:00 UTC (2)" in table.output and "L6" in table.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--by", "region"], '"region" is not a breakdown'),
        (["--cohort", "day"], '"day" is not a cohort'),
        (["--period", "2026-Q5"], '"2026-Q5" is not a period'),
        (["--stages", "customer,mql"], "in path order"),
        (["--format", "xml"], '"xml" is not a format'),
        (["--stuck", "--as-of", "soon"], '--as-of "soon" is not a date'),
    ],
)
def test_bad_options_are_one_line_errors(store: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["funnel", *args])
    assert result.exit_code == 1
    assert message in result.output
