"""Reporting periods: ``2026``, ``2026-H1``, ``2026-Q3``, ``2026-07``, ``2026-W47``.

A period starts and ends at midnight in the contract's time zone; :meth:`Period.bounds`
gives the half-open interval as naive UTC datetimes, the form analytics compare with.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from baton.errors import InvalidInput

_FORMS = re.compile(
    r"^(?P<year>\d{4})(?:-(?:Q(?P<q>[1-4])|H(?P<h>[12])|W(?P<w>\d{2})|(?P<m>0[1-9]|1[0-2])))?$"
)


@dataclass(frozen=True)
class Period:
    """A named span of calendar days ``[first, end)`` in a time zone."""

    label: str
    first: dt.date
    end: dt.date
    zone: ZoneInfo

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> Period:
        """Read ``2026``, ``2026-H1``, ``2026-Q3``, ``2026-07`` or ``2026-W47`` (ISO week)."""
        found = _FORMS.match(text.strip())
        if not found:
            raise InvalidInput(
                f'"{text}" is not a period; write a year (2026), a half (2026-H1), a quarter '
                "(2026-Q3), a month (2026-07) or an ISO week (2026-W47)"
            )
        year = int(found["year"])
        if found["q"]:
            first = dt.date(year, 3 * int(found["q"]) - 2, 1)
            end = _add_months(first, 3)
        elif found["h"]:
            first = dt.date(year, 6 * int(found["h"]) - 5, 1)
            end = _add_months(first, 6)
        elif found["m"]:
            first = dt.date(year, int(found["m"]), 1)
            end = _add_months(first, 1)
        elif found["w"]:
            try:
                first = dt.date.fromisocalendar(year, int(found["w"]), 1)
            except ValueError:
                raise InvalidInput(f'"{text}": {year} has no ISO week {found["w"]}') from None
            end = first + dt.timedelta(days=7)
        else:
            first, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
        return cls(text.strip(), first, end, zone)

    @classmethod
    def containing(cls, day: dt.date, kind: str, zone: ZoneInfo) -> Period:
        """The year, half, quarter, month or week (``kind``) that holds ``day``."""
        labels = {
            "year": f"{day.year}",
            "half": f"{day.year}-H{1 + (day.month - 1) // 6}",
            "quarter": f"{day.year}-Q{1 + (day.month - 1) // 3}",
            "month": f"{day.year}-{day.month:02d}",
            "week": "{}-W{:02d}".format(*day.isocalendar()[:2]),
        }
        if kind not in labels:
            raise InvalidInput(f'"{kind}" is not a period kind; use one of: {", ".join(labels)}')
        return cls.parse(labels[kind], zone)

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """``[start, end)`` as naive UTC datetimes (midnights in the period's zone)."""
        return _utc_naive(self.first, self.zone), _utc_naive(self.end, self.zone)

    @property
    def days(self) -> int:
        return (self.end - self.first).days


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _utc_naive(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    return local.astimezone(dt.UTC).replace(tzinfo=None)
