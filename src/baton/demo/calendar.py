"""Business time for the simulator, on whole numpy arrays.

The simulator keeps every moment as naive local time (``datetime64[s]`` in the contract's
business-hours time zone) so "a rep calls back within 4 business hours" is plain arithmetic on
working days and opening hours; :meth:`BusinessCalendar.to_utc` turns the result into the
aware UTC datetimes the store wants, once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from baton.contract.model import DAY_NAMES, BusinessHours

Moments = NDArray[np.datetime64]
SECOND = np.timedelta64(1, "s")
DAY = np.timedelta64(1, "D")


def seconds(values: NDArray[np.floating] | NDArray[np.integer] | float) -> NDArray[np.timedelta64]:
    """Durations in seconds (floats are rounded) as ``timedelta64[s]``."""
    return np.round(np.asarray(values, dtype=float)).astype("int64") * SECOND


def days(values: NDArray[np.floating] | float) -> NDArray[np.timedelta64]:
    """Durations in (fractional) days as ``timedelta64[s]``."""
    return seconds(np.asarray(values, dtype=float) * 86_400)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days, opening hours and holidays of the contract, as numpy understands them.

    Parameters
    ----------
    weekmask
        Seven ``0``/``1`` characters, Monday first, as :func:`numpy.busday_offset` takes them.
    holidays
        Days off besides the weekend.
    opens, closes
        Opening and closing time as seconds after midnight.
    timezone
        IANA name of the zone local times are in.
    """

    weekmask: str
    holidays: NDArray[np.datetime64]
    opens: int
    closes: int
    timezone: str

    @classmethod
    def from_hours(cls, hours: BusinessHours) -> BusinessCalendar:
        """The calendar of a contract's ``[business_hours]``."""
        mask = "".join("1" if day in hours.days else "0" for day in DAY_NAMES)
        start, end = hours.start_time, hours.end_time
        return cls(
            weekmask=mask,
            holidays=np.array(hours.holidays, dtype="datetime64[D]"),
            opens=start.hour * 3600 + start.minute * 60,
            closes=end.hour * 3600 + end.minute * 60,
            timezone=hours.timezone,
        )

    @property
    def day_length(self) -> int:
        """Seconds of business time in one working day."""
        return self.closes - self.opens

    def is_working_day(self, day: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        """Whether each day (``datetime64[D]``) is a working day."""
        return np.is_busday(day, weekmask=self.weekmask, holidays=self.holidays)

    def next_working_day(
        self, day: NDArray[np.datetime64], offset: int | NDArray[np.integer] = 0
    ) -> NDArray[np.datetime64]:
        """The working day ``offset`` working days after ``day`` (``day`` itself rolls forward)."""
        return np.busday_offset(
            day, offset, roll="forward", weekmask=self.weekmask, holidays=self.holidays
        )

    def snap(self, at: Moments) -> Moments:
        """The first business moment at or after each of ``at`` (no NaT)."""
        day = at.astype("datetime64[D]")
        into = (at - day) // SECOND
        working = self.is_working_day(day)
        open_now = working & (into >= self.opens) & (into < self.closes)
        later_today = working & (into < self.opens)
        next_day = np.where(working, self.next_working_day(day, 1), self.next_working_day(day))
        opening = np.where(later_today, day, next_day).astype("datetime64[s]") + self.opens * SECOND
        return np.where(open_now, at.astype("datetime64[s]"), opening)

    def add_hours(self, at: Moments, hours: NDArray[np.floating] | float) -> Moments:
        """Each of ``at`` plus ``hours`` business hours (counted from the next business moment).

        Parameters
        ----------
        at
            Local start moments (``datetime64``, no NaT).
        hours
            Business hours to add, one per moment or one for all; must not be negative.

        Returns
        -------
        numpy.ndarray
            Local moments (``datetime64[s]``) inside business hours; a result that lands
            exactly on closing time is given as the next day's opening.
        """
        start = self.snap(at)
        day = start.astype("datetime64[D]")
        used = (start - day) // SECOND - self.opens
        total = used + np.round(np.asarray(hours, dtype=float) * 3600).astype("int64")
        ahead, rest = np.divmod(total, self.day_length)
        landed = self.next_working_day(day, ahead).astype("datetime64[s]")
        return landed + (self.opens + rest) * SECOND

    def add_days(self, at: Moments, spans: NDArray[np.floating] | float) -> Moments:
        """Each of ``at`` plus about ``spans`` calendar days, landing inside business hours.

        The span is turned into the business hours such a span holds on average (a week is
        five working days of eight hours with the default contract), so durations drawn in
        days keep their length while work happens when people work.
        """
        share = self.weekmask.count("1") / 7
        return self.add_hours(at, np.asarray(spans, dtype=float) * share * self.day_length / 3600)

    def to_utc(self, local: Moments) -> NDArray[np.object_]:
        """Aware UTC ``datetime`` objects for local moments; NaT becomes ``None``.

        A local time that a daylight-saving change skips moves forward to the first valid
        time; one it repeats is read as standard time, so the order of moments is kept.
        """
        index = pd.DatetimeIndex(local).tz_localize(
            self.timezone,
            ambiguous=np.zeros(len(local), dtype=bool),
            nonexistent="shift_forward",
        )
        aware = index.tz_convert("UTC").to_pydatetime()
        aware[np.isnat(local)] = None
        return aware
