"""``baton scoreboard`` and ``baton import spend`` as a user runs them, on a real SQLite file."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest
from tests.fixtures import ten_leads
from typer.testing import CliRunner

from baton.analytics.kpis import KPIS
from baton.cli import app
from baton.contract import default_contract_text, parse_contract
from baton.service.scoreboard import current_quarter

runner = CliRunner()


@pytest.fixture
def workdir(ten_lead_folder: Path) -> Path:
    """A folder with a store holding the ten-lead history and its spend."""
    tmp_path = ten_lead_folder
    (tmp_path / "spend.csv").write_text(
        "month,channel,campaign,amount\n"
        "2026-07,paid_search,C-paid_search,3000\n"
        "2026-08,events,events campaign,6000\n",
        encoding="utf-8",
    )
    imported = runner.invoke(app, ["import", "spend", "spend.csv", "--source", ten_leads.SOURCE])
    assert imported.exit_code == 0, imported.output
    return tmp_path


def test_json_parses_and_holds_the_numbers(workdir: Path) -> None:
    result = runner.invoke(app, ["scoreboard", "--period", "2026-Q3", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["period"] == {"label": "2026-Q3", "first": "2026-07-01", "last": "2026-09-30"}
    by_kpi = {row["kpi"]: row for row in doc["kpis"]}
    assert list(by_kpi) == [k.key for k in KPIS]
    # 3 of the 4 deals closed in Q3 were won; 9,000 of spend over 3 new customers
    assert by_kpi["win_rate"]["value"] == 0.75
    assert by_kpi["cac"]["value"] == 3_000
    assert by_kpi["logo_retention"]["value"] is None
    assert "no renewals" in by_kpi["logo_retention"]["note"]


def test_explain_prints_every_kpi_and_its_definition(workdir: Path) -> None:
    result = runner.invoke(app, ["scoreboard", "--period", "2026-Q3", "--explain"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for kpi in KPIS:
        assert kpi.name in text
        assert " ".join(kpi.definition.split()[:12]) in text
    assert "75.0%" in text  # the win rate in the table


def test_csv_by_channel(workdir: Path) -> None:
    result = runner.invoke(
        app, ["scoreboard", "--period", "2026-Q3", "--by", "channel", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(io.StringIO(result.output))
    win = frame[frame["kpi"] == "win_rate"].set_index("group")["value"].to_dict()
    assert win == {"(all)": 0.75, "paid_search": 0.5, "events": 1.0, "organic_search": 1.0}


def test_bad_options_are_one_line_errors(workdir: Path) -> None:
    period = runner.invoke(app, ["scoreboard", "--period", "2026-Q5"])
    assert period.exit_code == 1 and '"2026-Q5" is not a period' in period.output
    by = runner.invoke(app, ["scoreboard", "--by", "chanel"])
    assert by.exit_code == 1 and 'did you mean "channel"' in by.output
    fmt = runner.invoke(app, ["scoreboard", "--format", "xml"])
    assert fmt.exit_code == 1 and "table, csv or json" in fmt.output


def test_the_default_period_is_the_quarter_in_the_contracts_zone() -> None:
    contract = parse_contract(default_contract_text())  # America/New_York
    # 02:00 UTC on October 1st is still September 30th in New York: the third quarter
    late = current_quarter(contract, dt.datetime(2026, 10, 1, 2, tzinfo=dt.UTC))
    assert (late.label, late.first) == ("2026-Q3", dt.date(2026, 7, 1))
    assert current_quarter(contract, dt.datetime(2026, 10, 1, 5, tzinfo=dt.UTC)).label == "2026-Q4"
