"""`baton attribution` on the committee history (``tests/fixtures/committee.py``) in a temporary
SQLite store, and the snapshots it saves, read back on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from tests.fixtures import committee
from typer.testing import CliRunner

from baton.analytics.attribution import MODELS, Journeys, Model
from baton.analytics.source import from_store
from baton.cli import app
from baton.contract import default_contract_text, parse_contract
from baton.service.attribution import (
    AttributionQuery,
    attribute,
    latest_snapshot,
    save_snapshots,
)
from baton.store.engine import make_engine
from baton.store.migrate import upgrade
from baton.store.tables import AttributionSnapshot
from baton.store.uow import UnitOfWork

runner = CliRunner()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: object) -> Iterator[Path]:
    url = f"sqlite:///{tmp_path / 'baton.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_DATABASE_URL", url)
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    engine = make_engine(url)
    upgrade(engine)
    committee.load(engine, clock)
    engine.dispose()
    yield tmp_path


def run(*args: str) -> str:
    result = runner.invoke(app, ["attribution", *args])
    assert result.exit_code == 0, result.output
    return result.output


def snapshots(folder: Path) -> int:
    engine = make_engine(f"sqlite:///{folder / 'baton.db'}")
    with UnitOfWork(engine) as uow:
        count = uow.session.scalar(select(func.count()).select_from(AttributionSnapshot)) or 0
    engine.dispose()
    return count


def test_models_side_by_side_as_json_and_saved(folder: Path) -> None:
    data = json.loads(
        run(
            "--model", "w-shaped", "--level", "account", "--outcome", "won", "--by", "campaign",
            "--compare", "first,last,linear", "--format", "json",
        )
    )  # fmt: skip
    assert data["totals"] == {"journeys": 5, "conversions": 2.0, "value": 1500.0, "nulls": 3.0}
    assert [m["model"] for m in data["models"]] == ["w-shaped", "first", "last", "linear"]
    assert all(m["snapshot_id"] for m in data["models"])
    assert all(r["reconciled"] for r in data["reconciliation"])
    rows = {(r["model"], r["channel"]): r for r in data["credit"]}
    # W-shaped: Conference (reached only N, who did not buy) holds the first touch of A1's
    # journey: 30% of one of the two conversions and of its 1,000
    assert rows["w-shaped", "Conference"]["share"] == pytest.approx(0.15)
    assert rows["w-shaped", "Conference"]["value"] == pytest.approx(300.0)
    assert rows["first", "Conference"]["value"] == pytest.approx(1000.0)
    assert rows["last", "Newsletter"]["value"] == pytest.approx(1000.0)  # T5, N's email
    assert rows["linear", "(no touch)"]["value"] == pytest.approx(500.0)
    assert data["models"][0]["parameters"]["w_shaped"]["opportunity"] == 0.3
    assert snapshots(folder) == 4


def test_the_table_shows_shares_and_money_and_the_reconciliation(folder: Path) -> None:
    output = run("--compare", "linear,time-decay", "--half-life", "3", "--no-save")
    assert "Attribution of won (account level, by channel" in output
    assert "w-shaped share" in output and "time-decay USD" in output
    assert "events" in output
    assert "Every model gives out exactly the 2 conversions" in output
    assert snapshots(folder) == 0


def test_csv_and_the_lookback_option(folder: Path) -> None:
    output = run("--model", "linear", "--lookback-days", "10", "--format", "csv", "--no-save")
    lines = output.strip().splitlines()
    assert lines[0] == "model,channel,conversions,value,share,value_share"
    # within 10 days of the win only N's email (T5) is left of A1's journey
    email = next(line for line in lines if line.startswith("linear,email,"))
    assert email.split(",")[3] == "1000.0"


def test_the_list_comes_from_the_registry_and_the_contract(folder: Path) -> None:
    Path("baton.toml").write_text(
        default_contract_text()
        + '\n[[attribution.custom]]\nkey = "first-and-deal"\nlabel = "Half first, half deal"\n'
        "first = 0.5\nopportunity = 0.5\n",
        encoding="utf-8",
    )
    output = run("--list")
    for name in [*MODELS, "first-and-deal"]:
        assert name in output
    data = json.loads(run("--model", "first-and-deal", "--format", "json", "--no-save"))
    rows = {r["channel"]: r for r in data["credit"]}
    # A1: first touch T1 (events) half, the deal's touch T4 (direct) half; A3's to (no touch)
    assert rows["events"]["value"] == pytest.approx(500.0)
    assert rows["direct"]["value"] == pytest.approx(500.0)


def test_mistakes_are_one_line_errors(folder: Path) -> None:
    for args, message in (
        (["--model", "w-shape"], 'did you mean "w-shaped"'),
        (["--level", "company"], '--level "company" is not known'),
        (["--period", "2026-13"], "is not a period"),
        (["--format", "xml"], '--format "xml" is not a format'),
        (["--half-life", "0", "--compare", "time-decay"], "--half-life must be a positive"),
    ):
        result = runner.invoke(app, ["attribution", *args])
        assert result.exit_code == 1, args
        assert message in result.output, (args, result.output)


def test_snapshots_are_saved_and_the_latest_read_back(
    engine: Engine, database_url: str, clock: object
) -> None:
    committee.load(engine, clock)
    contract = parse_contract(default_contract_text())
    tables = from_store(database_url)
    try:
        query = AttributionQuery(("w-shaped", "linear"), outcome="won", level="account")
        result = attribute(tables, contract, query)
    finally:
        tables.close()
    for _ in range(2):
        with UnitOfWork(engine) as uow:
            ids = save_snapshots(uow.session, result, clock=clock)  # type: ignore[arg-type]
            uow.commit()
    with UnitOfWork(engine) as uow:
        snap = latest_snapshot(uow.session, "w-shaped", outcome="won", level="account")
        assert snap is not None and snap.id == ids[0]
        assert snap.engine == result.engine
        assert snap.parameters["lookback_days"] == 90
        assert snap.totals.conversions == 2.0 and snap.totals.nulls == 3.0
        assert abs(snap.conversions_residual) < 1e-9
        credit = snap.credit.set_index("channel")
        assert credit.loc["events", "value"] == pytest.approx(300.0)
        assert credit["conversions"].sum() == pytest.approx(2.0)
        assert latest_snapshot(uow.session, "w-shaped", outcome="won", level="contact") is None
        assert latest_snapshot(uow.session, "first", outcome="won", level="account") is None


def test_a_registered_model_returning_pandas_plugs_in(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def everything_to_events(journeys: Journeys, *, order: int = 1) -> pd.DataFrame:
        # a stand-in for a data-driven model: small numbers computed in Python, one row only
        rows = journeys.journeys.execute()
        conversions, value = rows["conversions"].sum(), rows["value"].sum()
        return pd.DataFrame({"channel": ["events"], "conversions": [conversions * order],
                             "value": [value * order]})  # fmt: skip

    monkeypatch.setitem(
        MODELS, "toy", Model("toy", "all to events", everything_to_events, params=("order",))
    )
    assert "toy" in run("--list")
    data = json.loads(run("--model", "toy", "--compare", "linear", "--format", "json"))
    toy = {r["channel"]: r["value"] for r in data["credit"] if r["model"] == "toy"}
    # every channel of the journeys is listed under the new model too, with 0
    assert toy == {
        "events": 1500.0, "paid_search": 0.0, "email": 0.0, "direct": 0.0, "referral": 0.0,
        "paid_social": 0.0, "(no touch)": 0.0,
    }  # fmt: skip
    assert all(r["reconciled"] for r in data["reconciliation"])
    assert data["models"][0]["parameters"] == {}  # the service passes no "order" (yet)
