"""`baton sla`, `baton goals` and `baton plan` on a demo store in a temporary SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baton.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store filled by `baton demo --leads 2000`, its window ending 2026-10-01."""
    folder = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv("BATON_DATABASE_URL", f"sqlite:///{folder / 'baton.db'}")
        mp.delenv("BATON_CONTRACT", raising=False)
        result = runner.invoke(
            app, ["demo", "--leads", "2000", "--end", "2026-10-01", "--format", "json"]
        )
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def store(demo_store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(demo_store)
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{demo_store / 'baton.db'}")
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    yield demo_store


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_sla_json_has_both_sides(store: Path) -> None:
    data = json.loads(run("sla", "--period", "2026-Q3", "--format", "json"))
    assert data["period"] == "2026-Q3"
    assert data["terms"]["sales"] == {
        "first_touch_hours": 4.0,
        "attempts": 6,
        "attempts_within_days": 10,
        "capacity_mql_per_month": None,  # unset: the threshold uses marketing's mql_per_month
    }
    reps, overall = data["sales"][:-1], data["sales"][-1]
    assert overall["rep"] == overall["team"] == "(all)"
    assert reps and overall["mqls"] == sum(r["mqls"] for r in reps) > 0
    for row in data["sales"]:
        assert row["within"] + row["breached"] + row["open"] == row["mqls"]
        assert 0 <= row["within_rate"] <= 1 and row["median_hours"] >= 0
    volume = data["marketing"]["volume"]
    assert [v["month"] for v in volume] == ["2026-07", "2026-08", "2026-09"]
    assert sum(v["mqls"] for v in volume) == overall["mqls"]
    a = data["marketing"]["acceptance"]
    assert a["accepted"] + a["rejected"] + a["pending"] == overall["mqls"]
    assert 0 < a["rate"] < 1 and a["target"] == 0.6


def test_sla_by_team_as_csv_and_table(store: Path) -> None:
    lines = run("sla", "--period", "2026-Q3", "--by", "team", "--format", "csv").splitlines()
    assert lines[0].startswith("team,mqls,touched,within,breached,open,within_rate")
    assert lines[-1].startswith("(all),")
    table = run("sla", "--period", "2026-Q3")
    assert "Sales SLA" in table and "Marketing SLA" in table and "Acceptance" in table


def test_plan_walks_the_funnel_backwards(store: Path) -> None:
    data = json.loads(
        run("plan", "--revenue", "1000000", "--period", "2026-Q4", "--format", "json")
    )
    assert data["lookback"] == "2025-10-01 to 2026-09-30"
    needed = {s["step"]: s["needed"] for s in data["steps"]}
    assert needed["revenue"] == 1_000_000
    # each rate is at most 1, so every step up the funnel needs at least as many
    counts = [needed[k] for k in ("customers", "opportunities", "sqls", "mqls", "leads")]
    assert counts == sorted(counts) and counts[0] > 0
    assert all(isinstance(n, int) for n in counts)
    assert "Plan for 1,000,000 USD" in run("plan", "--revenue", "1000000", "--period", "2026-Q4")


def test_goals_list_the_contract_goals(store: Path) -> None:
    data = json.loads(run("goals", "--format", "json"))
    assert [g["key"] for g in data] == ["revenue-2026", "customers-2026-q4"]
    assert all(g["state"] in ("not started", "in progress", "ended") for g in data)
    assert "Shared goals" in run("goals")


@pytest.mark.parametrize(
    "args, message",
    [
        (["plan", "--revenue", "1000000", "--period", "2020-Q1"], "cannot plan 2020-Q1"),
        (["plan", "--revenue", "-5", "--period", "2026-Q4"], "positive"),
        (["sla", "--by", "channel"], "--by"),
        (["sla", "--format", "xml"], "--format"),
        (["sla", "--period", "2026-Q5"], "not a period"),
    ],
)
def test_bad_requests_say_what_to_do(store: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert message in result.output
