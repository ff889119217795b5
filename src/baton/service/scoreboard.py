"""The scoreboard use cases: metrics computed in the store's database through Ibis."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from baton.analytics.engine import connect
from baton.analytics.funnel import funnel_by_channel
from baton.analytics.kpis import KPIS, OVERALL, kpi_table
from baton.analytics.memo import Built
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract import Contract


def funnel_scoreboard(database_url: str, contract: Contract) -> pd.DataFrame:
    """The funnel by channel and overall, computed inside the store at ``database_url``.

    Parameters
    ----------
    database_url
        The store's URL (``BATON_DATABASE_URL``).
    contract
        The contract whose main path gives the stages and their order.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`baton.analytics.funnel.funnel_by_channel`: one per channel and
        stage, with ``reached``, ``converted`` and ``conversion``.
    """
    con = connect(database_url)
    try:
        expr = funnel_by_channel(
            con.table("stage_changes"), con.table("leads"), contract.main_path()
        )
        return expr.to_pandas()
    finally:
        con.disconnect()


def current_quarter(contract: Contract, now: dt.datetime) -> Period:
    """The quarter holding ``now`` (an aware time) in the contract's time zone."""
    zone = contract.business_hours.zone
    return Period.containing(now.astimezone(zone).date(), "quarter", zone)


def kpi_query(
    tables: Tables, contract: Contract, period: Period, by: str | None, built: Built | None
) -> ibis.Table:
    """The query of :func:`kpi_scoreboard`, taken from ``built`` when it was built before."""

    def build() -> ibis.Table:
        return kpi_table(tables, contract, period, by)

    return built.get(("kpis", period, by), build, tables, contract) if built else build()


def kpi_scoreboard(
    tables: Tables,
    contract: Contract,
    period: Period,
    by: str | None = None,
    *,
    built: Built | None = None,
) -> pd.DataFrame:
    """The shared KPIs over ``period``, computed where ``tables`` live.

    Parameters
    ----------
    tables
        The store's tables (:func:`baton.analytics.source.open_source`): the store itself, a
        DuckDB file or a Parquet export.
    contract
        The contract in force: its stage kinds say what counts as an MQL, SQL, deal won.
    period
        The reporting period, e.g. ``Period.parse("2026-Q3", contract.business_hours.zone)``.
    by
        ``None``, ``"channel"``, ``"owner"`` or ``"team"``.
    built
        Where a process that asks again (the dashboard) keeps the query it built, so that
        asking again only runs it.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`baton.analytics.kpis.kpi_table` with each KPI's ``name`` and
        ``unit`` from the catalogue, in the catalogue's order, the overall row first.
    """
    rows = tables.backend.execute(kpi_query(tables, contract, period, by, built))
    order = {k.key: n for n, k in enumerate(KPIS)}
    rows["name"] = rows["kpi"].map({k.key: k.name for k in KPIS})
    rows["unit"] = rows["kpi"].map({k.key: k.unit for k in KPIS})
    rows = rows.assign(
        _kpi=rows["kpi"].map(order), _rest=rows["group"] != OVERALL
    ).sort_values(["_kpi", "_rest", "group"], kind="stable")
    columns = ["kpi", "name", "unit", "group", "value", "numerator", "denominator", "note"]
    return rows[columns].reset_index(drop=True)
