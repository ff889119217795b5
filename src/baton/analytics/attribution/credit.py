"""The shape every data-driven model returns: credit per channel that adds up to the totals.

A credit table is a small pandas frame, one row per channel (every channel of the journeys,
those credited nothing included, with 0), sorted by channel:

``channel``
    the channel (or campaign) credited;
``conversions``
    the conversions credited to it;
``value``
    the value (revenue) credited to it;

and whatever columns the model adds (removal effects, Shapley values). Over all rows,
``conversions`` adds up to :attr:`Totals.conversions` and ``value`` to :attr:`Totals.value`:
:func:`residuals` says by how much they miss, relative to the totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from baton.analytics.attribution.journeys import Journeys

#: The columns every credit table starts with.
CREDIT_COLUMNS = ("channel", "conversions", "value")


@dataclass(frozen=True)
class Totals:
    """What the credit must add up to: the conversions and value of journeys with touches."""

    conversions: float
    value: float


def totals(journeys: Journeys) -> Totals:
    """The conversions and value of the journeys that have at least one touch.

    A journey without touches has no channel to credit, so it is left out of the totals (and
    of every model's input) rather than credited to nobody.
    """
    table = journeys.journeys
    with_touches = table.filter(table.n_steps > 0)
    row = with_touches.aggregate(
        conversions=with_touches.conversions.sum().fill_null(0.0),
        value=with_touches.value.sum().fill_null(0.0),
    ).execute()
    return Totals(conversions=float(row["conversions"].iloc[0]), value=float(row["value"].iloc[0]))


def credit_table(
    channels: Sequence[str],
    conversion_weights: np.ndarray,
    value_weights: np.ndarray,
    total: Totals,
    extra: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Share ``total`` out over ``channels`` in proportion to the weights.

    Parameters
    ----------
    channels
        The channels, in the order of the weights.
    conversion_weights, value_weights
        Non-negative weights per channel (removal effects, Shapley values); each is normalised
        to shares that add up to 1, so the credit adds up to the totals. Where every weight is
        0 (nothing converted), every channel is credited 0.
    total
        The conversions and value to share out.
    extra
        More columns to add, in the order of ``channels``.
    """
    frame = pd.DataFrame({"channel": pd.Series(list(channels), dtype=object)})
    for column, weights, amount in (
        ("conversions", conversion_weights, total.conversions),
        ("value", value_weights, total.value),
    ):
        weights = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
        whole = float(weights.sum())
        frame[column] = weights / whole * amount if whole > 0 else np.zeros(len(weights))
    for name, column_values in (extra or {}).items():
        frame[name] = np.asarray(column_values, dtype=np.float64)
    return frame.sort_values("channel", ignore_index=True)


def residuals(credit: pd.DataFrame, total: Totals) -> dict[str, float]:
    """How far the credit misses the totals, relative to them (0 where a total is 0).

    Returns
    -------
    dict
        ``conversions`` and ``value``: ``|sum of credit - total| / total``.
    """
    out = {}
    for column, amount in (("conversions", total.conversions), ("value", total.value)):
        missed = abs(float(credit[column].sum()) - amount)
        out[column] = missed / abs(amount) if amount else missed
    return out


__all__ = ["CREDIT_COLUMNS", "Totals", "credit_table", "residuals", "totals"]
