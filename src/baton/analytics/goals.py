"""Progress to the contract's shared goals.

A goal names a metric, a period and a target (``[[goals]]`` in the contract). Its actual is the
metric over the period up to ``as_of``; its expected share is the share of the period's time
gone by then, and it is on track when the actual's share of the target is at least that. The
metrics count what both teams see on the funnel:

* ``leads``: lead records created in the period;
* ``mqls``, ``sqls``: leads that *reached* the MQL / SQL stage in the period, that is entered it
  or any later main-path stage for the first time then (as the funnel counts them);
* ``opportunities``, ``pipeline``: deals opened in the period, and the sum of their amounts;
* ``customers``, ``revenue``: deals won in the period (a deal whose stage is of kind won, won
  at its ``closed_at`` or else when the stage log first shows it in a won stage), and the sum of
  their amounts.

Amounts are summed as stored, in the contract's currency. Everything is computed in the
database; one small row comes back per period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import pandas as pd
from ibis import _

from baton.analytics.memo import Built
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.analytics.timing import AS_OF, START, STOP, Moment, between, compared, naive_utc
from baton.contract.model import Contract, Goal, StageKind

#: The metrics a goal can name, in funnel order from the bottom.
METRICS = ("revenue", "customers", "opportunities", "pipeline", "sqls", "mqls", "leads")
#: The columns of :func:`goal_progress`.
PROGRESS_COLUMNS = [
    "key", "label", "metric", "period", "target", "actual", "share", "expected_share",
    "on_track", "state",
]  # fmt: skip


def reach_times(stage_changes: ibis.Table, keys: Sequence[str], as_of: Moment) -> ibis.Table:
    """When each lead first reached each main-path stage, up to ``as_of``.

    Parameters
    ----------
    stage_changes
        The stage log; only lead moves are read.
    keys
        Main-path stage keys in funnel order (``[s.key for s in contract.main_path()]``).
    as_of
        Aware datetime (or a naive UTC timestamp parameter); moves after it are ignored.

    Returns
    -------
    ibis.Table
        ``lead_id`` and one column ``reached_<key>`` per stage: the first moment the lead
        entered that stage or any later one on the path, null if it never did.
    """
    moves = stage_changes.filter(
        _.subject == "lead", _.to_stage.isin(list(keys)), _.at <= compared(as_of)
    )
    return moves.group_by(lead_id=moves.subject_id).aggregate(
        **{
            f"reached_{key}": moves.at.min(where=moves.to_stage.isin(list(keys[i:])))
            for i, key in enumerate(keys)
        }
    )


def deal_moments(tables: Tables, contract: Contract, as_of: Moment) -> ibis.Table:
    """Each deal's amount and when it was opened, won or lost, up to ``as_of``.

    Returns
    -------
    ibis.Table
        ``deal_id``, ``amount`` (float; null if unknown), ``opened_at`` (``created_at``, else
        its first stage-log entry), ``won_at`` (for a deal whose stage is of kind won: its
        ``closed_at``, else its first log entry into a won stage) and ``lost_at`` (the same
        for kind lost). Moments after ``as_of`` are null.
    """
    cut = compared(as_of)
    won = [s.key for s in contract.pipeline if s.kind == StageKind.WON]
    lost = [s.key for s in contract.pipeline if s.kind == StageKind.LOST]
    log = tables.stage_changes.filter(_.subject == "opportunity")
    first = log.group_by(logged_deal=log.subject_id).aggregate(
        logged_at=log.at.min(),
        logged_won=log.at.min(where=log.to_stage.isin(won)),
        logged_lost=log.at.min(where=log.to_stage.isin(lost)),
    )
    deals = tables.opportunities
    joined = deals.left_join(first, deals.id == first.logged_deal)
    closed = joined.closed_at.fill_null(joined.logged_won)
    rows = joined.select(
        deal_id=joined.id,
        amount=joined.amount.cast("float64"),
        opened_at=joined.created_at.fill_null(joined.logged_at),
        won_at=joined.stage.isin(won).ifelse(closed, ibis.null("timestamp")),
        lost_at=joined.stage.isin(lost).ifelse(
            joined.closed_at.fill_null(joined.logged_lost), ibis.null("timestamp")
        ),
    )
    return rows.mutate(
        opened_at=_before(rows.opened_at, cut),
        won_at=_before(rows.won_at, cut),
        lost_at=_before(rows.lost_at, cut),
    )


def _before(at: ibis.TimestampValue, cut: Moment) -> ibis.TimestampValue:
    return (at <= cut).ifelse(at, ibis.null("timestamp"))


def deal_totals(
    tables: Tables, contract: Contract, start: Moment, stop: Moment, as_of: Moment
) -> ibis.Table:
    """One row of deal counts and amounts for ``[start, stop)`` (naive UTC, or timestamp
    parameters), up to ``as_of``.

    Returns
    -------
    ibis.Table
        ``opportunities`` (deals opened) and ``pipeline`` (their amounts), ``customers`` (deals
        won), ``revenue`` (their amounts) and ``priced`` (those with an amount), ``lost``.
    """
    deals = deal_moments(tables, contract, as_of)
    opened, won, lost = (between(deals[c], start, stop) for c in ("opened_at", "won_at", "lost_at"))
    return deals.aggregate(
        opportunities=deals.deal_id.count(where=opened),
        pipeline=deals.amount.sum(where=opened),
        customers=deals.deal_id.count(where=won),
        revenue=deals.amount.sum(where=won),
        priced=deals.amount.count(where=won),
        lost=deals.deal_id.count(where=lost),
    )


def window_actuals(
    tables: Tables, contract: Contract, period: Period, as_of: dt.datetime
) -> dict[str, float]:
    """Every goal metric (:data:`METRICS`) over ``period`` up to ``as_of``.

    Returns
    -------
    dict
        Metric name to its value: counts for leads, mqls, sqls, opportunities, customers;
        sums of amounts for pipeline and revenue (0 when nothing counts).
    """
    start, end = period.bounds()
    queries = _WINDOWS.get("window", lambda: _window_queries(tables, contract), tables, contract)
    cut = naive_utc(as_of)
    values = one_row(*queries, params={START: start, AS_OF: cut, STOP: min(end, cut)})
    return {metric: values[metric] for metric in METRICS}


#: :func:`window_actuals`'s queries, built once per tables and contract (they take the
#: window and the moment as parameters): building them took longer than running them.
_WINDOWS = Built(32)


def _window_queries(tables: Tables, contract: Contract) -> list[ibis.Table]:
    keys = [s.key for s in contract.main_path()]
    reach = reach_times(tables.stage_changes, keys, AS_OF)
    mql, sql = f"reached_{contract.mql_stage.key}", f"reached_{contract.sql_stage.key}"
    funnel = reach.aggregate(
        mqls=reach[mql].count(where=between(reach[mql], START, STOP)),
        sqls=reach[sql].count(where=between(reach[sql], START, STOP)),
    )
    leads = tables.leads.aggregate(
        leads=tables.leads.id.count(where=between(tables.leads.created_at, START, STOP))
    )
    return [funnel, leads, deal_totals(tables, contract, START, STOP, AS_OF)]


def one_row(
    *aggregates: ibis.Table, params: Mapping[ibis.Scalar, Any] | None = None
) -> dict[str, float]:
    """Run one-row aggregates (with the values of their ``params``) and merge their columns:
    plain ints and floats, a null sum as 0."""
    values: dict[str, float] = {}
    for expr in aggregates:
        # by column: a row of mixed columns would turn ints to floats
        frame = expr.to_pandas(params=params)
        values |= {name: _scalar(frame[name].iloc[0]) for name in frame.columns}
    return values


def _scalar(value: Any) -> float:
    if value is None or pd.isna(value):
        return 0
    return value.item() if hasattr(value, "item") else value  # type: ignore[no-any-return]


def elapsed_share(period: Period, as_of: dt.datetime) -> float:
    """The share of ``period``'s time gone by ``as_of``: 0 before it starts, 1 after it ends."""
    start, end = period.bounds()
    gone = (min(max(naive_utc(as_of), start), end) - start) / (end - start)
    return float(gone)


