"""The baselines: Odoo's naive Bayes checked against numbers worked out by hand, and the
logistic regression on the same features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from baton.errors import InvalidInput, NotFitted
from baton.scoring.baselines import LogisticBaseline, OdooNaiveBayes

# eight closed leads: source A won 3 lost 1, B won 1 lost 3; country X won 2 lost 2,
# Z won 1 lost 2, Y won 1 (one lead: under min_count=2, so ignored)
LEADS = pd.DataFrame(
    {
        "source": ["A", "A", "A", "B", "B", "B", "A", "B"],
        "country": ["X", "X", "Z", "X", "Z", "Y", "Z", "X"],
    }
)
WON = np.array([1, 1, 0, 0, 0, 1, 1, 0])


def test_naive_bayes_follows_odoo_by_hand() -> None:
    nb = OdooNaiveBayes(min_count=2).fit(LEADS, WON)
    # counts + 0.1: source A 3.1/1.1, B 1.1/3.1 (totals 4.2/4.2);
    # country X 2.1/2.1, Z 1.1/2.1 (totals 3.2/4.2; Y dropped); prior 4.1/4.1
    won = 0.5 * (3.1 / 4.2) * (1.1 / 3.2)
    lost = 0.5 * (1.1 / 4.2) * (2.1 / 4.2)
    leads = pd.DataFrame({"source": ["A", "B", "A", "C"], "country": ["Z", "Y", None, "X"]})
    p = nb.predict_proba(leads)[:, 1]
    assert p[0] == pytest.approx(won / (won + lost))  # 0.6588...
    assert p[1] == pytest.approx(1.1 / 4.2)  # Y was dropped: source alone
    assert p[2] == pytest.approx(3.1 / 4.2)  # an empty value is skipped
    # an unknown source is skipped; X has as many won as lost leads, yet raises the
    # probability, because Odoo divides by each variable's own totals (3.2 won, 4.2 lost)
    assert p[3] == pytest.approx((2.1 / 3.2) / (2.1 / 3.2 + 2.1 / 4.2))
    assert list(nb.tables_["country"].index) == ["X", "Z"]


def test_a_value_with_too_few_leads_is_left_out_of_its_variable() -> None:
    nb = OdooNaiveBayes(min_count=1).fit(LEADS, WON)
    # with Y kept, country's won total is 2.1 + 1.1 + 1.1 = 4.3 and lost 2.1 + 2.1 + 0.1 = 4.3
    x = nb.predict_proba(pd.DataFrame({"source": [None], "country": ["X"]}))[0, 1]
    assert x == pytest.approx((2.1 / 4.3) / (2.1 / 4.3 + 2.1 / 4.3))
    z = nb.predict_proba(pd.DataFrame({"source": [None], "country": ["Z"]}))[0, 1]
    assert z == pytest.approx((1.1 / 4.3) / (1.1 / 4.3 + 2.1 / 4.3))


def test_numbers_are_cut_into_bins_of_the_training_rows() -> None:
    leads = pd.DataFrame({"visits": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    nb = OdooNaiveBayes(min_count=1, bins=2).fit(leads, WON)
    np.testing.assert_array_equal(nb.edges_["visits"], [4.5])
    # bin 0 (1-4): won 2 lost 2 -> 2.1/2.1; bin 1 (5-8): won 2 lost 2 -> 2.1/2.1
    p = nb.predict_proba(pd.DataFrame({"visits": [2.0, 100.0, np.nan]}))[:, 1]
    np.testing.assert_allclose(p, [0.5, 0.5, 0.5])


def test_probabilities_stay_within_odoos_bounds() -> None:
    leads = pd.DataFrame({"a": ["x"] * 60 + ["y"] * 60})
    won = np.array([1] * 60 + [0] * 60)
    p = OdooNaiveBayes().fit(leads, won).predict_proba(pd.DataFrame({"a": ["x", "y"]}))[:, 1]
    assert p[0] == pytest.approx(60.1 / 60.2 / (60.1 / 60.2 + 0.1 / 60.2))
    assert 0.0001 <= p[1] <= p[0] <= 0.9999


def test_logistic_baseline_learns_and_takes_new_values() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    leads = pd.DataFrame({"x": x, "kind": np.where(x > 0, "hot", "cold")})
    won = (x + rng.normal(scale=0.5, size=400) > 0).astype(int)
    model = LogisticBaseline().fit(leads, won)
    p = model.predict_proba(pd.DataFrame({"x": [-2.0, 0.0, 2.0], "kind": ["cold", "new", None]}))[
        :, 1
    ]
    assert p[0] < 0.1 < 0.9 < p[2]
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(NotFitted):
        LogisticBaseline().predict_proba(leads)
    with pytest.raises(InvalidInput, match='lacks the feature "kind"'):
        model.predict_proba(leads[["x"]])
