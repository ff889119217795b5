"""The shared KPIs of the scoreboard, as Ibis expressions over the store's tables.

:func:`kpi_table` gives every KPI of :data:`~baton.analytics.kpis.catalogue.KPIS` for a
period, overall and broken down by channel, owner or team, as one small table in the same
shape for every KPI (:data:`~baton.analytics.kpis.common.COLUMNS`). The definitions live in
:mod:`baton.analytics.kpis.catalogue`.
"""

from __future__ import annotations

import ibis

from baton.analytics.kpis.catalogue import KPIS, Kpi
from baton.analytics.kpis.common import COLUMNS, OVERALL, UNKNOWN, By, Scope
from baton.analytics.kpis.conversion import conversion_kpis
from baton.analytics.kpis.deals import deal_kpis
from baton.analytics.kpis.marketing import cac, marketing_pipeline
from baton.analytics.kpis.retention import retention
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract.model import Contract

__all__ = ["COLUMNS", "KPIS", "OVERALL", "UNKNOWN", "By", "Kpi", "Scope", "kpi_table"]


def kpi_table(
    t: Tables, contract: Contract, period: Period, by: str | None = None
) -> ibis.Table:
    """Every shared KPI over ``period``, overall and per group of ``by``.

    Parameters
    ----------
    t
        The store's tables on any backend (:mod:`baton.analytics.source`).
    contract
        The contract whose stage kinds say what an MQL, SQL, opportunity and won deal are.
    period
        The reporting period; its bounds are midnights in its time zone.
    by
        ``None`` for totals only, or ``"channel"``, ``"owner"`` or ``"team"``. KPIs that
        cannot be broken down that way (CAC by owner, retention) give their overall row.

    Returns
    -------
    ibis.Table
        Columns ``kpi``, ``group``, ``value``, ``numerator``, ``denominator`` and ``note``
        (why a value is null). ``group`` is :data:`OVERALL` for the totals and
        :data:`UNKNOWN` where a record has no label. A group appears for a KPI when some
        record of it counts for that KPI in the period.

    Raises
    ------
    InvalidInput
        For an unknown ``by``.
    """
    scope = Scope.of(period, by)
    parts = [
        *conversion_kpis(t, contract, scope),
        *deal_kpis(t, contract, scope),
        cac(t, contract, scope),
        *marketing_pipeline(t, contract, scope),
        *retention(t, contract, scope),
    ]
    return ibis.union(*parts)
