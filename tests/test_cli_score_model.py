"""`baton score train | evaluate | explain | threshold | drift` as a user runs them, on the
X Education leads, and the contract's sales capacity they read."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from baton.cli import app
from baton.contract import default_contract_text, parse_contract
from baton.errors import ContractInvalid
from baton.service.predictive import capacity

runner = CliRunner()
pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A folder where `baton score train --data x-education` has run (two walk-forward blocks)."""
    folder = tmp_path_factory.mktemp("score")
    with pytest.MonkeyPatch.context() as env:
        _environment(env, folder, shared_data)
        result = runner.invoke(
            app, ["score", "train", "--data", "x-education", "--folds", "2", "--format", "json"]
        )
    assert result.exit_code == 0, result.output
    return folder


def _environment(env: pytest.MonkeyPatch, folder: Path, shared_data: Path) -> None:
    env.chdir(folder)
    env.setenv("BATON_DATABASE_URL", f"sqlite:///{folder / 'baton.db'}")
    env.setenv("BATON_MODEL_DIR", str(folder / "models"))
    env.setenv("BATON_DATASETS", str(shared_data))
    env.delenv("BATON_CONTRACT", raising=False)


@pytest.fixture
def here(workdir: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    _environment(monkeypatch, workdir, shared_data)
    return workdir


def test_train_writes_the_model_and_its_card(here: Path) -> None:
    body = json.loads((here / "models" / "x-education.json").read_text())
    card = body["card"]
    assert card["data"]["name"] == "x-education" and card["data"]["labelled"] == 9240
    assert {c["column"] for c in card["data"]["left_out"]} >= {
        "Tags",
        "Lead Quality",
        "Lead Profile",
    }
    assert set(card["metrics"]) == {"model", "naive_bayes", "logistic"}
    assert card["versions"]["lightgbm"] and len(card["params_hash"]) == 64


def test_evaluate_prints_tables_and_writes_the_page(here: Path) -> None:
    result = runner.invoke(app, ["score", "evaluate", "--html", "eval.html"])
    assert result.exit_code == 0, result.output
    for text in ("LightGBM, calibrated", "naive Bayes (Odoo)", "logistic regression", "by decile"):
        assert text in result.output
    page = (here / "eval.html").read_text()
    assert page.count("<svg") == 4 and "<script" not in page
    csv = runner.invoke(app, ["score", "evaluate", "--format", "csv"])
    deciles = pd.read_csv(pd.io.common.StringIO(csv.output))
    assert set(deciles["model"]) == {"model", "naive_bayes", "logistic"} and len(deciles) == 30
    data = json.loads(runner.invoke(app, ["score", "evaluate", "--format", "json"]).output)
    assert data["leads"] == 1848 and len(data["contenders"]) == 3


def test_explain_words_the_reasons(here: Path) -> None:
    result = runner.invoke(app, ["score", "explain", "660737", "--format", "json"])
    assert result.exit_code == 0, result.output
    why = json.loads(result.output)
    assert why["lead"] == "660737" and 0 <= why["score"] <= 100
    total = why["base"] + sum(why["contributions"].values())
    assert total == pytest.approx(why["raw"], abs=1e-9)
    for reason in why["up"]:
        assert reason["contribution"] > 0 and "raised the score" in reason["text"]
    table = runner.invoke(app, ["score", "explain", "660737"])
    assert "lead 660737: score" in table.output and "base" in table.output
    missing = runner.invoke(app, ["score", "explain", "1"])
    assert missing.exit_code == 1 and 'no lead "1" in x-education' in missing.output


def test_explain_refuses_data_missing_a_feature(here: Path, shared_data: Path) -> None:
    leads = pd.read_csv(shared_data / "x-education-leads" / "Leads.csv")
    leads.drop(columns=["City", "TotalVisits"]).to_csv(here / "fewer.csv", index=False)
    result = runner.invoke(app, ["score", "explain", "660737", "--data", "fewer.csv"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert (
        'fewer.csv lacks the features "TotalVisits", "City" that the model was trained on'
        in message
    )


def test_threshold_needs_a_monthly_volume_without_dates(here: Path) -> None:
    refused = runner.invoke(app, ["score", "threshold"])
    assert refused.exit_code == 1 and "--leads-per-month" in refused.output
    result = runner.invoke(
        app, ["score", "threshold", "--leads-per-month", "1000", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["capacity"] == 400  # sla.marketing.mql_per_month, as no capacity is set
    assert plan["at_threshold"]["mqls_per_month"] <= 400 and plan["fits"]
    # the next tenth down would be over capacity
    table = runner.invoke(
        app, ["score", "threshold", "--leads-per-month", "1000", "--format", "csv"]
    )
    rows = pd.read_csv(pd.io.common.StringIO(table.output))
    step = round(plan["threshold"] * 10)
    assert rows["mqls_per_month"][step - 1] > 400 >= rows["mqls_per_month"][step]
    text = runner.invoke(app, ["score", "threshold", "--leads-per-month", "1000"]).output
    assert f"Proposed MQL threshold: score {plan['threshold']:g}" in text


def test_drift_compares_the_latest_leads(here: Path) -> None:
    result = runner.invoke(app, ["score", "drift", "--format", "json"])
    assert result.exit_code == 0, result.output
    drift = json.loads(result.output)
    assert drift["recent"].startswith("the latest 924 leads by Lead Number")
    assert drift["psi"] == pytest.approx(sum(b["psi"] for b in drift["bins"]))
    assert drift["warn"] == (drift["psi"] > 0.2)


def test_no_model_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_MODEL_DIR", str(tmp_path / "none"))
    result = runner.invoke(app, ["score", "evaluate"])
    assert result.exit_code == 1 and "train one with `baton score train`" in result.output


def test_sales_capacity_in_the_contract() -> None:
    contract = parse_contract(default_contract_text())
    assert contract.sla.sales.capacity_mql_per_month is None and capacity(contract) == 400
    text = default_contract_text().replace(
        "# capacity_mql_per_month = 400", "capacity_mql_per_month = 250"
    )
    assert capacity(parse_contract(text)) == 250
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(text.replace("capacity_mql_per_month = 250", "capacity_mql_per_month = 0"))
    assert str(caught.value.problems[0]).startswith("sla.sales.capacity_mql_per_month: ")
