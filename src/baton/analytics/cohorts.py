"""Cohorts: the calendar week, month or quarter, in the contract's time zone, a moment falls in.

Cohorts are labelled like reporting periods (``2026-W27``, ``2026-07``, ``2026-Q3``; see
:mod:`baton.analytics.period`), so a cohort's label can be passed back as ``--period`` and
covers exactly the same moments: weeks are ISO weeks (Monday to Sunday), and every period
starts at midnight in the time zone.

SQLite cannot convert time zones and a join with a calendar table is slow there, so the local
period is found with arithmetic every backend runs the same way. The zone's UTC offset at a
moment comes from its transitions (daylight saving time and every historical change, read from
:mod:`zoneinfo` for 1970 to 2100, outside which the nearest offset holds; only those inside the
period when one is given), written as two flat levels of comparisons, since SQLite's parser
refuses deep nesting. That gives whether the local day is the UTC day or one either side; the
week is the local day number divided by seven, and the month the UTC calendar month moved by
one where the moment falls on the first or last day of it. Rows are grouped by an integer
cohort key and labelled only on the small aggregated result (:func:`label_cohorts`, with the
civil-from-days algorithm of Howard Hinnant,
https://howardhinnant.github.io/date_algorithms.html, for ISO weeks): labels written on every
row would repeat the offset comparisons many times over once a database flattens the query.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from bisect import bisect_left, bisect_right
from functools import lru_cache
from zoneinfo import ZoneInfo

import ibis

from baton.errors import InvalidInput

#: The cohort kinds, each a kind of :class:`~baton.analytics.period.Period`.
COHORTS = ("week", "month", "quarter")
#: Years whose offset changes are looked up; outside them the nearest offset holds.
YEARS = (1970, 2100)
DAY = 86400


def check_cohort(kind: str) -> str:
    """``kind`` if it is one of :data:`COHORTS`, else :class:`InvalidInput` naming them."""
    if kind not in COHORTS:
        raise InvalidInput(f'"{kind}" is not a cohort; use one of: {", ".join(COHORTS)}')
    return kind


def with_cohort_key(
    table: ibis.Table,
    *,
    at: str,
    seconds: str,
    kind: str,
    zone: ZoneInfo,
    within: tuple[int, int] | None = None,
) -> ibis.Table:
    """``table`` with an integer ``cohort``: the number of the local period holding a moment.

    Parameters
    ----------
    table
        Rows with a moment, as a naive UTC timestamp column and as whole epoch seconds.
    at, seconds
        The names of those two columns (the same moment twice: the timestamp gives the UTC
        calendar date cheaply, the seconds the local day).
    kind
        ``week`` (weeks since the Monday 1969-12-29), ``month`` (``year * 12 + month - 1``)
        or ``quarter`` (``year * 4 + quarter - 1``).
    zone
        The time zone whose midnights start the periods.
    within
        When every moment lies in ``[start, end)`` (epoch seconds), only the zone's offset
        changes in that span are written into the expression.
    """
    check_cohort(kind)
    secs = table[seconds]
    # the offset comparisons are written once; everything else reads columns
    local = table.mutate(_shift=(secs + utc_offset(secs, zone, within)) // DAY - secs // DAY)
    if kind == "week":
        local_days = local[seconds] // DAY + local._shift
        return local.select(*table.columns, cohort=(local_days + 3) // 7)
    moment = local[at]
    dated = local.mutate(
        _y=moment.year().cast("int64"),
        _m=moment.month().cast("int64"),
        _d=moment.day().cast("int64"),
    )
    # the local day is the UTC day or one either side; only the first or last day of a
    # month can move a moment into another month
    last_day = _days_in_month(dated._y, dated._m)
    moved = dated._shift.cases(
        (-1, (dated._d == 1).ifelse(-1, 0)), (1, (dated._d == last_day).ifelse(1, 0)), else_=0
    )
    month = dated._y * 12 + dated._m - 1 + moved
    key = month if kind == "month" else month // 3
    return dated.select(*table.columns, cohort=key.cast("int64"))


def label_cohorts(table: ibis.Table, kind: str) -> ibis.Table:
    """``table`` with its integer ``cohort`` replaced by the period label (``2026-W27``,
    ``2026-07``, ``2026-Q3``); meant for small, aggregated tables."""
    check_cohort(kind)
    key = table.cohort
    if kind == "month":
        step = table.mutate(_y=key // 12)
        label = step._y.cast("string") + "-" + _two_digits(step.cohort - step._y * 12 + 1)
    elif kind == "quarter":
        step = table.mutate(_y=key // 4)
        label = step._y.cast("string") + "-Q" + (step.cohort - step._y * 4 + 1).cast("string")
    else:
        # ISO week: the week's Thursday lies in its ISO year, and is that year's n-th Thursday
        step = _civil_year(table.mutate(_thursday=key * 7), "_thursday")
        step = step.mutate(_jan1=_days_from_civil_jan1(step._y))
        week = (step._thursday - step._jan1) // 7 + 1
        label = step._y.cast("string") + "-W" + _two_digits(week)
    return step.mutate(cohort=label).select(table.columns)


def utc_offset(
    seconds: ibis.IntegerValue, zone: ZoneInfo, within: tuple[int, int] | None = None
) -> ibis.IntegerValue:
    """The zone's offset from UTC in seconds at each moment (whole epoch seconds), exact for
    moments in ``within`` (``[start, end)`` in epoch seconds) if given."""
    instants, offsets = _transitions(zone.key)
    if within is not None:
        first, last = bisect_right(instants, within[0]), bisect_left(instants, within[1])
        instants, offsets = instants[first:last], offsets[first : last + 1]
    if len(offsets) == 1:
        return ibis.literal(offsets[0], "int64")
    # two flat levels of about sqrt(n) comparisons each: SQLite's parser refuses deep nesting
    size = max(2, math.isqrt(len(instants)) + 1)
    chunks = []
    for lo in range(0, len(instants), size):
        inner = [
            (seconds < at, ibis.literal(offsets[i], "int64"))
            for i, at in enumerate(instants[lo : lo + size], start=lo)
        ]
        last = min(lo + size, len(instants))
        chunks.append((seconds < instants[last - 1], ibis.cases(*inner)))
    return ibis.cases(*chunks, else_=ibis.literal(offsets[-1], "int64"))


@lru_cache(maxsize=16)
def _transitions(zone_key: str) -> tuple[list[int], list[int]]:
    """``(instants, offsets)``: ``offsets[i]`` holds from ``instants[i - 1]`` (or forever before)
    to ``instants[i]`` (or forever after); found day by day, then to the second."""
    zone = ZoneInfo(zone_key)

    def offset(at: int) -> int:
        moment = dt.datetime.fromtimestamp(at, zone)
        return int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]

    start = calendar.timegm((YEARS[0], 1, 1, 0, 0, 0))
    end = calendar.timegm((YEARS[1], 1, 1, 0, 0, 0))
    instants: list[int] = []
    offsets = [offset(start)]
    for day in range(start, end, DAY):
        if offset(day + DAY) != offsets[-1]:
            lo, hi = day, day + DAY
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(mid) == offsets[-1] else (lo, mid)
            instants.append(hi)
            offsets.append(offset(hi))
    return instants, offsets


def _civil_year(table: ibis.Table, days: str) -> ibis.Table:
    """``table`` with ``_y``, the calendar year of the day number in column ``days`` (days
    since 1970-01-01, after 0000-03-01), one step per line so no expression repeats another."""
    z = table[days] + 719468
    t = table.mutate(_z=z, _era=z // 146097)
    t = t.mutate(_doe=t._z - t._era * 146097)
    t = t.mutate(_yoe=(t._doe - t._doe // 1460 + t._doe // 36524 - t._doe // 146096) // 365)
    doy = t._doe - (365 * t._yoe + t._yoe // 4 - t._yoe // 100)
    # months counted from March: January and February (10 and 11) belong to the next year
    march_based = (5 * doy + 2) // 153
    t = t.mutate(_y=t._yoe + t._era * 400 + (march_based >= 10).ifelse(1, 0))
    return t.drop("_z", "_era", "_doe", "_yoe")


def _days_in_month(year: ibis.IntegerValue, month: ibis.IntegerValue) -> ibis.IntegerValue:
    def divides(n: int) -> ibis.BooleanValue:
        return year - (year // n) * n == 0

    leap = (divides(4) & ~divides(100)) | divides(400)
    february = leap.ifelse(29, 28)
    return month.cases((2, february), (4, 30), (6, 30), (9, 30), (11, 30), else_=31)


def _days_from_civil_jan1(year: ibis.IntegerValue) -> ibis.IntegerValue:
    """The day number of 1 January of ``year`` (Hinnant's days_from_civil for month 1, day 1)."""
    y = year - 1  # January counts in the year before, in a March-based year
    era = y // 400
    yoe = y - era * 400
    doe = yoe * 365 + yoe // 4 - yoe // 100 + 306
    return era * 146097 + doe - 719468


def _two_digits(number: ibis.IntegerValue) -> ibis.StringValue:
    text = number.cast("string")
    return (number < 10).ifelse("0" + text, text)
