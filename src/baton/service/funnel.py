"""The funnel use cases: the funnel table and the stuck list, computed where the data is.

Both take the store's tables on any backend (:mod:`baton.analytics.source`) and the contract,
and bring back only the small result as a pandas frame for the CLI or the API to render.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import pandas as pd

from baton.analytics.breakdowns import check_breakdown
from baton.analytics.cohorts import check_cohort
from baton.analytics.funnel import funnel
from baton.analytics.memo import Built
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.analytics.stuck import stuck_leads
from baton.analytics.timing import AS_OF, compared
from baton.contract import Contract


def funnel_query(
    tables: Tables,
    contract: Contract,
    *,
    by: str | None = None,
    cohort: str | None = None,
    period: str | None = None,
    stages: Sequence[str] | None = None,
    built: Built | None = None,
) -> ibis.Table:
    """The query of :func:`funnel_report`, taken from ``built`` when it was built before."""
    zone = contract.business_hours.zone

    def build() -> ibis.Table:
        return funnel(
            tables,
            contract.main_path(),
            by=check_breakdown(by) if by else None,
            cohort=check_cohort(cohort) if cohort else None,
            period=Period.parse(period, zone) if period else None,
            zone=zone,
            only=stages,
        )

    if built is None:
        return build()
    key = ("funnel", by, cohort, period, tuple(stages) if stages is not None else None)
    return built.get(key, build, tables, contract)


def funnel_report(
    tables: Tables,
    contract: Contract,
    *,
    by: str | None = None,
    cohort: str | None = None,
    period: str | None = None,
    stages: Sequence[str] | None = None,
    built: Built | None = None,
) -> pd.DataFrame:
    """The funnel over the contract's main path, as :func:`baton.analytics.funnel.funnel`.

    Parameters
    ----------
    tables
        The store's tables.
    contract
        Gives the main path, and the time zone of periods and cohorts (its business hours').
    by
        A breakdown: ``channel``, ``campaign``, ``segment``, ``team`` or ``owner``.
    cohort
        ``week``, ``month`` or ``quarter``.
    period
        A period label such as ``2026-Q3`` (see :class:`baton.analytics.period.Period`).
    stages
        Stage keys to pair up (e.g. ``["mql", "customer"]``); the whole main path by default.
    built
        Where the query is kept once built (:class:`baton.analytics.memo.Built`), for a
        process that asks again (the dashboard).

    Returns
    -------
    pandas.DataFrame
        One row per breakdown group, cohort and pair of stages; counts as int64, rates and
        days as float64 (NaN where there is nothing to divide or time).
    """
    expr = funnel_query(
        tables, contract, by=by, cohort=cohort, period=period, stages=stages, built=built
    )
    frame = expr.to_pandas()
    for column in ("step", "entered", "converted", "timed"):
        frame[column] = frame[column].astype("int64")
    for column in ("conversion", "median_days", "p75_days", "p90_days"):
        frame[column] = frame[column].astype("float64")
    return frame


def stuck_report(tables: Tables, contract: Contract, *, as_of: dt.datetime) -> pd.DataFrame:
    """Leads waiting longer than the contract's ``stuck_after_days`` at ``as_of``.

    Parameters
    ----------
    tables
        The store's tables.
    contract
        Gives the thresholds per stage.
    as_of
        The moment to judge at (aware; a naive one is read as UTC).

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`baton.analytics.stuck.stuck_leads`, ``entered_at`` as aware UTC.
    """
    # the moment as a parameter: the query's SQL is compiled once (see remember_sql)
    query = stuck_leads(tables, contract.stuck_after_days, AS_OF)
    frame = query.to_pandas(params={AS_OF: compared(as_of)})
    frame["entered_at"] = pd.to_datetime(frame["entered_at"], utc=True)
    frame["days_in_stage"] = frame["days_in_stage"].astype("float64")
    return frame
