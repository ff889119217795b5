"""Why a lead scored what it did, in words a rep reads.

LightGBM's ``pred_contrib`` splits a lead's raw score (log-odds, before calibration) into one
share per feature plus a base value, the raw score of a lead the model knows nothing about;
they add up exactly (SHAP values of the trees). A positive share raised the score, a negative
one lowered it. :func:`explain` keeps every share and words the largest ones as
"Lead Source = Reference raised the score", with the lead's own value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from baton.scoring.features import Kind, is_missing
from baton.scoring.predictive import LeadScoreModel

#: How many reasons each way :func:`explain` words by default.
TOP = 3
#: Shares smaller than this (in log-odds) are not worth a reason.
NEGLIGIBLE = 0.01


@dataclass(frozen=True)
class Reason:
    """One feature's share of a lead's raw score, with the lead's value and the words for it."""

    feature: str
    label: str
    value: str
    contribution: float

    @property
    def raised(self) -> bool:
        return self.contribution > 0

    @property
    def text(self) -> str:
        verb = "raised" if self.raised else "lowered"
        strength = "" if abs(self.contribution) >= 0.25 else " a little"
        if self.value == "":
            return f"{self.label} not filled in {verb} the score{strength}"
        return f"{self.label} = {self.value} {verb} the score{strength}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "value": self.value,
            "contribution": self.contribution,
            "text": self.text,
        }


@dataclass(frozen=True)
class Explanation:
    """A lead's probability and score, its raw score and base value, and every feature's share.

    ``reasons`` holds every feature, largest share (either way) first;
    ``base + sum(r.contribution for r in reasons) == raw``.
    """

    lead: str
    probability: float
    raw: float
    base: float
    reasons: tuple[Reason, ...]

    @property
    def score(self) -> int:
        """The probability on the contract's 0-100 scale."""
        return round(self.probability * 100)

    def up(self, top: int = TOP) -> list[Reason]:
        """The features that raised the score most."""
        return [r for r in self.reasons if r.contribution >= NEGLIGIBLE][:top]

    def down(self, top: int = TOP) -> list[Reason]:
        """The features that lowered the score most."""
        return [r for r in self.reasons if r.contribution <= -NEGLIGIBLE][:top]

    def to_dict(self, top: int = TOP) -> dict[str, Any]:
        return {
            "lead": self.lead,
            "probability": self.probability,
            "score": self.score,
            "raw": self.raw,
            "base": self.base,
            "up": [r.to_dict() for r in self.up(top)],
            "down": [r.to_dict() for r in self.down(top)],
            "contributions": {r.feature: r.contribution for r in self.reasons},
        }


def explain(
    model: LeadScoreModel, lead: pd.DataFrame | Mapping[str, Any], *, name: str = ""
) -> Explanation:
    """The reasons for one lead's score.

    Parameters
    ----------
    model
        A fitted model.
    lead
        The lead's features: a one-row table, or a mapping from feature name to value.
    name
        The lead's id, kept in the explanation.
    """
    rows: pd.DataFrame | list[dict[str, Any]]
    if isinstance(lead, pd.DataFrame):
        rows = lead.iloc[:1]
        record = rows.iloc[0].to_dict()
    else:
        record = dict(lead)
        rows = [record]
    shares = model.contributions(rows)[0]
    raw = float(model.decision_function(rows)[0])
    features = model.features_.features
    reasons = [
        Reason(f.name, f.words, shown(record.get(f.name), f.kind), float(c))
        for f, c in zip(features, shares[:-1], strict=True)
    ]
    reasons.sort(key=lambda r: (-abs(r.contribution), r.feature))
    probability = float(model.calibrator_(np.array([raw]))[0])
    return Explanation(name, probability, raw, float(shares[-1]), tuple(reasons))


def shown(value: Any, kind: Kind) -> str:
    """A value as a rep reads it: numbers with separators, missing as the empty string."""
    if is_missing(value):
        return ""
    if kind is Kind.NUMERIC:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value)
        return f"{number:,.0f}" if number.is_integer() else f"{number:,.3g}"
    return str(value)
