"""The public lead datasets: what the loaders keep and leave out, and the acceptance of the
predictive score: on both, it beats Odoo's naive Bayes and the logistic regression on ROC AUC
and Brier score on the same held-out leads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from baton.errors import InvalidInput, NotFound
from baton.scoring.datasets import BANK, X_EDUCATION, load_file, load_named
from baton.scoring.evaluate import LOGISTIC, MODEL, NAIVE_BAYES
from baton.scoring.predictive import LeadScoreModel
from baton.scoring.reasons import explain
from baton.scoring.training import Trained, train

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def x_education(shared_data: Path):  # type: ignore[no-untyped-def]
    return load_named(X_EDUCATION, shared_data)


@pytest.fixture(scope="module")
def bank(shared_data: Path):  # type: ignore[no-untyped-def]
    return load_named(BANK, shared_data)


def test_x_education_leaves_out_what_sales_fills_in(x_education) -> None:  # type: ignore[no-untyped-def]
    d = x_education
    assert len(d) == 9240 and int(d.label.sum()) == 3561
    left = {c.column for c in d.left_out}
    for column in (
        "Tags",
        "Lead Quality",
        "Lead Profile",
        "Asymmetrique Activity Index",
        "Asymmetrique Profile Index",
        "Asymmetrique Activity Score",
        "Asymmetrique Profile Score",
        "Last Activity",
        "Last Notable Activity",
        "Converted",
        "Prospect ID",
        "Lead Number",
    ):
        assert column in left and column not in d.frame.columns
    assert all(c.reason for c in d.left_out)
    assert set(d.features.names) == set(d.frame.columns)
    numbers = sorted(int(i) for i in d.ids)
    assert [int(i) for i in d.ids] == numbers  # rows in Lead Number order
    assert not (d.frame == "Select").any().any()  # "Select" is read as not filled in
    assert d.at is None


def test_bank_leaves_out_the_call_length_and_dates_the_months(bank) -> None:  # type: ignore[no-untyped-def]
    d = bank
    assert len(d) == 41188 and int(d.label.sum()) == 4640
    assert "duration" not in d.frame.columns and "y" not in d.frame.columns
    at = pd.to_datetime(d.at)
    assert (at.iloc[0], at.iloc[-1]) == (pd.Timestamp("2008-05-01"), pd.Timestamp("2010-11-01"))
    assert at.is_monotonic_increasing
    months = d.months()
    assert (
        months is not None and len(set(months)) == 26
    )  # May-Dec 2008 less Sep, Mar-Dec 09, Mar-Nov 10
    assert d.frame["pdays"].isna().mean() > 0.9  # 999 read as "not called before"


def test_a_csv_is_recognised_by_its_header(tmp_path: Path, shared_data: Path) -> None:
    assert load_file(shared_data / "x-education-leads" / "Leads.csv").name == X_EDUCATION
    other = tmp_path / "leads.csv"
    other.write_text(
        "signup,source,visits,won\n2026-01-03,web,3,yes\n2026-01-01,ads,1,no\n2026-01-02,web,2,no\n"
    )
    with pytest.raises(InvalidInput, match="--label"):
        load_file(other)
    d = load_file(other, label="won", order="signup")
    assert list(d.label) == [0, 0, 1] and list(d.frame.columns) == ["source", "visits"]
    assert list(d.months()) == ["2026-01"] * 3
    bad = tmp_path / "bad.csv"
    bad.write_text("source,won\nweb,maybe\n")
    with pytest.raises(InvalidInput, match=r'bad\.csv row 2 column won: "maybe" is not an outcome'):
        load_file(bad, label="won")
    with pytest.raises(NotFound):
        load_named(X_EDUCATION, tmp_path)


@pytest.fixture(scope="module")
def trained(x_education, bank) -> dict[str, Trained]:  # type: ignore[no-untyped-def]
    return {X_EDUCATION: train(x_education), BANK: train(bank)}


@pytest.mark.parametrize("name", [X_EDUCATION, BANK])
def test_the_model_beats_both_baselines_on_the_same_holdout(trained, name: str) -> None:  # type: ignore[no-untyped-def]
    evaluation = trained[name].evaluation
    model = evaluation.contender(MODEL)
    for baseline in (NAIVE_BAYES, LOGISTIC):
        other = evaluation.contender(baseline)
        assert model.roc_auc > other.roc_auc, (name, baseline, model.roc_auc, other.roc_auc)
        assert model.brier < other.brier, (name, baseline, model.brier, other.brier)
    # every contender was scored on the same held-out leads: the latest 20%
    assert evaluation.leads == len(trained[name].holdout_rows)
    assert all(c.deciles["leads"].sum() == evaluation.leads for c in evaluation.contenders)


def test_the_figures_in_the_docs(trained) -> None:  # type: ignore[no-untyped-def]
    """docs/scoring.md quotes these figures; rounding to three places keeps them honest."""
    docs = (Path(__file__).resolve().parents[1] / "docs" / "scoring.md").read_text()
    for name, run in trained.items():
        for c in run.evaluation.contenders:
            row = f"| {name} | {c.name} | {c.roc_auc:.3f} | {c.pr_auc:.3f} | {c.brier:.3f} |"
            assert row in docs, row


def test_walk_forward_scores_each_block_with_earlier_leads_only(trained, bank) -> None:  # type: ignore[no-untyped-def]
    run = trained[BANK]
    labelled = bank.training_rows()
    assert run.folds[0].start == int(len(labelled) * 0.8)
    months = bank.months()
    for fold in run.folds[1:]:  # later blocks start on a new month
        assert months[fold.start] != months[fold.start - 1]
    assert run.folds[-1].end == len(labelled)


def test_reasons_of_a_held_out_lead_add_up(x_education) -> None:  # type: ignore[no-untyped-def]
    d = x_education
    model = LeadScoreModel(d.features).fit(d.frame.iloc[:8000], d.label[:8000])
    lead = d.frame.iloc[[9000]]  # a later lead the model never saw
    why = explain(model, lead, name=str(d.ids.iloc[9000]))
    assert why.base + sum(r.contribution for r in why.reasons) == pytest.approx(why.raw, abs=1e-9)
    assert why.raw == pytest.approx(model.decision_function(lead)[0])
    assert why.probability == pytest.approx(model.predict_proba(lead)[0, 1])
    assert [r.text for r in why.up()] and all(
        " = " in r.text or "not filled in" in r.text for r in why.reasons
    )
