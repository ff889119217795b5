"""``baton score run`` and ``baton score show`` as a user runs them, on a real SQLite file."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from baton.cli import app
from baton.contract import default_contract_text

runner = CliRunner()


def said(result: object) -> str:
    """The output with Rich's line wrapping undone."""
    return " ".join(str(getattr(result, "output", "")).split())


def test_run_then_show(ten_lead_folder: Path) -> None:
    # a contract that makes every open lead with an email an MQL, whatever its score
    text = default_contract_text().replace("min_score = 50", "min_score = 0", 1)
    (ten_lead_folder / "baton.toml").write_text(text, encoding="utf-8")

    result = runner.invoke(app, ["score", "run"])
    assert result.exit_code == 0, result.output
    # open: L3 (recycled), L7 (lead), L9 (subscriber); no account has a size, so the last model
    assert "small-business" in result.output
    assert "3 of 3 open leads scored; 3 became MQL" in said(result)

    result = runner.invoke(app, ["score", "show", "L7"])
    assert result.exit_code == 0, result.output
    assert "lead L7 (ten-leads, number" in said(result) and "stage mql" in said(result)
    assert "model small-business" in said(result) and "Breakdown" in said(result)
    assert "No company given" in said(result)

    result = runner.invoke(app, ["score", "show", "L7", "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["external_id"] == "L7" and shown["model"] == "small-business"
    points = sum((Decimal(str(line["points"])) for line in shown["breakdown"]), Decimal(0))
    assert points == Decimal(str(shown["score"]))

    result = runner.invoke(app, ["score", "run", "--format", "json"])
    assert result.exit_code == 0, result.output
    again = json.loads(result.output)
    assert (again["open_leads"], again["scored"], again["became_mql"]) == (0, 0, 0)


def test_mistakes_are_one_line_errors(ten_lead_folder: Path) -> None:
    result = runner.invoke(app, ["score", "show", "L7"])
    assert result.exit_code == 1
    assert "has no score yet; run `baton score run` first" in said(result)

    result = runner.invoke(app, ["score", "show", "nobody"])
    assert result.exit_code == 1 and 'no lead "nobody"' in said(result)

    result = runner.invoke(app, ["score", "run", "--model", "enterprize"])
    assert result.exit_code == 1 and 'did you mean "enterprise"?' in said(result)

    result = runner.invoke(app, ["score", "run", "--at", "yesterday"])
    assert result.exit_code == 1 and '--at "yesterday" is not a date' in said(result)

    result = runner.invoke(app, ["score", "run", "--format", "csv"])
    assert result.exit_code == 1 and "use table or json" in said(result)
