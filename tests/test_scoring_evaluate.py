"""Evaluation, drift, threshold and the walk-forward blocks, on numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from baton.errors import InvalidInput
from baton.scoring.drift import WARN, Reference, psi
from baton.scoring.evaluate import Evaluation, decile_table, evaluate
from baton.scoring.page import render
from baton.scoring.threshold import capacity_threshold, histogram
from baton.scoring.training import Fold, holdout_folds

# ten leads, best first; 4 converted (base rate 0.4)
P = np.array([0.95, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.25, 0.15, 0.05])
Y = np.array([1, 1, 0, 1, 0, 0, 1, 0, 0, 0])


def test_deciles_by_hand() -> None:
    d = decile_table(Y, P)
    assert list(d["leads"]) == [1] * 10
    assert list(d["converted"]) == [1, 1, 0, 1, 0, 0, 1, 0, 0, 0]
    assert list(d["lift"]) == pytest.approx([2.5, 2.5, 0, 2.5, 0, 0, 2.5, 0, 0, 0])
    assert list(d["gain"]) == pytest.approx([0.25, 0.5, 0.5, 0.75, 0.75, 0.75, 1, 1, 1, 1])
    # cumulative lift of the top three: 2 of 3 converted, over 0.4
    assert d["cumulative_lift"][2] == pytest.approx((2 / 3) / 0.4)
    assert list(d["mean_predicted"]) == pytest.approx(list(P))


def test_deciles_of_uneven_counts_and_ties() -> None:
    p = np.array([0.5] * 23)
    y = np.array([1] * 3 + [0] * 20)
    d = decile_table(y, p)
    # 23 leads: the first three deciles take three, the rest two; ties keep the leads' order
    assert list(d["leads"]) == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]
    assert list(d["converted"]) == [3, 0, 0, 0, 0, 0, 0, 0, 0, 0]


def test_metrics_by_hand() -> None:
    result = evaluate(Y, {"model": P, "flat": np.full(10, 0.4)}, protocol="test")
    model = result.contender("model")
    # of the 4 x 6 converted/not pairs, the converted lead scores higher in 20
    # (ranks of the converted leads among the six not converted: above 6, 6, 5, 3)
    assert model.roc_auc == pytest.approx(20 / 24)
    # precision at each converted lead: 1/1, 2/2, 3/4, 4/7
    assert model.pr_auc == pytest.approx((1 + 1 + 3 / 4 + 4 / 7) / 4)
    assert model.brier == pytest.approx(np.mean((P - Y) ** 2))
    flat = result.contender("flat")
    assert flat.roc_auc == 0.5 and flat.brier == pytest.approx(0.24)
    again = Evaluation.from_dict(result.to_dict())
    assert again.metrics().equals(result.metrics())
    assert result.base_rate == 0.4
    with pytest.raises(InvalidInput, match="same outcome"):
        evaluate(np.zeros(5), {"model": np.full(5, 0.1)})


def test_the_page_is_self_contained_with_a_chart_per_view() -> None:
    page = render(evaluate(Y, {"model": P, "flat": np.full(10, 0.4)}, protocol="by hand"))
    assert page.count("<svg") == 4
    for title in ("ROC curve", "Calibration by decile", "Cumulative gain", "Lift by decile"):
        assert f">{title}</text>" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<script" not in page
    assert "<td>0.8333</td>" in page  # the model's ROC AUC in the metrics table


def test_psi_by_hand() -> None:
    reference = Reference((0.5,), (0.5, 0.5))
    drift = psi(reference, np.array([0.1, 0.6, 0.7, 0.8]))
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert drift.psi == pytest.approx(expected)  # 0.2747
    assert drift.warn and expected > WARN
    assert not psi(reference, np.array([0.1, 0.9])).warn
    # an empty bin counts as 0.0001, so the index stays finite
    assert psi(reference, np.array([0.9, 0.9])).psi == pytest.approx(
        (1e-4 - 0.5) * math.log(1e-4 / 0.5) + 0.5 * math.log(2)
    )


def test_reference_bins_are_training_deciles() -> None:
    scores = np.arange(1, 101) / 100
    reference = Reference.of(scores)
    assert len(reference.edges) == 9
    assert reference.shares == pytest.approx((0.1,) * 10)
    assert psi(reference, scores).psi == pytest.approx(0.0)


def test_capacity_threshold_by_hand() -> None:
    p = np.array([0.9, 0.8, 0.6, 0.4, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05])
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0])
    scored = histogram(p, y)
    # 1,000 leads a month, sales can take 300: the top three tenths, whose scores are
    # 90, 80 and 60; any threshold above 40 and up to 60 gives 300, the lowest is 40.1
    plan = capacity_threshold(scored, leads_per_month=1000, capacity=300)
    assert plan.threshold == 40.1
    assert plan.mqls_per_month == pytest.approx(300)
    assert plan.expected_conversion == pytest.approx((0.9 + 0.8 + 0.6) / 3)
    assert plan.observed_conversion == pytest.approx(2 / 3)
    assert plan.customers_per_month == pytest.approx(300 * (0.9 + 0.8 + 0.6) / 3)
    assert plan.fits
    everyone = capacity_threshold(scored, leads_per_month=200, capacity=300)
    assert everyone.threshold == 0 and everyone.mqls_per_month == pytest.approx(200)


def test_walk_forward_blocks() -> None:
    assert holdout_folds(100, None, holdout=0.2, folds=4) == [
        Fold(80, 85),
        Fold(85, 90),
        Fold(90, 95),
        Fold(95, 100),
    ]
    assert holdout_folds(100, None, holdout=0.2, folds=1) == [Fold(80, 100)]
    # with months, blocks end where a month does once they hold at least 5 leads
    months = np.array(
        ["2026-01"] * 78 + ["2026-02"] * 6 + ["2026-03"] * 3 + ["2026-04"] * 10 + ["2026-05"] * 3
    )
    assert holdout_folds(100, months, holdout=0.2, folds=4) == [
        Fold(80, 87),
        Fold(87, 97),
        Fold(97, 100),
    ]
    with pytest.raises(InvalidInput, match="too few"):
        holdout_folds(2, None)
