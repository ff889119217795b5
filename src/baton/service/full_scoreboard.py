"""The full scoreboard: every section the weekly meeting looks at, computed on any engine.

:func:`full_scoreboard` is the one place that lists the sections: the funnel (by channel, and
by pair of stages with the days between them), stuck leads, the shared KPIs, both sides of the
SLA and progress to the goals, for one period, as small frames. It runs on
whatever :class:`~baton.analytics.source.Tables` it is given (the store's SQLite or PostgreSQL,
a DuckDB file, a Parquet export), so the engine test and the benchmark, which both call it,
check and time every section on every engine. The sections that are plain Ibis expressions are
in :data:`EXPRESSIONS`; a section that needs Python after the query (business hours) is added
in :func:`full_scoreboard` itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ibis
import pandas as pd

from baton.analytics.funnel import funnel, funnel_by_channel
from baton.analytics.kpis import kpi_table
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.analytics.stuck import stuck_leads
from baton.contract import Contract
from baton.service.commitments import goals_report, sla_report

#: The sections that are one Ibis expression each, by name: how to build each from the tables,
#: the contract and the period. ``funnel`` counts every lead in the log whatever the period
#: (see :func:`~baton.analytics.funnel.funnel_by_channel`); ``funnel_pairs`` is conversion and
#: days between each pair of stages for leads reaching the first in the period
#: (:func:`~baton.analytics.funnel.funnel`); ``kpis`` is every shared KPI over the period,
#: overall (:func:`~baton.analytics.kpis.kpi_table`); ``stuck`` counts the leads stuck in each
#: stage at the period's end (:func:`~baton.analytics.stuck.stuck_leads`, listed one by one by
#: ``baton funnel --stuck``).
EXPRESSIONS: dict[str, Callable[[Tables, Contract, Period], ibis.Table]] = {
    "funnel": lambda t, contract, _: funnel_by_channel(
        t.stage_changes, t.leads, contract.main_path()
    ),
    "funnel_pairs": lambda t, contract, period: funnel(
        t, contract.main_path(), period=period, zone=contract.business_hours.zone
    ),
    "kpis": kpi_table,
    "stuck": lambda t, contract, period: _stuck_per_stage(t, contract, period),
}


def _stuck_per_stage(tables: Tables, contract: Contract, period: Period) -> ibis.Table:
    stuck = stuck_leads(tables, contract.stuck_after_days, _end(period))
    return (
        stuck.group_by("stage")
        .aggregate(leads=stuck.count(), longest_days=stuck.days_in_stage.max())
        .order_by("stage")
    )


def _end(period: Period) -> dt.datetime:
    """The period's end as an aware UTC datetime: the moment the scoreboard is taken at."""
    return period.bounds()[1].replace(tzinfo=dt.UTC)


def full_scoreboard(tables: Tables, contract: Contract, period: Period) -> dict[str, pd.DataFrame]:
    """Every section of the scoreboard for ``period``, as of the period's end.

    Parameters
    ----------
    tables
        The store's tables on one backend.
    contract
        The contract in force: stages, pipeline, SLA terms, business hours, goals.
    period
        The reporting period. Moves and activities after its end are left out of the SLA and
        the goals, so a past period always gives the same numbers.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``funnel``, ``funnel_pairs``, ``kpis`` and ``stuck`` (see :data:`EXPRESSIONS`); ``sla_sales`` (first touch within
        the SLA by rep), ``sla_volume`` (MQLs per month against the commitment),
        ``sla_acceptance`` (one row: sales' acceptance of the period's MQLs); ``goals``
        (progress to each goal of the contract).
    """
    board = {
        name: tables.backend.execute(build(tables, contract, period))
        for name, build in EXPRESSIONS.items()
    }
    as_of = _end(period)
    sla = sla_report(tables, contract, as_of=as_of, period=period, by="rep")
    board["sla_sales"] = sla.sales
    board["sla_volume"] = sla.volume
    board["sla_acceptance"] = pd.DataFrame([sla.acceptance.as_dict()])
    board["goals"] = goals_report(tables, contract, as_of=as_of)
    return board
