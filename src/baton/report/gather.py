"""The weekly alignment report's content, gathered from the services that own each number.

Nothing is computed twice: the week in numbers and the goals come from
:mod:`baton.analytics.goals`, the funnel from :func:`baton.service.funnel.funnel_report`, both
sides of the SLA from :func:`baton.service.commitments.sla_report`, the attribution summary from
:func:`baton.service.attribution.attribute`; only the rejection reasons and the wins, which no
other command shows, have modules here (:mod:`.rejections`, :mod:`.wins`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import pandas as pd

from baton.analytics.goals import METRICS, window_actuals
from baton.analytics.memo import Built
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract.model import Contract
from baton.progress import Advance, NoProgress, Progress
from baton.report.rejections import top_rejections
from baton.report.week import is_complete, week_before
from baton.report.wins import Win, week_wins
from baton.service.attribution import AttributionQuery, AttributionResult, attribute
from baton.service.commitments import SLAReport, goals_report, sla_report
from baton.service.funnel import funnel_report

#: The attribution models of the summary, side by side: the two single-touch views each team
#: tends to quote, the even split, and the W-shaped model the wins are credited by.
SUMMARY_MODELS = ("first", "linear", "w-shaped", "last")
#: What the report gathers, in order: the progress bar counts these steps.
STEPS = ("week in numbers", "goals", "funnel", "SLA", "rejections", "attribution", "wins")


@dataclass(frozen=True)
class WeekNumbers:
    """A week's report but its attribution summary and wins (:func:`gather_numbers`).

    ``as_of`` is the week's end, or the moment the report was made when the week is not over
    (``complete`` is False then); every section is measured as of it.
    """

    week: Period
    previous: Period
    as_of: dt.datetime
    made_at: dt.datetime
    complete: bool
    contract: Contract
    numbers: dict[str, float]
    previous_numbers: dict[str, float]
    goals: pd.DataFrame
    funnel: pd.DataFrame
    sla: SLAReport
    rejections: pd.DataFrame

    def report(self, attribution: AttributionResult, wins: list[Win]) -> WeeklyReport:
        """The whole report: these numbers with the week's attribution summary and wins."""
        mine = {f.name: getattr(self, f.name) for f in fields(WeekNumbers)}
        return WeeklyReport(**mine, attribution=attribution, wins=wins)


@dataclass(frozen=True)
class WeeklyReport(WeekNumbers):
    """Everything one week's report shows, as small frames and records."""

    attribution: AttributionResult
    wins: list[Win]

    @property
    def currency(self) -> str:
        return self.contract.organization.currency

    @property
    def last_day(self) -> dt.date:
        return self.week.end - dt.timedelta(days=1)


def summary_query(week: Period) -> AttributionQuery:
    """The attribution summary's question: :data:`SUMMARY_MODELS` side by side for the deals
    won in ``week``, by account and channel."""
    return AttributionQuery(SUMMARY_MODELS, "won", "account", "channel", week)


def gather(
    tables: Tables,
    contract: Contract,
    week: Period,
    *,
    now: dt.datetime,
    progress: Progress | None = None,
    attribution: AttributionResult | None = None,
    wins: list[Win] | None = None,
    built: Built | None = None,
) -> WeeklyReport:
    """Gather the report of ``week`` as of its end (or ``now``, if it has not ended).

    Parameters
    ----------
    tables
        The store's tables, on any engine.
    contract
        The contract in force: stages, SLA terms, goals, reasons and attribution settings.
    week
        An ISO week (:func:`baton.report.week.parse_week`).
    now
        Aware datetime: when the report is made.
    progress
        Told of each of :data:`STEPS`.
    attribution, wins
        The week's attribution summary (:func:`summary_query`) and wins (:func:`week_wins`)
        when the caller has them already (the dashboard keeps them apart: no action taken
        there changes them).
    built
        Where the week's funnel query is kept once built (the dashboard's), so that making
        the report again only runs it.
    """
    advance = (progress or NoProgress()).task("gathering the week", len(STEPS))
    numbers = gather_numbers(tables, contract, week, now=now, advance=advance, built=built)
    if attribution is None:
        attribution = attribute(tables, contract, summary_query(week))
    advance(1)
    if wins is None:
        wins = week_wins(tables, contract, week)
    advance(1)
    return numbers.report(attribution, wins)


def gather_numbers(
    tables: Tables,
    contract: Contract,
    week: Period,
    *,
    now: dt.datetime,
    advance: Advance | None = None,
    built: Built | None = None,
) -> WeekNumbers:
    """The sections of :func:`gather` but the attribution summary and the wins (the dashboard
    keeps these apart: no action taken there changes them); ``advance`` is told of each of
    the first five :data:`STEPS`."""
    step = advance or NoProgress().task("", None)
    complete = is_complete(week, now)
    as_of = week.bounds()[1].replace(tzinfo=dt.UTC) if complete else now
    previous = week_before(week)
    numbers = window_actuals(tables, contract, week, as_of)
    earlier = window_actuals(
        tables, contract, previous, previous.bounds()[1].replace(tzinfo=dt.UTC)
    )
    step(1)
    goals = goals_report(tables, contract, as_of=as_of)
    step(1)
    funnel = funnel_report(tables, contract, period=week.label, built=built)
    step(1)
    sla = sla_report(tables, contract, as_of=as_of, period=week, by="rep")
    step(1)
    rejections = top_rejections(tables, contract, week)
    step(1)
    return WeekNumbers(
        week=week, previous=previous, as_of=as_of, made_at=now, complete=complete,
        contract=contract, numbers={m: numbers[m] for m in METRICS},
        previous_numbers={m: earlier[m] for m in METRICS}, goals=goals, funnel=funnel, sla=sla,
        rejections=rejections,
    )  # fmt: skip
