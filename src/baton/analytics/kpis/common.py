"""What every KPI expression shares: the period's bounds, breakdown labels and the result rows.

Each KPI builder turns a per-record table (a row per lead, deal, customer...) into rows of the
one result schema :data:`COLUMNS`. Breakdowns work by stacking: every record appears once
under its group's label and once more under :data:`OVERALL`, so a single ``group_by`` gives
the groups and the total, and medians can be taken per group with one window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, get_args

import ibis
from dateutil.relativedelta import relativedelta

from baton.analytics.funnel import OVERALL, UNKNOWN
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract.load import did_you_mean
from baton.errors import InvalidInput

__all__ = ["COLUMNS", "OVERALL", "UNKNOWN", "By", "Scope"]

By = Literal["channel", "owner", "team"]
#: The breakdowns a scoreboard can ask for.
BREAKDOWNS: tuple[str, ...] = get_args(By)
#: The result schema every KPI builder returns, in this order.
COLUMNS = ("kpi", "group", "value", "numerator", "denominator", "note")


@dataclass(frozen=True)
class Scope:
    """The period a scoreboard covers and the breakdown it asks for.

    ``start`` and ``end`` are the period's half-open bounds as naive UTC datetimes;
    ``first`` and ``stop`` the same as local calendar days (for monthly spend).
    """

    label: str
    start: dt.datetime
    end: dt.datetime
    first: dt.date
    stop: dt.date
    by: By | None
    period: Period

    @classmethod
    def of(cls, period: Period, by: str | None = None) -> Scope:
        """The scope of ``period`` broken down by ``by`` (``None`` for totals only)."""
        start, end = period.bounds()
        return cls(period.label, start, end, period.first, period.end, check_by(by), period)

    @property
    def whole_months(self) -> bool:
        """Whether the period is made of whole calendar months (every form but a week)."""
        return self.first.day == 1 and self.stop.day == 1

    def months_before(self, months: int) -> tuple[dt.datetime, dt.datetime]:
        """The bounds shifted ``months`` back, as naive UTC datetimes (local midnights)."""
        earlier = Period(
            self.label,
            self.first - relativedelta(months=months),
            self.stop - relativedelta(months=months),
            self.period.zone,
        )
        return earlier.bounds()


def check_by(by: str | None) -> By | None:
    """``by`` if it is a known breakdown; :class:`InvalidInput` naming the choices if not."""
    if by is None or by in BREAKDOWNS:
        return by  # type: ignore[return-value]
    hint = did_you_mean(by, BREAKDOWNS) or f"; use one of: {', '.join(BREAKDOWNS)}"
    raise InvalidInput(f'"{by}" is not a breakdown{hint}')


def within(moment: ibis.TimestampValue, start: dt.datetime, end: dt.datetime) -> ibis.BooleanValue:
    """``start <= moment < end``; false where ``moment`` is null."""
    return ((moment >= start) & (moment < end)).fill_null(False)


def flag(condition: ibis.BooleanValue) -> ibis.IntegerValue:
    """1 where ``condition`` holds, else 0 (null counts as 0).

    PostgreSQL casts booleans to int4 but not to int8, so this is a CASE, not a cast.
    """
    return condition.fill_null(False).ifelse(1, 0)


def stacked(base: ibis.Table, t: Tables, by: By | None) -> ibis.Table:
    """``base`` with a ``group`` column: each row under its group's label and again under OVERALL.

    ``base`` needs a ``channel`` column for ``by="channel"`` and an ``owner_id`` column (a
    user id) for ``"owner"`` (the user's name) and ``"team"`` (the user's team's name).
    A missing label becomes :data:`UNKNOWN`.
    """
    overall = base.mutate(group=ibis.literal(OVERALL, "string"))
    if by is None:
        return overall
    if by == "channel":
        labelled = base.mutate(group=base.channel.fill_null(UNKNOWN).cast("string"))
    else:
        people = t.users.left_join(t.teams, t.users.team_id == t.teams.id).select(
            person_id=t.users.id, owner=t.users.name, team=t.teams.name
        )
        joined = base.left_join(people, base.owner_id == people.person_id)
        labelled = joined.select(*base.columns, group=joined[by].fill_null(UNKNOWN).cast("string"))
    return labelled.union(overall)


def result(
    kpi: str,
    rows: ibis.Table,
    value: ibis.FloatingValue,
    *,
    numerator: ibis.NumericValue | None = None,
    denominator: ibis.NumericValue | None = None,
    note: ibis.StringValue | None = None,
) -> ibis.Table:
    """Rows of the result schema from a table with a ``group`` column."""
    return rows.select(
        kpi=ibis.literal(kpi, "string"),
        group=rows.group.cast("string"),
        value=value.cast("float64"),
        numerator=ibis.null("float64") if numerator is None else numerator.cast("float64"),
        denominator=ibis.null("float64") if denominator is None else denominator.cast("float64"),
        note=ibis.null("string") if note is None else note,
    )


def ratio(
    kpi: str, rows: ibis.Table, numerator: ibis.NumericValue, denominator: ibis.NumericValue,
    empty: str,
) -> ibis.Table:
    """``numerator / denominator`` per group; null with the note ``empty`` where nothing counts."""
    top = numerator.cast("float64")
    bottom = denominator.cast("float64")
    return result(
        kpi, rows, top / bottom.nullif(0.0), numerator=top, denominator=bottom,
        note=ibis.ifelse(bottom.fill_null(0.0) == 0.0, ibis.literal(empty), ibis.null("string")),
    )


def median_days(
    kpi: str, facts: ibis.Table, days: str, groups: ibis.Table, empty: str
) -> ibis.Table:
    """The median of column ``days`` of ``facts`` per ``group`` (the mean of the middle two).

    Written with window functions because SQLite has no median aggregate. There is a row for
    each group of ``groups`` (a table of distinct ``group`` values); one with no value is null
    with the note ``empty``.
    """
    known = facts.filter(facts[days].notnull())
    ranked = known.mutate(
        rank=ibis.row_number().over(group_by=known.group, order_by=known[days]),
        count=known[days].count().over(group_by=known.group),
    )
    middle = ranked.filter(
        (ranked["rank"] == (ranked["count"] - 1) // 2) | (ranked["rank"] == ranked["count"] // 2)
    )
    medians = middle.group_by("group").aggregate(value=middle[days].mean(), n=middle["count"].max())
    joined = groups.left_join(medians, groups.group == medians.group)
    rows = joined.select(group=groups.group, value=joined.value, n=joined.n)
    return result(
        kpi, rows, rows.value, denominator=rows.n,
        note=ibis.ifelse(rows.value.isnull(), ibis.literal(empty), ibis.null("string")),
    )
