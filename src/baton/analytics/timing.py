"""Moments as analytics compare them: naive UTC in expressions, aware UTC in pandas.

Every backend hands timestamps to Ibis as naive UTC (see :mod:`baton.analytics.source`), so
bounds and cut-offs go into expressions as naive UTC datetimes; frames that come back are made
aware (UTC) before the business-hours clock or a time zone touches them.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd


def naive_utc(at: dt.datetime) -> dt.datetime:
    """An aware datetime as the naive UTC datetime expressions compare with."""
    return at.astimezone(dt.UTC).replace(tzinfo=None)


def between(at: ibis.TimestampValue, start: dt.datetime, stop: dt.datetime) -> ibis.BooleanValue:
    """Whether ``at`` lies in ``[start, stop)`` (naive UTC bounds); null times do not."""
    return (at >= start) & (at < stop)


def utc_times(values: pd.Series) -> pd.Series:
    """Times from any backend (naive UTC on SQLite and DuckDB, aware on PostgreSQL) as aware UTC."""
    return pd.to_datetime(values, utc=True)
