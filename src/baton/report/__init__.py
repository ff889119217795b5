"""The weekly alignment report: goals, funnel, both sides' SLA, rejection reasons, attribution
and the week's wins, as one self-contained HTML page or a PDF.

``baton report --week 2026-W47 --format html|pdf`` and the dashboard's report page both call
:func:`render_html` / :func:`render_pdf`; :func:`weekly_report` gives the gathered content for
other renderings. docs/report.md describes every section.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from baton.analytics.period import Period
from baton.analytics.source import Tables, from_store
from baton.contract.model import Contract
from baton.domain.model import Clock
from baton.errors import InvalidInput, NotFound
from baton.progress import NoProgress, Progress
from baton.report.gather import WeeklyReport, gather
from baton.report.render import html, pdf
from baton.report.week import check_started, last_complete_week, parse_week
from baton.store.uow import UnitOfWork

#: Where the report's data can come from: the store's engine, a unit of work on it, or the
#: analytics tables of any engine (then the contract must be given).
Source = Engine | UnitOfWork | Tables


def resolve_week(week: str | Period | None, contract: Contract, now: dt.datetime) -> Period:
    """The week asked for (``2026-W47``), or the last complete one at ``now``; never a future one."""
    zone = contract.business_hours.zone
    if week is None:
        return last_complete_week(now, zone)
    chosen = week if isinstance(week, Period) else parse_week(week, zone)
    check_started(chosen, now)
    return chosen


def weekly_report(
    source: Source,
    week: str | Period | None,
    clock: Clock,
    *,
    contract: Contract | None = None,
    progress: Progress | None = None,
) -> WeeklyReport:
    """Gather one week's report.

    Parameters
    ----------
    source
        The store's :class:`~sqlalchemy.Engine` or a :class:`~baton.store.uow.UnitOfWork` on it
        (its tables are read through Ibis on a connection of their own), or
        :class:`~baton.analytics.source.Tables` on any engine.
    week
        ``"2026-W47"``, a week :class:`~baton.analytics.period.Period`, or None for the last
        complete week at ``clock()``.
    clock
        The time source; a week not over yet is reported as of ``clock()``.
    contract
        The contract to measure against; by default the version in force at the week's end,
        read from the store (required when ``source`` is :class:`Tables`).
    progress
        Told of each step.

    Raises
    ------
    InvalidInput
        For a bad ``week`` or a week that has not started.
    NotFound
        When no contract version is stored and none is given.
    """
    now = clock()
    with _tables(source) as (tables, engine):
        if contract is None:
            contract = _contract_in_force(source, engine, week, now)
        chosen = resolve_week(week, contract, now)
        return gather(tables, contract, chosen, now=now, progress=progress or NoProgress())


def render_html(
    source: Source,
    week: str | Period | None,
    clock: Clock,
    *,
    contract: Contract | None = None,
    progress: Progress | None = None,
) -> str:
    """The week's report as one self-contained HTML page (inline CSS, charts as inline SVG).

    Takes the arguments of :func:`weekly_report`.
    """
    report = weekly_report(source, week, clock, contract=contract, progress=progress)
    done = (progress or NoProgress()).task("drawing the charts", 1)
    page = html(report)
    done(1)
    return page


def render_pdf(
    source: Source,
    week: str | Period | None,
    clock: Clock,
    *,
    contract: Contract | None = None,
    progress: Progress | None = None,
) -> bytes:
    """The week's report as a PDF: :func:`render_html`'s page laid out by WeasyPrint.

    Raises
    ------
    BatonError
        When WeasyPrint or its system libraries are missing, naming what to install.
    """
    page = render_html(source, week, clock, contract=contract, progress=progress)
    done = (progress or NoProgress()).task("laying out the PDF", 1)
    document = pdf(page)
    done(1)
    return document


@contextmanager
def _tables(source: Source) -> Iterator[tuple[Tables, Engine | None]]:
    if isinstance(source, Tables):
        yield source, None
        return
    engine = source if isinstance(source, Engine) else source.session.get_bind()
    if not isinstance(engine, Engine):
        raise InvalidInput("the report reads a unit of work bound to an engine")
    tables = from_store(engine.url.render_as_string(hide_password=False))
    try:
        yield tables, engine
    finally:
        tables.close()


def _contract_in_force(
    source: Source, engine: Engine | None, week: str | Period | None, now: dt.datetime
) -> Contract:
    from baton.service.contracts import contract_in_force

    if engine is None:
        raise InvalidInput("pass the contract when the report reads analytics tables directly")
    # the version in force now decides the time zone; then the one in force at the week's end
    # measures it, if there was one (a store whose first version came later uses the current)
    with UnitOfWork(engine) as uow:
        current = contract_in_force(uow.session, now).contract
        chosen = resolve_week(week, current, now)
        end = min(chosen.bounds()[1].replace(tzinfo=dt.UTC), now)
        try:
            return contract_in_force(uow.session, end).contract
        except NotFound:
            return current


__all__ = [
    "WeeklyReport",
    "gather",
    "last_complete_week",
    "parse_week",
    "render_html",
    "render_pdf",
    "resolve_week",
    "weekly_report",
]
