"""What the predictive score is measured against: Odoo's naive Bayes and a logistic regression.

:class:`OdooNaiveBayes` follows the predictive lead scoring of Odoo's CRM
(``crm.lead._pls_get_naive_bayes_probabilities`` and the frequency table it reads):

- for each variable and value, count the won and the lost leads having it, and add 0.1 to
  both counts (Odoo: "should be +1 but it weights too much on small recordset");
- a value seen on fewer than ``min_count`` closed leads is ignored, both in lookups and in
  its variable's totals (Odoo does this for tags, with 50; here it applies to every
  variable, which is what the numeric bins need);
- ``P(value | won)`` is the value's won count over the sum of the won counts of its
  variable's kept values, and the same for lost;
- the prior is won (and lost) leads over all closed leads, with the same 0.1 added;
- probability = ``P(won)·∏P(value|won) / (P(won)·∏P(value|won) + P(lost)·∏P(value|lost))``
  over the lead's filled-in variables whose value is known; empty values and values not
  in the table are skipped, and the result is kept within 0.01% and 99.99% as Odoo does.

Odoo scores only fields with a few values; numbers are cut here into ``bins`` bins at the
training rows' quantiles, so each bin is a value.

:class:`LogisticBaseline` is a plain scikit-learn logistic regression on the same features:
one-hot categories (rare and new values in one "infrequent" column), numbers with the
median filled in, a "was missing" flag, and standard scaling.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from baton.errors import NotFitted
from baton.scoring.features import FeatureSet, Kind, as_numbers, category_text
from baton.scoring.predictive import Floats, outcomes

#: Odoo adds this to every won and lost count of its frequency table.
SMOOTHING = 0.1
#: Odoo keeps probabilities within 0.01% and 99.99%.
FLOOR, CEILING = 0.0001, 0.9999


def _text(column: pd.Series) -> pd.Series:
    """Category text as a pandas column of objects, missing as None."""
    words = category_text(column).to_numpy(zero_copy_only=False)
    return pd.Series(words, index=column.index, dtype=object)


class OdooNaiveBayes(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Odoo's predictive lead scoring: naive Bayes over won/lost frequency counts.

    Parameters
    ----------
    features
        The variables; inferred from the training table when ``None``.
    min_count
        Values seen on fewer closed leads are ignored (Odoo: 50, for tags).
    bins
        Numeric variables are cut into this many quantile bins of the training rows.
    """

    def __init__(
        self, features: FeatureSet | None = None, *, min_count: int = 50, bins: int = 10
    ) -> None:
        self.features = features
        self.min_count = min_count
        self.bins = bins

    def _values(self, X: pd.DataFrame) -> dict[str, pd.Series]:
        """Each variable as text values (numbers as their bin), missing as None."""
        out = {}
        for feature in self.features_.features:
            column = X[feature.name]
            if feature.kind is Kind.NUMERIC:
                numbers = as_numbers(column, feature.name)
                which = np.searchsorted(self.edges_[feature.name], numbers, side="right")
                text = pd.Series(which.astype(str), index=X.index, dtype=object)
                out[feature.name] = text.where(~np.isnan(numbers), None)
            else:
                out[feature.name] = _text(column)
        return out

    def fit(self, X: pd.DataFrame, y: ArrayLike) -> Self:
        """Count won and lost leads per value (``y`` is 1 for won, 0 for lost)."""
        self.features_ = self.features or FeatureSet.from_frame(X)
        self.features_.require(X.columns)
        won = outcomes(y, len(X)).astype(bool)
        self.edges_: dict[str, NDArray[np.float64]] = {}
        for feature in self.features_.features:
            if feature.kind is Kind.NUMERIC:
                numbers = as_numbers(X[feature.name], feature.name)
                cuts = np.linspace(0, 1, self.bins + 1)[1:-1]
                present = numbers[~np.isnan(numbers)]
                self.edges_[feature.name] = (
                    np.unique(np.quantile(present, cuts)) if present.size else np.array([])
                )
        self.prior_ = (won.sum() + SMOOTHING, (~won).sum() + SMOOTHING)
        self.tables_: dict[str, pd.DataFrame] = {}
        for name, values in self._values(X).items():
            frame = pd.DataFrame({"value": values, "won": won}).dropna(subset=["value"])
            counts = frame.groupby("value")["won"].agg(["sum", "count"])
            counts = counts[counts["count"] >= self.min_count]
            table = pd.DataFrame(
                {
                    "won": counts["sum"].astype(float) + SMOOTHING,
                    "lost": (counts["count"] - counts["sum"]).astype(float) + SMOOTHING,
                }
            )
            # P(value | won) = won count / all won counts of the variable's kept values
            table["log_won"] = np.log(table["won"] / table["won"].sum())
            table["log_lost"] = np.log(table["lost"] / table["lost"].sum())
            self.tables_[name] = table
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(self.features_.features)
        return self

    def predict_proba(self, X: pd.DataFrame) -> Floats:
        if not hasattr(self, "tables_"):
            raise NotFitted("the naive Bayes baseline is used before it was fitted")
        self.features_.require(X.columns)
        won_prior, lost_prior = self.prior_
        total = won_prior + lost_prior
        log_won = np.full(len(X), np.log(won_prior / total))
        log_lost = np.full(len(X), np.log(lost_prior / total))
        for name, values in self._values(X).items():
            table = self.tables_[name]
            at = pd.Index(table.index, dtype=object).get_indexer(values)
            known = at >= 0
            log_won[known] += table["log_won"].to_numpy()[at[known]]
            log_lost[known] += table["log_lost"].to_numpy()[at[known]]
        p = np.clip(1.0 / (1.0 + np.exp(log_lost - log_won)), FLOOR, CEILING)
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> NDArray[np.int64]:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)


