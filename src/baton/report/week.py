"""Which week a report covers: an ISO week such as ``2026-W47``, or the last complete one.

A week runs Monday 00:00 to the next Monday 00:00 in the contract's time zone (the zone of its
business hours), so "the week" means the same days to both teams wherever the server runs.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from baton.analytics.period import Period
from baton.errors import InvalidInput

_WEEK = re.compile(r"^(?P<year>\d{4})-?W(?P<week>\d{1,2})$", re.IGNORECASE)


def parse_week(text: str, zone: ZoneInfo) -> Period:
    """The ISO week named by ``text`` (``2026-W47``; ``2026W47`` and ``2026-w47`` also read).

    Raises
    ------
    InvalidInput
        When ``text`` is not an ISO week, or its year has no such week (only some years have a
        week 53), with what to write instead.
    """
    found = _WEEK.match(text.strip())
    if not found:
        raise InvalidInput(
            f'--week "{text}" is not an ISO week; write the year, "-W" and the week number, '
            "e.g. 2026-W47 (weeks start on Monday; see `date +%G-W%V` for this week)"
        )
    year, week = int(found["year"]), int(found["week"])
    if not 1 <= year <= 9998:
        raise InvalidInput(f'--week "{text}": the year must be between 1 and 9998')
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        last = dt.date(year, 12, 28).isocalendar().week  # 28 December is always in the last week
        raise InvalidInput(
            f'--week "{text}": {year} has ISO weeks 1 to {last}; pick one of those'
        ) from None
    return Period.parse(f"{year}-W{week:02d}", zone)


def last_complete_week(now: dt.datetime, zone: ZoneInfo) -> Period:
    """The latest week that ended at or before ``now`` (aware), in ``zone``."""
    today = now.astimezone(zone).date()
    return Period.containing(today - dt.timedelta(days=7), "week", zone)


def week_before(week: Period) -> Period:
    """The week before ``week``, in its time zone."""
    return Period.containing(week.first - dt.timedelta(days=7), "week", week.zone)


def check_started(week: Period, now: dt.datetime) -> None:
    """Refuse a week that has not begun at ``now``: its report would be empty, not late."""
    start, _ = week.bounds()
    if now.astimezone(dt.UTC).replace(tzinfo=None) < start:
        raise InvalidInput(
            f"week {week.label} ({week.first} to {week.end - dt.timedelta(days=1)}) has not "
            f"started yet (it is {now.astimezone(week.zone):%Y-%m-%d %H:%M} in "
            f"{week.zone.key}); pick a week up to this one, or leave out --week for the last "
            "complete one"
        )


def is_complete(week: Period, now: dt.datetime) -> bool:
    """Whether ``week`` had ended by ``now``."""
    _, end = week.bounds()
    return now.astimezone(dt.UTC).replace(tzinfo=None) >= end