def goal_progress(
    tables: Tables, contract: Contract, as_of: dt.datetime, goals: Sequence[Goal] | None = None
) -> pd.DataFrame:
    """Where each shared goal stands at ``as_of``.

    Parameters
    ----------
    tables
        The store's tables.
    contract
        The contract whose goals are measured (and whose time zone sets the periods).
    as_of
        Aware datetime the progress is measured at.
    goals
        The goals to measure; by default all of the contract's.

    Returns
    -------
    pandas.DataFrame
        :data:`PROGRESS_COLUMNS`, one row per goal in the contract's order: ``actual`` so far,
        ``share`` = actual / target, ``expected_share`` (share of the period gone), ``on_track``
        (share >= expected share; for an ended period, whether the target was met) and
        ``state``: ``not started``, ``in progress`` or ``ended``.
    """
    zone = contract.business_hours.zone
    chosen = list(contract.goals if goals is None else goals)
    actuals: dict[str, dict[str, float]] = {}
    rows = []
    for goal in chosen:  # a handful of goals: one small query set per distinct period
        period = Period.parse(goal.period, zone)
        if goal.period not in actuals:
            actuals[goal.period] = window_actuals(tables, contract, period, as_of)
        actual = actuals[goal.period][goal.metric]
        expected = elapsed_share(period, as_of)
        share = actual / goal.target
        state = "not started" if expected == 0 else "ended" if expected == 1 else "in progress"
        rows.append(
            (goal.key, goal.label, goal.metric, goal.period, goal.target, actual, share,
             expected, share >= expected, state)
        )  # fmt: skip
    return pd.DataFrame(rows, columns=PROGRESS_COLUMNS)
