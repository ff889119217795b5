"""The predictive lead score: gradient-boosted trees (LightGBM), calibrated on later leads.

:class:`LeadScoreModel` follows the scikit-learn estimator contract: ``__init__`` only stores
parameters, ``fit`` returns the estimator, learned attributes end in ``_``, so ``clone`` and
``get_params`` work and a fitted model can sit in a pipeline. It takes a pandas table whose
columns include the model's features (:class:`~baton.scoring.features.FeatureSet`, inferred
from the table when not given) and refuses a table that lacks one.

Calibration follows the rows' time order, the same way ``CalibratedClassifierCV(ensemble=False)``
does with folds: a first booster is fitted on the earlier ``1 - calibration_share`` of the
rows, a calibrator maps its raw scores to the outcomes of the later rows it never saw, then
the booster is fitted again on all rows and the calibrator is applied to its raw scores. The
default calibrator is Platt's sigmoid, which keeps the ranking (so ROC AUC is the booster's);
``isotonic`` is the alternative for large data.

The raw score (log-odds) is what explanations add up to: LightGBM's ``pred_contrib`` gives
each feature's share of it (SHAP values for trees) and the base value, which sum to it exactly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from baton.errors import InvalidInput, NotFitted
from baton.scoring.features import FeatureEncoder, FeatureSet, Matrix

Floats = NDArray[np.float64]
CalibrationKind = Literal["sigmoid", "isotonic", "none"]


#: Rows per thread: below this LightGBM runs on one thread.
ROWS_PER_THREAD = 100_000


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads(rows: int, n_jobs: int | None = None) -> int:
    """LightGBM threads for ``rows`` rows: ``n_jobs`` if given, else one per 100,000 rows up
    to the cores there are. LightGBM is always given a count: OpenMP's own default can start
    more threads than there are cores, and its threads wait by spinning, so on a small or
    busy machine extra threads make small jobs several times slower, not faster."""
    return n_jobs or min(cores(), max(1, rows // ROWS_PER_THREAD))


def sigmoid(x: Floats) -> Floats:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Calibrator:
    """Maps a booster's raw score (log-odds) to a probability."""

    kind: CalibrationKind = "none"
    slope: float = 1.0
    intercept: float = 0.0
    x: tuple[float, ...] = field(default_factory=tuple)
    y: tuple[float, ...] = field(default_factory=tuple)

    def __call__(self, raw: Floats) -> Floats:
        if self.kind == "isotonic":
            return np.asarray(np.interp(raw, np.asarray(self.x), np.asarray(self.y)))
        return sigmoid(self.slope * raw + self.intercept)

    @classmethod
    def fit(cls, kind: CalibrationKind, raw: Floats, y: NDArray[np.int8]) -> Calibrator:
        """A calibrator of ``kind`` fitted on raw scores and the outcomes they should predict."""
        if kind == "none":
            return cls()
        if len(np.unique(y)) < 2:
            raise InvalidInput(
                "the calibration slice (the latest training rows) holds only one outcome; "
                "give more data, a larger calibration_share, or calibration='none'"
            )
        if kind == "sigmoid":
            platt = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
            return cls("sigmoid", float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
        return cls(
            "isotonic",
            x=tuple(float(v) for v in iso.X_thresholds_),
            y=tuple(float(v) for v in iso.y_thresholds_),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "slope": self.slope,
            "intercept": self.intercept,
            "x": list(self.x),
            "y": list(self.y),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        return cls(
            data["kind"],
            float(data["slope"]),
            float(data["intercept"]),
            tuple(data.get("x", ())),
            tuple(data.get("y", ())),
        )


class LeadScoreModel(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Probability that a lead converts, from LightGBM trees with time-ordered calibration.

    Parameters
    ----------
    features
        The features to read; inferred from the training table when ``None``.
    n_estimators, learning_rate, num_leaves, min_child_samples, subsample, colsample_bytree,
    reg_lambda
        LightGBM's boosting rounds, shrinkage, leaves per tree, rows per leaf, share of rows
        and of features per tree, and L2 penalty.
    min_category_count
        Categories seen fewer times than this in training share one "other" code.
    calibration
        ``sigmoid`` (Platt), ``isotonic`` or ``none``.
    calibration_share
        The share of the latest training rows the calibrator is fitted on.
    random_state
        Seed of LightGBM's row and feature sampling.
    n_jobs
        LightGBM threads; ``None`` gives one per 100,000 rows, up to the cores there are.

    Attributes
    ----------
    features_, encoder_, booster_, calibrator_, classes_, n_features_in_
        The fitted features, their encoder, the LightGBM booster, the calibrator, the
        classes (0, 1) and how many features there are.
    """

    def __init__(
        self,
        features: FeatureSet | None = None,
        *,
        n_estimators: int = 150,
        learning_rate: float = 0.06,
        num_leaves: int = 15,
        min_child_samples: int = 40,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 0.0,
        min_category_count: int = 10,
        calibration: CalibrationKind = "sigmoid",
        calibration_share: float = 0.2,
        random_state: int = 0,
        n_jobs: int | None = None,
    ) -> None:
        self.features = features
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.min_category_count = min_category_count
        self.calibration = calibration
        self.calibration_share = calibration_share
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: ArrayLike) -> Self:
        """Fit on a table whose rows are in time order (earliest first) and its 0/1 outcomes."""
        if self.calibration not in ("sigmoid", "isotonic", "none"):
            raise InvalidInput(f'calibration "{self.calibration}" is not sigmoid, isotonic or none')
        if not 0 < self.calibration_share < 1:
            raise InvalidInput(
                f"calibration_share must be between 0 and 1, not {self.calibration_share}"
            )
        features = self.features or FeatureSet.from_frame(X)
        outcome = outcomes(y, len(X))
        encoder = FeatureEncoder(features, self.min_category_count).fit(X)
        matrix = encoder.transform(X)
        categorical = encoder.categorical_columns
        calibrator = Calibrator()
        if self.calibration != "none":
            split = int(len(matrix) * (1 - self.calibration_share))
            early = self._boost(matrix[:split], outcome[:split], categorical)
            raw = np.asarray(early.predict(matrix[split:], raw_score=True), dtype=np.float64)
            calibrator = Calibrator.fit(self.calibration, raw, outcome[split:])
        self.booster_ = self._boost(matrix, outcome, categorical)
        self.calibrator_ = calibrator
        self.features_ = features
        self.encoder_ = encoder
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(features.features)
        return self

    def booster_params(self) -> dict[str, Any]:
        """The LightGBM parameters the booster is trained with."""
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "seed": self.random_state,
            "deterministic": True,
            "force_col_wise": True,
            "verbose": -1,
        }

    def _boost(self, matrix: Matrix, y: NDArray[np.int8], categorical: list[int]) -> lgb.Booster:
        if len(np.unique(y)) < 2:
            raise InvalidInput("the training rows hold only one outcome; the model needs both")
        data = lgb.Dataset(
            matrix,
            label=y,
            categorical_feature=categorical or "auto",
            free_raw_data=True,
            feature_name=[f"f{i}" for i in range(matrix.shape[1])],
        )
        params = {**self.booster_params(), "num_threads": threads(len(matrix), self.n_jobs)}
        return lgb.train(params, data, num_boost_round=self.n_estimators)

    # -- scoring ---------------------------------------------------------------------------
    def _fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFitted("the lead score model is used before it was trained; fit it first")

    def matrix(self, X: pd.DataFrame | Sequence[Mapping[str, Any]]) -> Matrix:
        """The encoded features of a table, or of leads given as mappings."""
        self._fitted()
        if isinstance(X, pd.DataFrame):
            self.features_.require(X.columns)
            return self.encoder_.transform(X)
        return self.encoder_.transform_records(X)

    def decision_function(self, X: pd.DataFrame | Sequence[Mapping[str, Any]]) -> Floats:
        """The raw score (log-odds before calibration) of each lead."""
        return self.raw_from_matrix(self.matrix(X))

    def raw_from_matrix(self, matrix: Matrix) -> Floats:
        self._fitted()
        count = threads(len(matrix), self.n_jobs)
        raw = self.booster_.predict(matrix, raw_score=True, num_threads=count)
        return np.asarray(raw, dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame | Sequence[Mapping[str, Any]]) -> Floats:
        """Probabilities of not converting and converting, one row per lead."""
        self._fitted()
        p = self.calibrator_(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame | Sequence[Mapping[str, Any]]) -> NDArray[np.int64]:
        """1 where the calibrated probability is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

    def contributions(self, X: pd.DataFrame | Sequence[Mapping[str, Any]]) -> Floats:
        """Each feature's share of the raw score, one column per feature, then the base value.

        The columns of a row sum to :meth:`decision_function` of that row.
        """
        matrix = self.matrix(X)
        count = threads(len(matrix), self.n_jobs)
        shares = self.booster_.predict(matrix, pred_contrib=True, num_threads=count)
        return np.asarray(shares, dtype=np.float64)

    # -- persistence -----------------------------------------------------------------------
    def fitted_state(self) -> dict[str, Any]:
        """What a model file keeps: parameters, features, categories, trees, calibrator."""
        self._fitted()
        params = self.get_params()
        params.pop("features")
        return {
            "params": params,
            "features": self.features_.to_list(),
            "encoder": self.encoder_.to_dict(),
            "booster": self.booster_.model_to_string(),
            "calibrator": self.calibrator_.to_dict(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> LeadScoreModel:
        """A fitted model back from :meth:`fitted_state`."""
        features = FeatureSet.from_list(state["features"])
        model = cls(features, **state["params"])
        model.features_ = features
        model.encoder_ = FeatureEncoder.from_dict(features, state["encoder"])
        model.booster_ = lgb.Booster(model_str=state["booster"])
        model.calibrator_ = Calibrator.from_dict(state["calibrator"])
        model.classes_ = np.array([0, 1])
        model.n_features_in_ = len(features.features)
        if model.booster_.num_feature() != model.n_features_in_:
            raise InvalidInput(
                f"the model file's trees read {model.booster_.num_feature()} features but its "
                f"card lists {model.n_features_in_}; the file is damaged, train the model again"
            )
        return model


def outcomes(y: ArrayLike, rows: int) -> NDArray[np.int8]:
    """Outcomes as 0/1, refusing anything else and a length that does not match the rows."""
    values = np.asarray(y)
    if values.shape != (rows,):
        raise InvalidInput(f"there are {rows} rows but {values.size} outcomes")
    if values.dtype == bool:
        return values.astype(np.int8)
    if not np.isin(values, (0, 1)).all():
        raise InvalidInput("outcomes must be 0 (not converted) or 1 (converted)")
    return values.astype(np.int8)
