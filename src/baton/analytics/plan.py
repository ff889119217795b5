"""The reverse funnel: what a revenue goal takes at today's conversion rates and deal size.

Walking the funnel backwards from a revenue goal:

* customers = ceil(revenue / average deal size);
* opportunities = ceil(customers / win rate);
* SQLs = ceil(opportunities / SQL → opportunity rate);
* MQLs = ceil(SQLs / MQL → SQL rate);
* leads = ceil(MQLs / lead → MQL rate).

Each step is rounded up to a whole number and the next step starts from that whole number.
The rates are measured over a lookback window, by default the four quarters (twelve months)
before the plan's period, cut at ``as_of``; :func:`current_rates` holds their definitions.
"""

from __future__ import annotations

import datetime as dt
import math
from calendar import monthrange
from dataclasses import dataclass

import pandas as pd

from baton.analytics.goals import deal_totals, one_row, reach_times, window_actuals
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.analytics.timing import between, naive_utc
from baton.contract.model import Contract
from baton.errors import InvalidInput

#: The columns of :attr:`Plan.steps`.
STEP_COLUMNS = ["step", "needed", "so_far", "rate_name", "rate", "basis"]


@dataclass(frozen=True)
class Rate:
    """One measured rate: ``value = numerator / denominator``, None without data."""

    name: str
    numerator: float
    denominator: float
    basis: str

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class Rates:
    """The rates the reverse funnel divides by, measured over one window."""

    deal_size: Rate
    win: Rate
    sql_to_opportunity: Rate
    mql_to_sql: Rate
    lead_to_mql: Rate

    def in_plan_order(self) -> list[Rate]:
        return [
            self.deal_size,
            self.win,
            self.sql_to_opportunity,
            self.mql_to_sql,
            self.lead_to_mql,
        ]


@dataclass(frozen=True)
class Plan:
    """A revenue goal turned into the volumes each funnel stage needs in ``period``."""

    revenue: float
    period: Period
    lookback: Period
    as_of: dt.datetime
    rates: Rates
    steps: pd.DataFrame


def lookback_before(period: Period, quarters: int = 4) -> Period:
    """The ``quarters`` quarters (3 months each) before ``period`` starts."""
    if quarters < 1:
        raise InvalidInput(f"the lookback must be at least one quarter, not {quarters}")
    index = period.first.year * 12 + period.first.month - 1 - 3 * quarters
    year, month = divmod(index, 12)
    first = period.first.replace(
        year=year, month=month + 1, day=min(period.first.day, monthrange(year, month + 1)[1])
    )
    return Period(f"{first}..{period.first}", first, period.first, period.zone)


def current_rates(tables: Tables, contract: Contract, window: Period, as_of: dt.datetime) -> Rates:
    """The funnel's conversion rates and average deal size over ``window``, up to ``as_of``.

    * average deal size: the mean amount of deals won in the window (deals without an amount
      left out);
    * win rate: deals won in the window / deals won or lost in the window;
    * SQL → opportunity, MQL → SQL: of the leads that reached the first stage in the window
      (entered it or a later main-path stage for the first time), the share that reached the
      second by ``as_of``;
    * lead → MQL: of the leads created in the window, the share that reached the MQL stage by
      ``as_of``.

    Deal counts come from opportunities, stage counts from leads' lifecycle (one opportunity per
    lead reaching the opportunity stage is assumed between the two).
    """
    start, end = window.bounds()
    stop = min(end, naive_utc(as_of))
    keys = [s.key for s in contract.main_path()]
    reach = reach_times(tables.stage_changes, keys, as_of)
    leads = tables.leads.left_join(reach, tables.leads.id == reach.lead_id)
    mql = leads[f"reached_{contract.mql_stage.key}"]
    sql = leads[f"reached_{contract.sql_stage.key}"]
    opp = leads[f"reached_{contract.opportunity_stage.key}"]
    created = between(leads.created_at, start, stop)
    mqls, sqls = between(mql, start, stop), between(sql, start, stop)
    cohorts = leads.aggregate(
        created=leads.id.count(where=created),
        created_mql=leads.id.count(where=created & mql.notnull()),
        mqls=leads.id.count(where=mqls),
        mqls_sql=leads.id.count(where=mqls & sql.notnull()),
        sqls=leads.id.count(where=sqls),
        sqls_opp=leads.id.count(where=sqls & opp.notnull()),
    )
    n = one_row(deal_totals(tables, contract, start, stop, as_of), cohorts)
    return Rates(
        deal_size=Rate(
            "average deal size", n["revenue"], n["priced"],
            f"{n['priced']:,.0f} won deals worth {n['revenue']:,.0f}",
        ),
        win=Rate("win rate", n["customers"], n["customers"] + n["lost"],
                 f"{n['customers']:,.0f} won of {n['customers'] + n['lost']:,.0f} closed"),
        sql_to_opportunity=Rate("SQL → opportunity", n["sqls_opp"], n["sqls"],
                                f"{n['sqls_opp']:,.0f} of {n['sqls']:,.0f} SQLs"),
        mql_to_sql=Rate("MQL → SQL", n["mqls_sql"], n["mqls"],
                        f"{n['mqls_sql']:,.0f} of {n['mqls']:,.0f} MQLs"),
        lead_to_mql=Rate("lead → MQL", n["created_mql"], n["created"],
                         f"{n['created_mql']:,.0f} of {n['created']:,.0f} leads"),
    )  # fmt: skip


