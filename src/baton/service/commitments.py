"""What the contract promises, checked against the store: the SLA, the shared goals, the plan.

Each use case takes the store's tables (:mod:`baton.analytics.source`), the contract and the
moment to report as of, and returns small frames ready to render. The heavy work runs in the
database through Ibis.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from baton.analytics.goals import goal_progress
from baton.analytics.memo import Built
from baton.analytics.period import Period
from baton.analytics.plan import Plan, reverse_funnel
from baton.analytics.sla import mql_handoffs
from baton.analytics.sla_report import (
    Acceptance,
    Grouping,
    acceptance,
    judge_mqls,
    mql_volume,
    sales_compliance,
)
from baton.analytics.source import Tables
from baton.analytics.timing import AS_OF, compared
from baton.contract.model import Contract
from baton.domain.business_hours import BusinessClock


def period_or_current(text: str | None, contract: Contract, as_of: dt.datetime) -> Period:
    """The period named by ``text``, or the quarter holding ``as_of`` in the contract's zone."""
    zone = contract.business_hours.zone
    if text:
        return Period.parse(text, zone)
    return Period.containing(as_of.astimezone(zone).date(), "quarter", zone)


@dataclass(frozen=True)
class SLAReport:
    """Both sides of the SLA over one period."""

    period: Period
    as_of: dt.datetime
    contract: Contract
    by: Grouping | None
    sales: pd.DataFrame
    volume: pd.DataFrame
    acceptance: Acceptance

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: numbers, strings, None for a missing value."""
        sla = self.contract.sla
        return {
            "period": self.period.label,
            "as_of": self.as_of.isoformat(),
            "terms": {"sales": sla.sales.model_dump(), "marketing": sla.marketing.model_dump()},
            "sales": records(self.sales),
            "marketing": {
                "volume": records(self.volume),
                "acceptance": self.acceptance.as_dict(),
            },
        }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts of plain Python values, NaN as None."""
    rows: list[dict[str, Any]] = frame.astype(object).to_dict("records")
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def sla_report(
    tables: Tables,
    contract: Contract,
    *,
    as_of: dt.datetime,
    period: Period | None = None,
    by: Grouping | None = "rep",
) -> SLAReport:
    """SLA compliance, both sides, for the MQLs of ``period`` (default: the current quarter).

    Parameters
    ----------
    tables
        The store's tables.
    contract
        Gives the SLA terms, the business hours and the stages.
    as_of
        Aware datetime the report is made at: later moves and activities are ignored, and an
        MQL not yet due is open rather than breached.
    period
        The MQLs counted entered the MQL stage in this period.
    by
        ``"rep"``, ``"team"`` or None (overall only) for the sales side.
    """
    period = period or period_or_current(None, contract, as_of)
    clock = BusinessClock(contract.business_hours)
    handoffs = handoffs_query(tables, contract, period).to_pandas(params={AS_OF: compared(as_of)})
    judged = judge_mqls(handoffs, clock, contract.sla.sales, as_of)
    return SLAReport(
        period=period,
        as_of=as_of,
        contract=contract,
        by=by,
        sales=sales_compliance(judged, by),
        volume=mql_volume(handoffs, period, contract.sla.marketing, as_of),
        acceptance=acceptance(handoffs, contract.sla.marketing),
    )


def handoffs_query(tables: Tables, contract: Contract, period: Period) -> ibis.Table:
    """:func:`sla_report`'s query: the MQL handoffs of ``period``
    (:func:`~baton.analytics.sla.mql_handoffs`) up to the moment given as
    :data:`~baton.analytics.timing.AS_OF` when it runs. Built once per tables, contract and
    period, so its SQL is compiled once (building it took about as long as running it)."""
    clock = BusinessClock(contract.business_hours)
    return _HANDOFFS.get(
        period.bounds(),
        lambda: mql_handoffs(tables, contract, clock, period, AS_OF),
        tables,
        contract,
    )


_HANDOFFS = Built(32)


def goals_report(tables: Tables, contract: Contract, *, as_of: dt.datetime) -> pd.DataFrame:
    """Progress to each of the contract's goals at ``as_of``; see :func:`goal_progress`."""
    return goal_progress(tables, contract, as_of)


def revenue_plan(
    tables: Tables,
    contract: Contract,
    revenue: float,
    *,
    as_of: dt.datetime,
    period: Period | None = None,
) -> Plan:
    """The reverse funnel for ``revenue`` in ``period`` (default: the current quarter)."""
    period = period or period_or_current(None, contract, as_of)
    return reverse_funnel(tables, contract, revenue, period, as_of)
