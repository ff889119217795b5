"""How good a score is on leads it never saw: ranking, calibration, lift and gain, side by side.

:func:`evaluate` takes the outcomes of held-out leads and each contender's probabilities for
them, and returns an :class:`Evaluation`:

- **ROC AUC**: the chance that a converted lead scores above one that did not.
- **PR AUC**: average precision (scikit-learn's ``average_precision_score``), the area under
  the precision-recall curve without interpolation; a score that ranks at random gets the
  base rate.
- **Brier score**: the mean squared difference between probability and outcome; lower is
  better, and it punishes probabilities that are off even when the ranking is right.
- **Deciles**: leads sorted by score, highest first, cut into ten groups of equal size
  (the first groups take one more lead when the count does not divide by ten; ties are
  broken by the leads' order). Per decile: the mean predicted probability next to the
  share that converted (the calibration table), the lift (that share over the base rate)
  and the cumulative gain (the share of all conversions found in this and the deciles above).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve

from baton.errors import InvalidInput

Floats = NDArray[np.float64]
MODEL, NAIVE_BAYES, LOGISTIC = "model", "naive_bayes", "logistic"
#: What each contender is called in reports, in the order reports list them.
NAMES = {
    MODEL: "LightGBM, calibrated",
    NAIVE_BAYES: "naive Bayes (Odoo)",
    LOGISTIC: "logistic regression",
}
DECILES = 10
#: Most points kept of a ROC curve for the charts.
CURVE_POINTS = 201


@dataclass(frozen=True)
class Contender:
    """One contender's results on the holdout."""

    key: str
    roc_auc: float
    pr_auc: float
    brier: float
    deciles: pd.DataFrame
    roc: pd.DataFrame

    @property
    def name(self) -> str:
        return NAMES.get(self.key, self.key)


@dataclass(frozen=True)
class Evaluation:
    """Every contender's results on the same held-out leads.

    ``protocol`` says how the holdout was made; ``window`` its first and last lead.
    """

    leads: int
    converted: int
    protocol: str
    window: dict[str, str]
    contenders: tuple[Contender, ...]

    @property
    def base_rate(self) -> float:
        return self.converted / self.leads if self.leads else float("nan")

    def contender(self, key: str) -> Contender:
        for c in self.contenders:
            if c.key == key:
                return c
        raise KeyError(key)

    def metrics(self) -> pd.DataFrame:
        """One row per contender: ROC AUC, PR AUC and Brier score."""
        return pd.DataFrame(
            [
                {
                    "model": c.key,
                    "name": c.name,
                    "roc_auc": c.roc_auc,
                    "pr_auc": c.pr_auc,
                    "brier": c.brier,
                }
                for c in self.contenders
            ]
        )

    def deciles(self) -> pd.DataFrame:
        """Every contender's decile table, one after the other, with a ``model`` column."""
        return pd.concat(
            [c.deciles.assign(model=c.key)[["model", *c.deciles.columns]] for c in self.contenders],
            ignore_index=True,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "leads": self.leads,
            "converted": self.converted,
            "protocol": self.protocol,
            "window": self.window,
            "contenders": [
                {
                    "model": c.key,
                    "name": c.name,
                    "roc_auc": c.roc_auc,
                    "pr_auc": c.pr_auc,
                    "brier": c.brier,
                    "deciles": c.deciles.to_dict("records"),
                    "roc": c.roc.to_dict("list"),
                }
                for c in self.contenders
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        contenders = tuple(
            Contender(
                key=c["model"],
                roc_auc=float(c["roc_auc"]),
                pr_auc=float(c["pr_auc"]),
                brier=float(c["brier"]),
                deciles=pd.DataFrame(c["deciles"]),
                roc=pd.DataFrame(c["roc"]),
            )
            for c in data["contenders"]
        )
        return cls(
            int(data["leads"]),
            int(data["converted"]),
            str(data["protocol"]),
            dict(data["window"]),
            contenders,
        )


def evaluate(
    y: NDArray[np.integer[Any]],
    predictions: Mapping[str, Floats],
    *,
    protocol: str = "",
    window: Mapping[str, str] | None = None,
) -> Evaluation:
    """Every contender's metrics and deciles on the same leads.

    Parameters
    ----------
    y
        The held-out leads' outcomes, 0 or 1.
    predictions
        Each contender's probability of conversion for the same leads, in the same order.
    protocol, window
        How the holdout was made, and its first and last lead, kept for the report.

    Raises
    ------
    InvalidInput
        When the holdout holds only one outcome, or a contender's predictions do not match it.
    """
    y = np.asarray(y).astype(np.int8)
    if len(np.unique(y)) < 2:
        raise InvalidInput(
            "the held-out leads all have the same outcome, so no ranking can be measured; "
            "give more data or a larger holdout"
        )
    contenders = []
    for key, p in predictions.items():
        p = np.asarray(p, dtype=np.float64)
        if p.shape != y.shape or np.isnan(p).any():
            raise InvalidInput(f"{key}: {p.size} predictions for {y.size} held-out leads")
        contenders.append(
            Contender(
                key=key,
                roc_auc=float(roc_auc_score(y, p)),
                pr_auc=float(average_precision_score(y, p)),
                brier=float(brier_score_loss(y, p)),
                deciles=decile_table(y, p),
                roc=roc_points(y, p),
            )
        )
    return Evaluation(len(y), int(y.sum()), protocol, dict(window or {}), tuple(contenders))


def decile_table(y: NDArray[np.integer[Any]], p: Floats, groups: int = DECILES) -> pd.DataFrame:
    """Leads by score, highest first, in ``groups`` groups: calibration, lift and gain."""
    order = np.lexsort((np.arange(len(p)), -p))  # highest first; ties in the leads' order
    parts = np.array_split(order, groups)
    total, base = int(y.sum()), float(y.mean())
    rows, found, seen = [], 0, 0
    for i, part in enumerate(parts, start=1):
        converted = int(y[part].sum())
        found, seen = found + converted, seen + len(part)
        rate = converted / len(part) if len(part) else float("nan")
        rows.append(
            {
                "decile": i,
                "leads": len(part),
                "converted": converted,
                "mean_predicted": float(p[part].mean()) if len(part) else float("nan"),
                "observed": rate,
                "lift": rate / base,
                "gain": found / total,
                "cumulative_lift": (found / seen) / base,
            }
        )
    return pd.DataFrame(rows)


def roc_points(
    y: NDArray[np.integer[Any]], p: Floats, points: int = CURVE_POINTS
) -> pd.DataFrame:
    """The ROC curve (false and true positive rates), thinned to at most ``points`` points."""
    fpr, tpr, _ = roc_curve(y, p)
    if len(fpr) > points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, points).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return pd.DataFrame({"fpr": fpr.round(6), "tpr": tpr.round(6)})
