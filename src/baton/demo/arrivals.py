"""When leads arrive and through which channel: seasonality, growth, weekdays, buying committees.

An account's first person arrives on a day drawn from the whole window, weighted by the month
(slow summers and Decembers), a steady growth, the weekday and each channel's own season
(events in spring and autumn). The rest of its buying committee follows within weeks, half of
them through the same channel.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from baton.demo.calendar import BusinessCalendar, Moments, days, seconds
from baton.demo.profiles import CHANNELS, GROWTH, HOURS, SEASON, channel_column
from baton.demo.world import Accounts, Ints


def first_day(end: dt.date, months: int) -> dt.date:
    """The first day of the window of ``months`` whole months before ``end``'s month."""
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    first = np.datetime64(end, "M") - np.timedelta64(months, "M")
    return first.astype("datetime64[D]").astype(dt.date)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Window:
    """The simulated months: local days ``first`` up to ``stop`` (excluded), and the UTC
    moments ``start`` and ``end`` of their local midnights."""

    first: dt.date
    stop: dt.date
    start: np.datetime64
    end: np.datetime64

    @classmethod
    def ending(cls, end: dt.date, months: int, calendar: BusinessCalendar) -> Window:
        """The ``months`` whole months before ``end``'s month, and its days before ``end``."""
        first = first_day(end, months)
        start, stop = calendar.from_local(np.array([first, end], dtype="datetime64[s]"))
        return cls(first, end, start, stop)

    @property
    def days(self) -> NDArray[np.datetime64]:
        return np.arange(np.datetime64(self.first, "D"), np.datetime64(self.stop, "D"))

    @property
    def months(self) -> int:
        """How many calendar months the window touches."""
        last = np.datetime64(self.stop - dt.timedelta(days=1), "M")
        return int((last - np.datetime64(self.first, "M")).astype(np.int64)) + 1

    def month_index(self, at: Moments) -> Ints:
        """Months since the window's first month (negative before it)."""
        months = at.astype("datetime64[M]") - np.datetime64(self.first, "M")
        return months.astype(np.int64)


@dataclass(frozen=True)
class Arrivals:
    """One row per lead, sorted by arrival: when, through which channel, from which account.

    ``role`` is the person's place in the account's committee by arrival: 0 for the first,
    1 for the second (usually the buyer), 2 for the rest.
    """

    created: Moments
    channel: Ints
    account: Ints
    role: Ints

    def __len__(self) -> int:
        return self.created.size


def draw_arrivals(
    rng: np.random.Generator, window: Window, calendar: BusinessCalendar, accounts: Accounts
) -> Arrivals:
    """Arrival time and channel for every member of every account's buying committee."""
    day = window.days
    month = day.astype("datetime64[M]").astype(np.int64) % 12
    weight = (
        SEASON[month]
        * (1 + GROWTH) ** window.month_index(day)
        * np.where(calendar.is_working_day(day), 1.0, 0.3)
    )
    season = np.array([c.season for c in CHANNELS])[:, month].T
    joint = weight[:, None] * season * channel_column("share")[None, :]
    flat = rng.choice(joint.size, size=len(accounts), p=(joint / joint.sum()).ravel())
    first_day, first_channel = np.divmod(flat, len(CHANNELS))

    account = np.repeat(np.arange(len(accounts)), accounts.committee)
    starts = np.cumsum(accounts.committee) - accounts.committee
    later = np.arange(account.size) > np.repeat(starts, accounts.committee)
    # the rest of the committee arrives within weeks of the first, before or after
    spread = np.abs(rng.normal(0, 18, account.size)) * later
    sign = np.where(rng.random(account.size) < 0.7, 1, -1)
    shift = days(spread * sign).astype("timedelta64[D]")
    when = day[first_day][account] + shift
    outside = (when < day[0]) | (when > day[-1])
    when = np.where(outside, day[first_day][account] - shift, when)
    when = np.clip(when, day[0], day[-1])
    clock = rng.choice(24, size=account.size, p=HOURS / HOURS.sum()) * 3600 + rng.integers(
        3600, size=account.size
    )
    created = calendar.from_local(when.astype("datetime64[s]") + seconds(clock))

    same = rng.random(account.size) < 0.5
    other = rng.choice(
        len(CHANNELS), size=account.size, p=channel_column("share") / channel_column("share").sum()
    )
    channel = np.where(later & ~same, other, first_channel[account]).astype(np.int64)

    order = np.lexsort((account, created))
    created, channel, account = created[order], channel[order], account[order]
    by_account = np.lexsort((created, account))
    rank = np.empty(account.size, dtype=np.int64)
    rank[by_account] = np.arange(account.size) - np.repeat(starts, accounts.committee)
    return Arrivals(
        created=created, channel=channel, account=account.astype(np.int64), role=np.minimum(rank, 2)
    )