def _needed(amount: float, rate: float) -> int:
    # round away float noise first, so 144 / 0.8 is 180 and not 181
    return math.ceil(round(amount / rate, 9))


def reverse_funnel(
    tables: Tables,
    contract: Contract,
    revenue: float,
    period: Period,
    as_of: dt.datetime,
    lookback: Period | None = None,
) -> Plan:
    """The customers, opportunities, SQLs, MQLs and leads ``revenue`` needs in ``period``.

    Parameters
    ----------
    tables
        The store's tables.
    contract
        Gives the stages and deal kinds.
    revenue
        The revenue goal, in the contract's currency; must be positive.
    period
        The period the goal is for; ``so_far`` counts what it already holds by ``as_of``.
    as_of
        Aware datetime: rates use what was known then.
    lookback
        The window the rates are measured over; by default :func:`lookback_before` ``period``.

    Returns
    -------
    Plan
        With ``steps``: :data:`STEP_COLUMNS`, one row each for revenue, customers,
        opportunities, sqls, mqls and leads; ``rate`` is the rate the row's number was divided
        by (the average deal size for customers).

    Raises
    ------
    InvalidInput
        When a rate is unknown (nothing to measure it on in the window) or zero; the message
        names each such rate, why, and what to do.
    """
    if not revenue > 0:
        raise InvalidInput(f"the revenue goal must be a positive amount, not {revenue:g}")
    window = lookback or lookback_before(period)
    rates = current_rates(tables, contract, window, as_of)
    span = f"{window.first} to {window.end - dt.timedelta(days=1)}"
    unknown = [f"{r.name} ({r.basis})" for r in rates.in_plan_order() if r.value is None]
    zero = [f"{r.name} ({r.basis})" for r in rates.in_plan_order() if r.value == 0]
    if unknown or zero:
        why = [f"no data from {span} to measure the {', '.join(unknown)}"] if unknown else []
        why += [f"the {', '.join(zero)} is 0 from {span}, so no volume reaches it"] if zero else []
        raise InvalidInput(
            f"cannot plan {period.label}: " + "; ".join(why) + "; import deals and stage history "
            "for those months, or plan a period with a year of history before it"
        )
    so_far = window_actuals(tables, contract, period, as_of)
    rows: list[tuple[str, float, float, str | None, float | None, str | None]] = [
        ("revenue", revenue, so_far["revenue"], None, None, None)
    ]
    needed = revenue
    for step, rate in zip(
        ("customers", "opportunities", "sqls", "mqls", "leads"), rates.in_plan_order(), strict=True
    ):
        needed = _needed(needed, rate.value or 1.0)
        rows.append((step, needed, so_far[step], rate.name, rate.value, rate.basis))
    steps = pd.DataFrame(rows, columns=STEP_COLUMNS)
    for i, column in ((1, "needed"), (2, "so_far")):  # counts stay whole numbers
        steps[column] = pd.Series([row[i] for row in rows], dtype=object)
    return Plan(revenue, period, window, as_of, rates, steps)
