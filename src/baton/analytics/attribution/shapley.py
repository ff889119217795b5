"""Shapley value attribution over channel coalitions, by the simplified formula of Zhao et al.

Zhao, Mahboobi and Bagheri (2018), "Shapley value methods for attribution modeling in online
advertising" (arXiv:1804.05327), treat channels as the players of a cooperative game:

- a journey's **coalition** is the set of distinct channels it touched (order and repeats
  do not count);
- ``R(S)`` is the conversions (or value) of the journeys whose coalition is exactly ``S``;
- the worth of a coalition is everything its members bring in together, alone or in any
  smaller coalition: ``v(S) = sum of R(T) over every T ⊆ S``;
- the Shapley value of channel ``j`` is the usual average of its marginal contributions,
  ``φ_j = sum over S ⊆ N - {j} of |S|! (|N| - |S| - 1)! / |N|! · (v(S | {j}) - v(S))``.

Because ``v`` is a sum of one game per observed coalition (each ``R(T)`` counted in every
coalition that contains ``T``), the paper shows the Shapley value simplifies to::

    φ_j = sum over coalitions S that contain j of R(S) / |S|

so only the coalitions actually observed are visited, never the ``2^|N|`` subsets, and each
journey's conversions are shared equally among the distinct channels it touched. The values
add up to the total conversions (the efficiency of the Shapley value) and a channel that
appears in no converting journey gets 0.

The engine does the per-touch work: each journey's coalition is a bit mask (the sum of its
distinct channels' bits, in 64-bit integers of 52 channels each, as many as the channels
need), and journeys are grouped by mask; only the masks with their conversions and value come
back. There is thus no limit on the number of channels from the method: the cost grows with
the number of distinct coalitions observed (at most the number of journeys), not with
``2^|N|``. The exact brute-force formula above is what the tests check the simplified one
against.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd

from baton.analytics.attribution.credit import Totals, credit_table
from baton.analytics.attribution.journeys import Journeys
from baton.analytics.breakdowns import UNKNOWN

#: Channels per word of a coalition's mask. 52 keeps every mask below 2**53: PostgreSQL sums
#: bigints as numeric, which comes back through a float, exact only up to 2**53.
BITS_PER_WORD = 52


def channel_codes(journeys: Journeys) -> pd.DataFrame:
    """Every channel touched (a missing one as ``unknown``), sorted, with its word and bit."""
    touches = journeys.touches
    names = touches.select(channel=touches.channel.fill_null(UNKNOWN)).distinct().execute()
    channels = sorted(str(c) for c in names["channel"])
    codes = np.arange(len(channels), dtype=np.int64)
    return pd.DataFrame(
        {
            "channel": pd.Series(channels, dtype=object),
            "word": codes // BITS_PER_WORD,
            "bit": np.left_shift(np.int64(1), codes % BITS_PER_WORD),
        }
    )


def coalition_counts(journeys: Journeys, codes: pd.DataFrame) -> ibis.Table:
    """The conversions and value of the journeys per coalition, counted on the engine.

    Parameters
    ----------
    journeys
        The journeys.
    codes
        The channels' words and bits, from :func:`channel_codes`.

    Returns
    -------
    ibis.Table
        One row per coalition that converted or brought value: ``mask_0`` … (the coalition's
        bits, one column per word), ``journeys`` (how many journeys), ``conversions`` and
        ``value`` (their sums).
    """
    touches = journeys.touches
    distinct = touches.select("journey_id", channel=touches.channel.fill_null(UNKNOWN)).distinct()
    # typed, so no channel at all is still a table PostgreSQL can hold
    coded = distinct.join(
        ibis.memtable(codes, schema={"channel": "string", "word": "int64", "bit": "int64"}),
        "channel",
    )
    words = int(codes["word"].max()) + 1 if len(codes) else 1
    masks = coded.group_by("journey_id").aggregate(
        **{
            f"mask_{w}": ibis.ifelse(coded.word == w, coded.bit, 0).cast(dt.int64).sum()
            for w in range(words)
        }
    )
    weights = journeys.journeys.select("journey_id", "conversions", "value")
    joined = masks.join(weights, "journey_id")
    keys = [f"mask_{w}" for w in range(words)]
    counted = joined.group_by(keys).aggregate(
        journeys=joined.count(),
        conversions=joined.conversions.sum(),
        value=joined.value.sum(),
    )
    return counted.filter((counted.conversions != 0) | (counted.value != 0))


def shapley_values(counts: pd.DataFrame, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The simplified Shapley values of ``channels`` channels from the coalition counts.

    Returns
    -------
    tuple of numpy.ndarray
        For conversions and for value, ``φ_j = sum over S ∋ j of R(S) / |S|``, by channel code.
    """
    words = [c for c in counts.columns if c.startswith("mask_")]
    members = np.zeros((len(counts), channels), dtype=bool)
    codes = np.arange(channels)
    for w, column in enumerate(sorted(words, key=lambda c: int(c.split("_")[1]))):
        masks = counts[column].to_numpy(dtype=np.int64)
        in_word = codes // BITS_PER_WORD == w
        bits = np.left_shift(np.int64(1), codes[in_word] % BITS_PER_WORD)
        members[:, in_word] = (masks[:, None] & bits[None, :]) != 0
    sizes = members.sum(axis=1)
    share = np.where(sizes > 0, 1.0 / np.maximum(sizes, 1), 0.0)
    conversions = counts["conversions"].to_numpy(dtype=np.float64) * share
    value = counts["value"].to_numpy(dtype=np.float64) * share
    return conversions @ members, value @ members


def shapley(journeys: Journeys) -> pd.DataFrame:
    """Credit per channel by the simplified Shapley value of Zhao et al. (2018).

    Parameters
    ----------
    journeys
        The journeys (weighted by their ``conversions`` and ``value``).

    Returns
    -------
    pandas.DataFrame
        One row per channel, sorted: ``channel``, ``conversions`` and ``value`` (the Shapley
        values, which add up to the conversions and value of the journeys with touches), and
        ``share`` and ``share_value`` (each divided by its total).
    """
    codes = channel_codes(journeys)
    counts = coalition_counts(journeys, codes).execute()
    conversions, value = shapley_values(counts, len(codes))
    total = Totals(float(conversions.sum()), float(value.sum()))
    frame = credit_table(codes["channel"].tolist(), conversions, value, total)
    frame["share"] = frame["conversions"] / total.conversions if total.conversions else 0.0
    frame["share_value"] = frame["value"] / total.value if total.value else 0.0
    return frame


__all__ = ["BITS_PER_WORD", "channel_codes", "coalition_counts", "shapley", "shapley_values"]
