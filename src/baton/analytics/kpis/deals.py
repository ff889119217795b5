"""Deal KPIs: win rate, average deal size, sales cycle length and pipeline velocity.

A deal's outcome is the *kind* of its current pipeline stage (open, won, lost), never its
label. Closed deals count in the period their ``closed_at`` falls in; the cycle runs from the
deal's ``created_at`` to its ``closed_at``. Amounts are the deals' own, in the contract's
currency (Baton does not convert money).
"""

from __future__ import annotations

import ibis

from baton.analytics.kpis.common import Scope, flag, median_days, ratio, result, stacked, within
from baton.analytics.source import Tables
from baton.contract.model import Contract, StageKind

SECONDS_PER_DAY = 86_400


def pipeline_keys(contract: Contract, kind: StageKind) -> list[str]:
    """The keys of the pipeline stages of ``kind``."""
    return [s.key for s in contract.pipeline if s.kind == kind]


def deal_facts(t: Tables, contract: Contract, scope: Scope) -> ibis.Table:
    """Per deal: its breakdown columns and what it counts for in the period.

    Returns
    -------
    ibis.Table
        ``deal_id``, ``lead_id``, ``account_id``, ``channel`` (its lead's), ``owner_id``,
        ``created_at``, ``amount`` (float), the 0/1 columns ``won`` and ``closed`` (won or lost
        with ``closed_at`` in the period), ``created`` (``created_at`` in the period) and
        ``open_at_end`` (see :func:`deal_kpis`), and ``days`` (created to closed, for won
        deals of the period with both times; else null).
    """
    o = t.opportunities
    won_keys = pipeline_keys(contract, StageKind.WON)
    lost_keys = pipeline_keys(contract, StageKind.LOST)
    open_keys = pipeline_keys(contract, StageKind.OPEN)
    closed_in = within(o.closed_at, scope.start, scope.end)
    won = o.stage.isin(won_keys) & closed_in
    existed = o.created_at.isnull() | (o.created_at < scope.end)
    open_at_end = existed & (
        o.stage.isin(open_keys)
        | (o.stage.isin(won_keys + lost_keys) & (o.closed_at >= scope.end)).fill_null(False)
    )
    seconds = o.closed_at.epoch_seconds() - o.created_at.epoch_seconds()
    leads = t.leads
    joined = o.left_join(leads, o.lead_id == leads.id)
    return joined.select(
        deal_id=o.id,
        lead_id=o.lead_id,
        account_id=o.account_id,
        channel=leads.channel,
        owner_id=o.owner_id,
        created_at=o.created_at,
        amount=o.amount.cast("float64"),
        won=flag(won),
        closed=flag(o.stage.isin(won_keys + lost_keys) & closed_in),
        created=flag(within(o.created_at, scope.start, scope.end)),
        open_at_end=flag(open_at_end),
        days=ibis.ifelse(won, seconds.cast("float64") / SECONDS_PER_DAY, ibis.null("float64")),
    )


def deal_kpis(t: Tables, contract: Contract, scope: Scope) -> list[ibis.Table]:
    """Win rate, average deal size, mean and median cycle, and pipeline velocity per group.

    Parameters
    ----------
    t
        The store's tables.
    contract
        Its pipeline stages' kinds say which deals are open, won or lost.
    scope
        The period and breakdown: ``channel`` is the channel of the deal's lead (``unknown``
        without one), ``owner`` the deal's owner, ``team`` the owner's team.

    Returns
    -------
    list of ibis.Table
        One table of result rows per KPI. Velocity counts deals open at the period's end
        (created before it, and open now or closed after it; a deal with no creation time
        counts when it is open now).
    """
    facts = stacked(deal_facts(t, contract, scope), t, scope.by)
    won_amount = facts.amount.notnull() & (facts.won == 1)
    sums = facts.group_by("group").aggregate(
        won=facts.won.sum(),
        closed=facts.closed.sum(),
        open=facts.open_at_end.sum(),
        amount=facts.amount.sum(where=won_amount),
        sized=won_amount.ifelse(1, 0).sum(),
        days=facts.days.sum(),
        timed=facts.days.count(),
    )
    sums = sums.filter(sums.closed + sums.open > 0)
    no_wins = "no deal was won in the period"
    win_rate = sums.won.cast("float64") / sums.closed.cast("float64").nullif(0.0)
    size = sums.amount / sums.sized.cast("float64").nullif(0.0)
    cycle = sums.days / sums.timed.cast("float64").nullif(0.0)
    velocity = sums.open.cast("float64") * win_rate * size / cycle.nullif(0.0)
    return [
        ratio("win_rate", sums, sums.won, sums.closed, "no deal was won or lost in the period"),
        ratio("average_deal_size", sums, sums.amount.fill_null(0.0), sums.sized, no_wins),
        ratio("sales_cycle_days", sums, sums.days.fill_null(0.0), sums.timed, no_wins),
        median_days("sales_cycle_median_days", facts, "days", sums.select("group"), no_wins),
        result(
            "pipeline_velocity", sums, velocity,
            note=ibis.ifelse(
                velocity.isnull(),
                ibis.literal(
                    "needs deals won in the period (for win rate, deal size and cycle length) "
                    "and a cycle longer than zero"
                ),
                ibis.null("string"),
            ),
        ),
    ]
