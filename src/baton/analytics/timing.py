"""Moments as analytics compare them: naive UTC in expressions, aware UTC in pandas.

Every backend hands timestamps to Ibis as naive UTC (see :mod:`baton.analytics.source`), so
bounds and cut-offs go into expressions as naive UTC datetimes; frames that come back are made
aware (UTC) before the business-hours clock or a time zone touches them.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeAlias

import ibis
import ibis.expr.types as ir
import pandas as pd

#: Moments as query parameters (naive UTC, given when the query runs): "as of", and the start
#: and end of a window (the end: the earlier of its end and "as of"). A query "as of now", or
#: over any window, that takes them is the same query at every call, and a connection that
#: keeps compiled SQL (:func:`~baton.analytics.memo.remember_sql`) compiles it once, not at
#: every call.
AS_OF = ibis.param("timestamp")
STOP = ibis.param("timestamp")
START = ibis.param("timestamp")


#: A moment an expression compares with: a datetime, or a timestamp parameter (naive UTC)
#: such as :data:`AS_OF`.
Moment: TypeAlias = dt.datetime | ir.TimestampValue


def naive_utc(at: dt.datetime) -> dt.datetime:
    """An aware datetime as the naive UTC datetime expressions compare with."""
    return at.astimezone(dt.UTC).replace(tzinfo=None)


def compared(at: Moment) -> Moment:
    """``at`` as expressions compare with it: an aware datetime as naive UTC, a naive one
    (read as UTC) or a timestamp parameter as it is."""
    if isinstance(at, dt.datetime) and at.tzinfo is not None:
        return naive_utc(at)
    return at


def between(at: ibis.TimestampValue, start: Moment, stop: Moment) -> ibis.BooleanValue:
    """Whether ``at`` lies in ``[start, stop)`` (naive UTC bounds, or timestamp parameters);
    null times do not."""
    return (at >= start) & (at < stop)


def utc_times(values: pd.Series) -> pd.Series:
    """Times from any backend (naive UTC on SQLite and DuckDB, aware on PostgreSQL) as aware UTC."""
    return pd.to_datetime(values, utc=True)
