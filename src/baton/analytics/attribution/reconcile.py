"""Reconciliation: every model's credit adds up to the conversions and value of its journeys.

A model that gives away more or less than the journeys brought is wrong, so each result is
checked against the totals: the residual (credited minus total) must be below
:data:`TOLERANCE` of the total, for conversions and for value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import ibis
import pandas as pd

from baton.analytics.attribution.journeys import Journeys

#: The largest residual a model may leave, relative to the total.
TOLERANCE = 1e-9
#: The columns of :func:`reconcile`.
RECONCILE_COLUMNS = (
    "model", "conversions", "credited_conversions", "conversions_residual", "value",
    "credited_value", "value_residual", "relative_residual", "reconciled",
)  # fmt: skip


@dataclass(frozen=True)
class Totals:
    """What the journeys add up to: how many, their conversions, value and non-conversions."""

    journeys: int
    conversions: float
    value: float
    nulls: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def totals_expr(journeys: Journeys) -> ibis.Table:
    """One row: ``journeys``, ``conversions``, ``value`` and ``nulls`` of every journey."""
    j = journeys.journeys
    return j.aggregate(
        journeys=j.count(),
        conversions=j.conversions.sum().cast("float64"),
        value=j.value.sum().cast("float64"),
        nulls=j.nulls.sum().cast("float64"),
    )


def totals(journeys: Journeys) -> Totals:
    """The totals of :func:`totals_expr`, computed where the journeys live."""
    row = totals_expr(journeys).execute().iloc[0]
    return Totals(
        journeys=int(row["journeys"]),
        conversions=_number(row["conversions"]),
        value=_number(row["value"]),
        nulls=_number(row["nulls"]),
    )


def _number(value: Any) -> float:
    return 0.0 if value is None or pd.isna(value) else float(value)


def relative(residual: float, total: float) -> float:
    """``|residual|`` as a share of ``|total|`` (``|residual|`` itself when the total is 0)."""
    return abs(residual) / abs(total) if total else abs(residual)


def reconcile(credits: Mapping[str, pd.DataFrame], total: Totals) -> pd.DataFrame:
    """Per model: the totals, what it credited, the residuals and whether they are small enough.

    Parameters
    ----------
    credits
        Each model's credit per channel (``conversions`` and ``value`` columns).
    total
        The journeys' totals.

    Returns
    -------
    pandas.DataFrame
        :data:`RECONCILE_COLUMNS`, a row per model: ``*_residual`` is credited minus total;
        ``relative_residual`` the larger of the two residuals as a share of its total;
        ``reconciled`` whether that is below :data:`TOLERANCE`.
    """
    rows = []
    for model, frame in credits.items():
        conversions = float(frame["conversions"].sum())
        value = float(frame["value"].sum())
        c_residual = conversions - total.conversions
        v_residual = value - total.value
        worst = max(relative(c_residual, total.conversions), relative(v_residual, total.value))
        rows.append(
            (model, total.conversions, conversions, c_residual, total.value, value, v_residual,
             worst, worst < TOLERANCE)
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(RECONCILE_COLUMNS))
