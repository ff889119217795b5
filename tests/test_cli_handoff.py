"""The handoff commands as a user runs them: a SQLite store in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.fixtures.handoff import contract_text, new_mql, seed
from typer.testing import CliRunner

from baton.cli import app
from baton.store.engine import make_engine
from baton.store.migrate import upgrade

runner = CliRunner()


@pytest.fixture
def floor_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_DATABASE_URL", url)
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    monkeypatch.delenv("BATON_SMTP_HOST", raising=False)
    monkeypatch.delenv("BATON_WEBHOOK_URL", raising=False)
    (tmp_path / "baton.toml").write_text(contract_text())
    engine = make_engine(url)
    upgrade(engine)
    return engine


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


def test_route_explain_work_and_reject_a_lead(floor_folder: Engine) -> None:
    floor = seed(floor_folder)
    new_mql(floor_folder, floor, "pat@bigcorp.com", "Bigcorp")
    routed = run("lead", "route", "pat@bigcorp.com")
    assert "lead 1 → ana@co.com" in flat(routed)
    assert 'why: rule "enterprise" (Enterprise accounts) matched' in flat(routed)
    assert "already has an open assignment: ana@co.com" in flat(run("lead", "route", "1"))
    explained = run("lead", "routing", "1")
    assert "stage mql, owner ana@co.com" in flat(explained) and "reminder 50%" in explained
    data = json.loads(run("lead", "routing", "1", "--format", "json"))
    assert data["decisions"][0]["rule"] == "enterprise" and len(data["timers"]) == 4
    attempt = run("lead", "attempt", "1", "--by", "ana@co.com", "--kind", "email")
    assert (
        "lead 1: attempt by ana@co.com (in mql); 1 attempt so far; "
        "first touch: the SLA clock stopped; 3 SLA timers stopped" in flat(attempt)
    )
    assert "2 attempts so far" in flat(run("lead", "connect", "1"))
    refused = runner.invoke(app, ["lead", "reject", "1", "--reason", "too-small"])
    assert refused.exit_code == 1
    assert '"too-small" is not a rejection reason of the contract; use one of: no-budget' in flat(
        refused.output
    )
    rejected = run("lead", "reject", "1", "--reason", "no-budget", "--note", "next year")
    assert (
        "lead 1: reject by ana@co.com (mql → recycled); reason no-budget; 1 SLA timers stopped"
        in flat(rejected)
    )
    missing = runner.invoke(app, ["lead", "accept", "99"])
    assert missing.exit_code == 1 and "lead 99 does not exist" in missing.output


def test_accept_from_the_cli(floor_folder: Engine) -> None:
    floor = seed(floor_folder)
    new_mql(floor_folder, floor, "pat@bigcorp.com", "Bigcorp")
    run("lead", "route", "1")
    data = json.loads(run("lead", "accept", "1", "--format", "json"))
    assert (data["stage_from"], data["stage_to"], data["assignment_status"]) == (
        "mql",
        "sql",
        "accepted",
    )


def test_rep_set_and_list(floor_folder: Engine) -> None:
    seed(floor_folder)
    shown = run(
        "rep",
        "set",
        "zoe@co.com",
        "--team",
        "SMB Inbound",
        "--capacity",
        "5",
        "--weight",
        "2",
        "--hours",
        "08:00-16:00",
        "--timezone",
        "Europe/Berlin",
        "--ooo",
        "2026-12-24:2026-12-31",
    )
    assert "zoe@co.com" in shown and "2026-12-24:2026-12-31" in shown
    reps = {r["email"]: r for r in json.loads(run("rep", "list", "--format", "json"))}
    assert reps["zoe@co.com"] | {"user_id": 0} == {
        "user_id": 0,
        "email": "zoe@co.com",
        "name": "zoe",
        "team": "SMB Inbound",
        "role": "sales",
        "active": True,
        "weight": 2.0,
        "max_open": 5,
        "max_per_day": None,
        "timezone": "Europe/Berlin",
        "days": None,
        "hours": "08:00-16:00",
        "time_off": [["2026-12-24", "2026-12-31"]],
        "open_leads": 0,
    }
    cleared = json.loads(run("rep", "list", "--format", "json"))
    assert len(cleared) == 7
    bad = runner.invoke(app, ["rep", "set", "zoe@co.com", "--ooo", "2026-12-31:2026-12-24"])
    assert bad.exit_code == 1 and "ends before it starts" in bad.output
    run("rep", "set", "zoe@co.com", "--clear-ooo", "--capacity", "0")
    zoe = {r["email"]: r for r in json.loads(run("rep", "list", "--format", "json"))}["zoe@co.com"]
    assert (zoe["time_off"], zoe["max_open"]) == ([], None)


def test_worker_once_runs_what_is_due(floor_folder: Engine) -> None:
    floor = seed(floor_folder)
    new_mql(floor_folder, floor, "pat@bigcorp.com", "Bigcorp")
    run("lead", "route", "1")
    # no SMTP host or webhook URL: the two notifications are skipped, not retried
    assert "sent 0 notifications, 0 to retry, 0 failed, 2 skipped" in run("worker", "--once")


def test_dry_run_on_the_demo_shares_leads_evenly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{tmp_path / 'baton.db'}")
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    run("demo", "--leads", "1500", "--end", "2026-07-01", "--format", "json")
    # without owner-first, every MQL goes through the rules' round-robin
    run("init")
    toml = tmp_path / "baton.toml"
    toml.write_text(toml.read_text().replace("owner_first = true ", "owner_first = false"))
    run("contract", "apply")
    report = json.loads(run("route", "dry-run", "--since", "2025-01-01", "--format", "json"))
    assert report["mqls"] > 100 and report["unassigned"] == 0
    assert sum(r["leads"] for r in report["reps"]) == report["assigned"] == report["mqls"]
    assert set(report["by_step"]) <= {"enterprise", "mid-market", "default"}
    for pool in report["pools"]:
        # equal weights, no caps: loads differ by at most one lead
        per_rep = [r["by_step"].get(pool["pool"].removeprefix("rule:"), 0) for r in report["reps"]]
        mine = [n for n in per_rep if n]
        assert max(mine) - min(mine) <= 1
        assert pool["gini"] is not None and pool["gini"] < 0.05
    table = run("route", "dry-run", "--since", "2025-01-01")
    assert "Load per rep" in table and "Fairness per round-robin pool" in table
    csv = run("route", "dry-run", "--since", "2025-01-01", "--format", "csv")
    assert csv.splitlines()[0] == "rep,team,weight,leads,share,by_step"