class LogisticBaseline(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Logistic regression on one-hot categories and scaled numbers (scikit-learn).

    Parameters
    ----------
    features
        The features; inferred from the training table when ``None``.
    C
        Inverse strength of the L2 penalty.
    min_category_count
        Categories seen fewer times in training share one "infrequent" column.
    max_iter
        Solver iterations.
    """

    def __init__(
        self,
        features: FeatureSet | None = None,
        *,
        C: float = 1.0,
        min_category_count: int = 10,
        max_iter: int = 2000,
    ) -> None:
        self.features = features
        self.C = C
        self.min_category_count = min_category_count
        self.max_iter = max_iter

    def _table(self, X: pd.DataFrame) -> pd.DataFrame:
        self.features_.require(X.columns)
        columns: dict[str, Any] = {}
        for feature in self.features_.features:
            if feature.kind is Kind.NUMERIC:
                columns[feature.name] = as_numbers(X[feature.name], feature.name)
            else:
                columns[feature.name] = _text(X[feature.name]).fillna("(missing)").to_numpy()
        return pd.DataFrame(columns, index=X.index)

    def fit(self, X: pd.DataFrame, y: ArrayLike) -> Self:
        self.features_ = self.features or FeatureSet.from_frame(X)
        self.features_.require(X.columns)
        numeric = [f.name for f in self.features_.features if f.kind is Kind.NUMERIC]
        categorical = [f.name for f in self.features_.features if f.kind is Kind.CATEGORICAL]
        encode = ColumnTransformer(
            [
                (
                    "categories",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist", min_frequency=self.min_category_count
                    ),
                    categorical,
                ),
                (
                    "numbers",
                    make_pipeline(
                        SimpleImputer(
                            strategy="median", add_indicator=True, keep_empty_features=True
                        ),
                        StandardScaler(),
                    ),
                    numeric,
                ),
            ]
        )
        self.pipeline_: Pipeline = make_pipeline(
            encode, LogisticRegression(C=self.C, max_iter=self.max_iter)
        )
        self.pipeline_.fit(self._table(X), outcomes(y, len(X)))
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = len(self.features_.features)
        return self

    def predict_proba(self, X: pd.DataFrame) -> Floats:
        if not hasattr(self, "pipeline_"):
            raise NotFitted("the logistic baseline is used before it was fitted")
        return np.asarray(self.pipeline_.predict_proba(self._table(X)), dtype=np.float64)

    def predict(self, X: pd.DataFrame) -> NDArray[np.int64]:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)
