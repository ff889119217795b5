"""The business-hours clock: how much SLA time has passed, and when an SLA falls due.

The contract's ``[business_hours]`` section says when the clock runs: working days, an
opening and closing time of day in one IANA time zone, and holidays. :class:`BusinessClock`
turns that into a sorted list of open intervals, one per working day, each built from the
day's local wall times and converted to UTC. Everything else follows from one function,
*business time since a fixed origin*, which is flat outside the intervals and rises with
real time inside them:

* ``elapsed(s, e)`` is its difference, so a start or end outside hours counts from (to)
  the nearest open edge;
* ``add(s, d)`` is its inverse: the first moment at which ``d`` more business time has
  passed, so ``elapsed(s, add(s, d)) == d`` exactly for every ``d > 0``.

Time is real (absolute) time. A 09:00 to 17:00 day is 8 hours on a daylight-saving change day,
because both ends are on the same side of a change made at night. Hours that contain the
change itself (a team open 00:00 to 12:00 on a Sunday the clocks go forward) are an hour shorter
or longer that day. A wall time that does not exist or occurs twice is read with ``fold=0``,
Python's default: the offset in force before the change.

Days are built a calendar year at a time and kept, so a call costs a few microseconds
whatever its span; the first call touching a year pays about a millisecond to build it.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from baton.contract.model import BusinessHours
from baton.errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    Times: TypeAlias = pd.Series | pd.Index | npt.NDArray[np.datetime64]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _ns(at: dt.datetime, name: str = "time") -> int:
    """Nanoseconds since the Unix epoch of an aware datetime, as an exact integer."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(
            f"{name} {at.isoformat()} has no time zone; the business-hours clock cannot guess "
            "one: pass an aware datetime, e.g. datetime(..., tzinfo=datetime.UTC)"
        )
    delta = at - _EPOCH  # different tzinfo objects, so Python subtracts real (UTC) time
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _utc(ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=ns // 1_000)


class _Year(NamedTuple):
    """The open intervals of the working days whose local date falls in one calendar year.

    ``before[k]`` is the business time of intervals ``0..k-1``; ``after[k]`` adds interval
    ``k``; ``total`` is the year's business time. Times and durations are integer nanoseconds.
    """

    opens: list[int]
    closes: list[int]
    before: list[int]
    after: list[int]
    total: int


class BusinessClock:
    """The SLA clock of one contract's business hours.

    Parameters
    ----------
    hours
        The contract's ``business_hours`` section. Its end must be later than its start.

    Notes
    -----
    Every method takes aware datetimes in any time zone and returns datetimes in UTC. A day
    is open from its start time (included) to its end time (excluded). Naive datetimes raise
    :class:`~baton.errors.InvalidInput`, which is a ``ValueError``.
    """

    __slots__ = ("_end", "_holidays", "_start", "_weekdays", "_years", "_zone", "hours")

    def __init__(self, hours: BusinessHours) -> None:
        if hours.start_time >= hours.end_time:
            raise InvalidInput(
                f'business_hours.end "{hours.end}" must be later than start "{hours.start}"'
            )
        self.hours = hours
        self._zone = hours.zone
        self._start, self._end = hours.start_time, hours.end_time
        self._weekdays = hours.weekdays
        self._holidays = frozenset(hours.holidays)
        self._years: dict[int, _Year] = {}

    def __repr__(self) -> str:
        h = self.hours
        return f"BusinessClock({h.timezone}, {','.join(h.days)} {h.start}-{h.end})"

    # -- the table of open intervals ------------------------------------------------------
    def _year(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            table = self._years[year] = self._build(year)
        return table

    def _build(self, year: int) -> _Year:
        opens: list[int] = []
        closes: list[int] = []
        before: list[int] = []
        after: list[int] = []
        total = 0
        first = dt.date(year, 1, 1).toordinal()
        for ordinal in range(first, dt.date(year, 12, 31).toordinal() + 1):
            day = dt.date.fromordinal(ordinal)
            if day.weekday() in self._weekdays and day not in self._holidays:
                # Local wall times first, then UTC: this is what keeps DST days right.
                opened = _ns(dt.datetime.combine(day, self._start, self._zone))
                closed = max(opened, _ns(dt.datetime.combine(day, self._end, self._zone)))
                opens.append(opened)
                closes.append(closed)
                before.append(total)
                total += closed - opened
                after.append(total)
        return _Year(opens, closes, before, after, total)

    def _locate(self, at: dt.datetime, name: str) -> tuple[int, int]:
        """``at`` as (its local calendar year, nanoseconds since the epoch)."""
        ns = _ns(at, name)
        return at.astimezone(self._zone).year, ns

    def _since_new_year(self, year: int, ns: int) -> int:
        """Business time from the start of local ``year`` to ``ns`` (which lies in it)."""
        table = self._year(year)
        k = bisect_right(table.opens, ns) - 1
        if k < 0:
            return 0
        return table.before[k] + min(ns - table.opens[k], table.closes[k] - table.opens[k])

    # -- public API -----------------------------------------------------------------------
    def elapsed(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Business time between two moments.

        Parameters
        ----------
        start, end
            Aware datetimes in any time zone.

        Returns
        -------
        datetime.timedelta
            Open time between them, counted in the contract's zone on working days, holidays
            excluded. A moment outside hours counts from (to) the nearest open edge. Zero if
            ``end <= start``.
        """
        start_year, s = self._locate(start, "start")
        end_year, e = self._locate(end, "end")
        if e <= s:
            return dt.timedelta(0)
        total = self._since_new_year(end_year, e) - self._since_new_year(start_year, s)
        total += sum(self._year(y).total for y in range(start_year, end_year))
        return dt.timedelta(microseconds=total // 1_000)

    def add(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The moment ``duration`` of business time has passed after ``start``: an SLA's due time.

        Parameters
        ----------
        start
            Aware datetime the clock starts from; outside hours, counting begins at the next
            opening.
        duration
            Business time to count; must not be negative.

        Returns
        -------
        datetime.datetime
            The first moment at which ``duration`` has passed, in UTC. It may be a closing time
            (one hour after Friday 16:00 is Friday 17:00, not Monday 09:00), and
            ``elapsed(start, add(start, duration)) == duration``. A zero duration returns
            :meth:`next_open` of ``start``, the moment the clock would start running.
        """
        if duration < dt.timedelta(0):
            raise InvalidInput(f"duration {duration} is negative; SLA durations count forward")
        if not duration:
            return self.next_open(start)
        year, s = self._locate(start, "start")
        target = self._since_new_year(year, s) + duration // dt.timedelta(microseconds=1) * 1_000
        while True:  # ends: every year outside the (finite) holiday list has working days
            table = self._year(year)
            if target <= table.total:
                k = bisect_left(table.after, target)
                return _utc(table.opens[k] + target - table.before[k])
            target -= table.total
            year += 1

    def is_open(self, at: dt.datetime) -> bool:
        """Whether the clock is running at ``at`` (opening time included, closing excluded)."""
        year, ns = self._locate(at, "at")
        table = self._year(year)
        k = bisect_right(table.opens, ns) - 1
        return k >= 0 and ns < table.closes[k]

    def next_open(self, at: dt.datetime) -> dt.datetime:
        """``at`` itself if the clock is running then, otherwise the next opening, in UTC."""
        year, ns = self._locate(at, "at")
        table = self._year(year)
        k = bisect_right(table.opens, ns) - 1
        if k >= 0 and ns < table.closes[k]:
            return at.astimezone(dt.UTC)
        k += 1
        while True:
            while k < len(table.opens) and table.closes[k] == table.opens[k]:
                k += 1  # a day whose hours vanish in a DST gap never opens
            if k < len(table.opens):
                return _utc(table.opens[k])
            year, k = year + 1, 0
            table = self._year(year)

    def elapsed_many(self, starts: Times, ends: Times) -> npt.NDArray[np.float64]:
        """Business time between many pairs of moments, in seconds; vectorised :meth:`elapsed`.

        Parameters
        ----------
        starts, ends
            Equal-length pandas Series or Index of time-zone-aware datetimes (any zone), or numpy
            ``datetime64`` arrays, which numpy defines as UTC. Missing values (NaT) are allowed.

        Returns
        -------
        numpy.ndarray
            Float seconds per pair, in input order, equal to
            ``elapsed(start, end).total_seconds()``; NaN where either time is missing.
        """
        s, s_missing = _utc_ns(starts, "starts")
        e, e_missing = _utc_ns(ends, "ends")
        if s.shape != e.shape:
            raise InvalidInput(f"starts has {s.size} values but ends has {e.size}; pair them up")
        out = np.full(s.shape, np.nan)
        present = ~(s_missing | e_missing)
        if not present.any():
            return out
        s, e = s[present], e[present]
        table = self._arrays(int(min(s.min(), e.min())), int(max(s.max(), e.max())))
        out[present] = np.maximum(_since(e, *table) - _since(s, *table), 0) / 1e9
        return out

    def add_many(self, starts: Times, seconds: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """Due times of many SLAs at once; vectorised :meth:`add`.

        Parameters
        ----------
        starts
            As for :meth:`elapsed_many`: aware pandas values in any zone or numpy
            ``datetime64`` (UTC). Missing values (NaT) are allowed.
        seconds
            Business time to count from each start, in seconds: one per start, or one for
            all. None may be negative.

        Returns
        -------
        numpy.ndarray
            ``datetime64[ns]`` in UTC, in input order: ``add(start, duration)`` on every row
            (to the microsecond float seconds can hold); NaT where the start is missing.
        """
        s, missing = _utc_ns(starts, "starts")
        wanted = np.broadcast_to(np.asarray(seconds, dtype=np.float64), s.shape)
        if (wanted < 0).any():
            raise InvalidInput("some durations are negative; SLA durations count forward")
        out = np.full(s.shape, np.datetime64("NaT", "ns"))
        present = ~missing
        if not present.any():
            return out
        s, d = s[present], np.rint(wanted[present] * 1e9).astype(np.int64)
        lo, hi = int(s.min()), int(s.max())
        opens, lengths, before = self._arrays(lo, hi)
        target = _since(s, opens, lengths, before) + d
        while target.max() > before[-1] + lengths[-1]:  # long durations reach further years
            hi += 366 * 86_400 * 10**9
            opens, lengths, before = self._arrays(lo, hi)  # same first year, same origin
        after = before + lengths
        # a positive duration may end on a closing time; a zero one starts at the next opening
        k = np.where(
            d > 0, np.searchsorted(after, target, "left"), np.searchsorted(after, target, "right")
        )
        out[present] = (opens[k] + target - before[k]).astype("datetime64[ns]")
        return out

    def working_days(
        self, start: dt.datetime, end: dt.datetime
    ) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.datetime64]]:
        """Opening and closing moments of the working days whose hours overlap ``(start, end)``.

        Parameters
        ----------
        start, end
            Aware datetimes in any time zone.

        Returns
        -------
        tuple of numpy.ndarray
            ``(opens, closes)``, ``datetime64[ns]`` in UTC, one pair per working day in order:
            days that close after ``start`` and open before ``end``. Holidays, closed weekdays
            and a day whose hours vanish in a daylight-saving gap are left out. Reports that
            count "business days" (an SLA's attempts window) count these days.
        """
        lo, hi = _ns(start, "start"), _ns(end, "end")
        opens, lengths, _ = self._arrays(lo, max(lo, hi))
        closes = opens + lengths
        keep = (closes > lo) & (opens < hi) & (lengths > 0)
        return opens[keep].astype("datetime64[ns]"), closes[keep].astype("datetime64[ns]")

    def _arrays(self, lo: int, hi: int) -> tuple[npt.NDArray[np.int64], ...]:
        """Intervals of every local year that instants in ``[lo, hi]`` (ns) can fall in."""
        first = _utc(lo).year - 1  # a local date is at most a day from the UTC date
        last = _utc(hi).year + 1
        tables = [self._year(y) for y in range(first, last + 1)]
        opens = np.array([o for t in tables for o in t.opens], dtype=np.int64)
        lengths = np.array([c for t in tables for c in t.closes], dtype=np.int64) - opens
        before = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return opens, lengths, before


def _since(
    ns: npt.NDArray[np.int64],
    opens: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    before: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Business time from the table's first opening to each instant (vectorised)."""
    if opens.size == 0:
        return np.zeros_like(ns)
    k = np.maximum(np.searchsorted(opens, ns, side="right") - 1, 0)
    result: npt.NDArray[np.int64] = before[k] + np.clip(ns - opens[k], 0, lengths[k])
    return result


def _utc_ns(values: Any, name: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Nanoseconds since the epoch (UTC) and a missing-value mask for an array of times."""
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        as_ns = values.astype("datetime64[ns]")
        return as_ns.view(np.int64).ravel(), np.isnat(as_ns).ravel()
    import pandas as pd  # only analytics callers need it; keeps the domain import light

    try:
        index = pd.DatetimeIndex(values)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{name}: cannot read these values as datetimes ({exc})") from exc
    if index.tz is None:
        raise InvalidInput(
            f"{name} has no time zone; localize it first, e.g. series.dt.tz_localize('UTC') "
            "or series.dt.tz_localize('America/New_York')"
        )
    index = index.tz_convert("UTC").as_unit("ns")
    return np.asarray(index.asi8, dtype=np.int64), np.asarray(index.isna(), dtype=np.bool_)
