"""Time for the simulator, on whole numpy arrays: local days, business time, UTC moments.

Arrivals are drawn as local wall times in the contract's business-hours zone (people fill in
forms in the daytime, less at weekends) and turned into UTC once; everything after that is a
UTC ``datetime64[s]``. Sales work is timed in business hours with the domain's
:class:`~baton.domain.business_hours.BusinessClock`, the same clock the SLA reports use, so
"first touch within 4 business hours" means the same thing to the simulator and to the
scoreboard.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from baton.contract.model import DAY_NAMES, BusinessHours
from baton.domain.business_hours import BusinessClock

Moments = NDArray[np.datetime64]
SECOND = np.timedelta64(1, "s")


def seconds(values: NDArray[np.floating] | NDArray[np.integer] | float) -> NDArray[np.timedelta64]:
    """Durations in seconds (floats are rounded) as ``timedelta64[s]``."""
    return np.round(np.asarray(values, dtype=float)).astype("int64") * SECOND


def days(values: NDArray[np.floating] | float) -> NDArray[np.timedelta64]:
    """Durations in (fractional) days as ``timedelta64[s]``."""
    return seconds(np.asarray(values, dtype=float) * 86_400)


class BusinessCalendar:
    """The contract's business hours as the simulator uses them.

    Parameters
    ----------
    hours
        The contract's ``[business_hours]``: zone, working days, opening hours, holidays.
    """

    def __init__(self, hours: BusinessHours) -> None:
        self.hours = hours
        self.clock = BusinessClock(hours)
        self.weekmask = "".join("1" if day in hours.days else "0" for day in DAY_NAMES)
        self.holidays = np.array(hours.holidays, dtype="datetime64[D]")
        self.day_hours = (
            dt.datetime.combine(dt.date.min, hours.end_time)
            - dt.datetime.combine(dt.date.min, hours.start_time)
        ) / dt.timedelta(hours=1)

    def is_working_day(self, day: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        """Whether each local day (``datetime64[D]``) is a working day."""
        return np.is_busday(day, weekmask=self.weekmask, holidays=self.holidays)

    def add_hours(self, at: Moments, hours: NDArray[np.floating] | float) -> Moments:
        """Each UTC moment plus ``hours`` business hours (counted from the next opening)."""
        due = self.clock.add_many(at, np.asarray(hours, dtype=float) * 3600)
        return due.astype("datetime64[s]")

    def add_days(self, at: Moments, spans: NDArray[np.floating] | float) -> Moments:
        """Each UTC moment plus about ``spans`` calendar days, landing inside business hours.

        A span becomes the business hours such a span holds on average (with the default
        contract a week is five days of eight hours), so durations drawn in days keep their
        length while the work happens when people work.
        """
        share = self.weekmask.count("1") / 7
        return self.add_hours(at, np.asarray(spans, dtype=float) * share * self.day_hours)

    def from_local(self, local: Moments) -> Moments:
        """UTC moments (``datetime64[s]``) for local wall times in the contract's zone.

        A time a daylight-saving change skips moves forward to the first valid time; one it
        repeats is read as standard time, so the order of moments is kept.
        """
        index = pd.DatetimeIndex(local).tz_localize(
            self.hours.timezone,
            ambiguous=np.zeros(len(local), dtype=bool),
            nonexistent="shift_forward",
        )
        utc: Moments = index.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")
        return utc


def aware(utc: Moments) -> list[dt.datetime]:
    """Aware UTC ``datetime`` objects for UTC moments (no NaT), as records want them."""
    if np.isnat(utc).any():
        raise ValueError("a moment is missing (NaT); use aware_or_none")
    naive: list[dt.datetime] = utc.astype("datetime64[us]").astype(object).tolist()
    return [t.replace(tzinfo=dt.UTC) for t in naive]


def aware_or_none(utc: Moments) -> list[dt.datetime | None]:
    """Like :func:`aware`, with ``None`` for NaT."""
    naive: list[dt.datetime | None] = utc.astype("datetime64[us]").astype(object).tolist()
    return [None if t is None else t.replace(tzinfo=dt.UTC) for t in naive]
