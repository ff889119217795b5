"""The predictive model: the scikit-learn contract, explanations that add up, model files that
refuse data missing a feature, and the single-lead path agreeing with the table path."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from baton.errors import InvalidInput, NotFitted, NotFound
from baton.scoring import artifact
from baton.scoring.predictive import LeadScoreModel
from baton.scoring.reasons import explain
from baton.scoring.synthetic import synthetic_dataset
from baton.scoring.training import train
from baton.service.predictive import score_lead

CREATED = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
SMALL = {"n_estimators": 40, "n_jobs": 1}


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return synthetic_dataset(6000, seed=3)


@pytest.fixture(scope="module")
def fitted(data):  # type: ignore[no-untyped-def]
    return LeadScoreModel(data.features, **SMALL).fit(data.frame.iloc[:5000], data.label[:5000])


def test_the_estimator_contract(data, fitted) -> None:  # type: ignore[no-untyped-def]
    model = LeadScoreModel(data.features, learning_rate=0.1)
    assert model.get_params()["learning_rate"] == 0.1
    twin = clone(model)
    assert twin.get_params() == model.get_params() and not hasattr(twin, "booster_")
    with pytest.raises(NotFitted):
        model.predict_proba(data.frame)
    check_is_fitted(fitted)
    p = fitted.predict_proba(data.frame.iloc[5000:])
    assert p.shape == (1000, 2) and np.allclose(p.sum(axis=1), 1)
    assert set(fitted.predict(data.frame.iloc[5000:])) <= {0, 1}
    assert list(fitted.classes_) == [0, 1]
    # the same seed and data give the same model
    again = LeadScoreModel(data.features, **SMALL).fit(data.frame.iloc[:5000], data.label[:5000])
    np.testing.assert_array_equal(
        again.decision_function(data.frame), fitted.decision_function(data.frame)
    )


def test_calibration_maps_raw_scores_by_platt(data, fitted) -> None:  # type: ignore[no-untyped-def]
    raw = fitted.decision_function(data.frame.iloc[5000:])
    c = fitted.calibrator_
    assert c.kind == "sigmoid"
    expected = 1 / (1 + np.exp(-(c.slope * raw + c.intercept)))
    np.testing.assert_allclose(fitted.predict_proba(data.frame.iloc[5000:])[:, 1], expected)
    none = LeadScoreModel(data.features, calibration="none", **SMALL).fit(data.frame, data.label)
    raw = none.decision_function(data.frame.iloc[:10])
    np.testing.assert_allclose(
        none.predict_proba(data.frame.iloc[:10])[:, 1], 1 / (1 + np.exp(-raw))
    )
    iso = LeadScoreModel(data.features, calibration="isotonic", **SMALL).fit(data.frame, data.label)
    p = iso.predict_proba(data.frame)[:, 1]
    order = np.argsort(iso.decision_function(data.frame))
    assert (np.diff(p[order]) >= -1e-12).all()  # isotonic: never down as the raw score rises


def test_reasons_add_up_to_the_raw_score_of_a_held_out_lead(data, fitted) -> None:  # type: ignore[no-untyped-def]
    lead = data.frame.iloc[[5500]]  # not among the 5,000 training leads
    why = explain(fitted, lead, name="5500")
    assert why.base + sum(r.contribution for r in why.reasons) == pytest.approx(why.raw, abs=1e-9)
    assert why.raw == pytest.approx(fitted.decision_function(lead)[0])
    assert why.probability == pytest.approx(fitted.predict_proba(lead)[0, 1])
    assert len(why.reasons) == len(data.features.features)
    sizes = [abs(r.contribution) for r in why.reasons]
    assert sizes == sorted(sizes, reverse=True)
    for reason in why.up():
        assert reason.contribution > 0 and " raised the score" in reason.text
    for reason in why.down():
        assert reason.contribution < 0 and " lowered the score" in reason.text
    source = next(r for r in why.reasons if r.feature == "Lead Source")
    value = lead["Lead Source"].iloc[0]
    assert source.value == ("" if value is None else value)
    assert source.text.startswith(
        f"Lead Source = {value} " if value else "Lead Source not filled in "
    )


def test_a_model_file_round_trips_and_refuses_data_missing_a_feature(data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trained = train(data, params=SMALL, folds=2)
    built = artifact.build(trained, data, name="synthetic", created=CREATED)
    path = artifact.save(built, tmp_path)
    assert path == tmp_path / "synthetic.json"
    loaded = artifact.load(path)
    np.testing.assert_array_equal(
        loaded.model.predict_proba(data.frame), trained.model.predict_proba(data.frame)
    )
    card = loaded.card
    assert card.feature_digest == data.features.digest()
    assert card.params["n_estimators"] == 40 and card.params_hash == artifact.params_hash(
        card.params
    )
    assert set(card.versions) == {"baton", "lightgbm", "scikit-learn"}
    assert set(card.metrics) == {"model", "naive_bayes", "logistic"}
    assert card.data["labelled"] == 6000 and card.created == "2026-11-20T15:00:00+00:00"
    assert card.data["window"] == {"first": "600000", "last": "605999", "by": "Lead Number"}

    fewer = data.frame.drop(columns=["TotalVisits", "City"])
    with pytest.raises(InvalidInput) as caught:
        loaded.check(fewer, what="new-leads.csv")
    assert '"City", "TotalVisits"' in str(caught.value)  # in the model's order
    with pytest.raises(InvalidInput, match='lacks the features "City", "TotalVisits"'):
        loaded.model.predict_proba(fewer)
    lead = data.frame.iloc[0].to_dict()
    del lead["Country"]
    with pytest.raises(InvalidInput, match='the lead lacks the feature "Country"'):
        score_lead(loaded.model, lead)


def test_a_changed_or_foreign_file_is_refused(data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    built = artifact.build(train(data, params=SMALL, folds=1), data, name="m", created=CREATED)
    path = artifact.save(built, tmp_path)
    body = json.loads(path.read_text())
    body["model"]["features"] = body["model"]["features"][:-1]
    path.write_text(json.dumps(body))
    with pytest.raises(InvalidInput, match=r"damaged|fingerprint"):
        artifact.load(path)
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(InvalidInput, match="not a Baton lead score model file"):
        artifact.load(tmp_path / "other.json")
    with pytest.raises(NotFound, match="baton score train"):
        artifact.find_model(tmp_path / "none")


def test_one_lead_scores_as_in_a_table(data, fitted) -> None:  # type: ignore[no-untyped-def]
    rows = data.frame.iloc[5000:5050]
    table = fitted.predict_proba(rows)[:, 1]
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    one_by_one = [fitted.predict_proba([r])[0, 1] for r in records]
    np.testing.assert_allclose(one_by_one, table)
