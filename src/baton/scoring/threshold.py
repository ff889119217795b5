"""An MQL threshold sales can work: as many MQLs a month as the contract says sales can take.

A lead is an MQL when its score (the probability on the contract's 0-100 scale) is at or above
the threshold; thresholds go in steps of a tenth of a point, fine enough for low base rates.
The leads the threshold is set on are the held-out leads of the model's evaluation, as the
walk-forward scored them: the latest leads, each scored by a model that had not seen it.
Given how many leads arrive in a month, the expected MQLs a month at threshold ``t`` are
``leads per month * share of those leads scoring at least t``.
:func:`capacity_threshold` proposes the lowest threshold whose expected volume does not exceed
the capacity (sales takes the best leads first) and the expected conversion there: the mean
probability of the leads at or above it, the probabilities being calibrated. Next to it is
the conversion those held-out leads really had.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from baton.errors import InvalidInput

#: Steps per score point, and the number of thresholds from 0 to 100.
STEPS = 10
POINTS = 100 * STEPS + 1


@dataclass(frozen=True)
class Proposal:
    """The proposed threshold and what it implies; ``table`` has every threshold 0-100."""

    threshold: float
    capacity: float
    leads_per_month: float
    table: pd.DataFrame

    @property
    def row(self) -> pd.Series:
        return self.table.iloc[round(self.threshold * STEPS)]

    @property
    def mqls_per_month(self) -> float:
        return float(self.row["mqls_per_month"])

    @property
    def share(self) -> float:
        return float(self.row["share"])

    @property
    def expected_conversion(self) -> float:
        return float(self.row["expected_conversion"])

    @property
    def observed_conversion(self) -> float:
        return float(self.row["observed_conversion"])

    @property
    def customers_per_month(self) -> float:
        return float(self.row["customers_per_month"])

    @property
    def fits(self) -> bool:
        """Whether the volume at the threshold is within capacity (not so when even 100 is over)."""
        return self.mqls_per_month <= self.capacity + 1e-9


def steps(probabilities: NDArray[np.float64]) -> NDArray[np.int64]:
    """Probabilities on the 0-100 scale in tenths of a point, rounded down (so a lead is at
    or above a threshold exactly when its score is)."""
    return np.floor(np.asarray(probabilities, dtype=np.float64) * 100 * STEPS + 1e-9).astype(
        np.int64
    )


def histogram(
    probabilities: NDArray[np.float64], outcomes: NDArray[np.integer] | None = None
) -> pd.DataFrame:
    """Leads, summed probability and conversions per tenth of a score point, 0 to 100."""
    points = steps(probabilities)
    frame = pd.DataFrame(
        {
            "score": np.arange(POINTS) / STEPS,
            "leads": np.bincount(points, minlength=POINTS)[:POINTS],
            "predicted": np.bincount(points, weights=probabilities, minlength=POINTS)[:POINTS],
        }
    )
    if outcomes is not None:
        won = np.bincount(points, weights=np.asarray(outcomes, dtype=np.float64), minlength=POINTS)
        frame["converted"] = won[:POINTS].round().astype(np.int64)
    return frame


def at_threshold(scored: pd.DataFrame, leads_per_month: float) -> pd.DataFrame:
    """For each threshold 0-100 in tenths: share of leads at or above it, MQLs a month, conversion.

    ``scored`` is a :func:`histogram`.
    """

    def above(column: str) -> NDArray[np.float64]:
        return np.cumsum(scored[column].to_numpy(dtype=np.float64)[::-1])[::-1]

    leads = above("leads")
    total = leads[0]
    if total <= 0:
        raise InvalidInput("no scored leads to set a threshold on")
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(leads > 0, above("predicted") / leads, np.nan)
        observed = (
            np.where(leads > 0, above("converted") / leads, np.nan)
            if "converted" in scored
            else np.full(POINTS, np.nan)
        )
    mqls = leads / total * leads_per_month
    return pd.DataFrame(
        {
            "threshold": np.arange(POINTS) / STEPS,
            "share": leads / total,
            "mqls_per_month": mqls,
            "expected_conversion": expected,
            "observed_conversion": observed,
            "customers_per_month": mqls * np.nan_to_num(expected),
        }
    )


def capacity_threshold(
    scored: pd.DataFrame, *, leads_per_month: float, capacity: float
) -> Proposal:
    """The lowest threshold whose expected MQLs a month fit within ``capacity``.

    Parameters
    ----------
    scored
        A :func:`histogram` of the leads standing for the leads to come.
    leads_per_month
        How many leads arrive in a month.
    capacity
        MQLs a month sales can work (``sla.sales.capacity_mql_per_month``).
    """
    if leads_per_month <= 0 or capacity <= 0:
        raise InvalidInput(
            f"leads a month ({leads_per_month:g}) and capacity ({capacity:g}) must be positive"
        )
    table = at_threshold(scored, leads_per_month)
    fits = np.flatnonzero(table["mqls_per_month"].to_numpy() <= capacity + 1e-9)
    step = int(fits[0]) if len(fits) else POINTS - 1
    return Proposal(step / STEPS, capacity, leads_per_month, table)
