"""Exact quantiles by rank, the same on every backend.

SQLite has no percentile function, and PostgreSQL's ``percentile_cont`` and DuckDB's
``quantile_cont`` are not available through one Ibis operation on all three. So quantiles are
computed from row numbers, which every backend has, with one definition:

**Linear interpolation between closest ranks** (Hyndman and Fan's type 7, the default of
numpy, pandas and R): for ``n`` sorted values ``x[0] <= ... <= x[n-1]`` and a percentile ``p``,
let ``h = (n - 1) * p / 100``; the quantile is ``x[floor(h)] + (h - floor(h)) *
(x[floor(h) + 1] - x[floor(h)])``. The median is the middle value, or the mean of the two
middle values.

Values are whole numbers (seconds, say) and percentiles whole percents, so ``floor(h)`` and the
fraction are integer arithmetic and the quantile is one exact integer divided by one number:
``(x_lo * 100 + (x_hi - x_lo) * r) / (100 * unit)`` with ``r = (n - 1) * p mod 100``. One
correctly rounded division of exact operands gives the identical float on SQLite, PostgreSQL,
DuckDB and in Python, whatever the order rows arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
from ibis.common.deferred import Deferred

#: The quantiles the funnel reports, as output column name and whole percentile.
TIME_PERCENTILES: dict[str, int] = {"median_days": 50, "p75_days": 75, "p90_days": 90}


def exact_quantiles(
    table: ibis.Table,
    value: str,
    by: Sequence[str],
    percentiles: Mapping[str, int],
    *,
    unit: int = 1,
    also: Mapping[str, Deferred] | None = None,
) -> ibis.Table:
    """Quantiles of an integer column per group, by linear interpolation between ranks.

    Parameters
    ----------
    table
        Rows to summarise; rows where ``value`` is null count in no quantile.
    value
        The name of an integer column (for example a duration in whole seconds).
    by
        Columns to group by; every group in ``table`` gets a row.
    percentiles
        Output column name to whole percentile (0 to 100), e.g. ``{"median": 50}``.
    unit
        Each quantile is divided by this (86400 turns seconds into days).
    also
        More aggregates over the same rows in the same pass, as deferred expressions
        (``{"rows": _.count()}``).

    Returns
    -------
    ibis.Table
        The ``by`` columns, ``n`` (how many values are not null), the ``also`` columns and one
        float64 column per percentile (null where ``n`` is 0).
    """
    for name, p in percentiles.items():
        if not 0 <= p <= 100:
            raise ValueError(f"percentile {name}={p} is not a whole number from 0 to 100")
    keys = list(by)
    column = table[value]
    ranked = table.mutate(
        _v=column.cast("int64"),
        # 0-based rank, values before nulls on every backend; ties hold equal values, so
        # their order does not change the result
        _pos=ibis.row_number().over(group_by=keys, order_by=[column.isnull(), column]),
        _n=column.count().over(group_by=keys),
    )
    picks: dict[str, ibis.Value] = {}
    for name, p in percentiles.items():
        scaled = (ranked._n - 1) * p  # h * 100, an integer
        low = (scaled // 100).cast("int64")
        picks[f"_x_{name}"] = (ranked._pos == low).ifelse(ranked._v, ibis.null("int64")).max()
        picks[f"_y_{name}"] = (ranked._pos == low + 1).ifelse(ranked._v, ibis.null("int64")).max()
        picks[f"_r_{name}"] = (scaled - low * 100).max()
    extra = {name: expr.resolve(ranked) for name, expr in (also or {}).items()}
    aggregates = {"n": ranked._v.count(), **extra, **picks}
    grouped = (ranked.group_by(keys) if keys else ranked).aggregate(**aggregates)
    out: dict[str, ibis.Value] = {}
    for name in percentiles:
        x, r = grouped[f"_x_{name}"], grouped[f"_r_{name}"].cast("int64")
        y = grouped[f"_y_{name}"].fill_null(x)  # r is 0 whenever x is the last value
        numerator = x * 100 + (y - x) * r
        out[name] = numerator.cast("float64") / float(100 * unit)
    return grouped.select(*keys, "n", *extra, **out)
