"""Retention: logo retention and net revenue retention, measured where renewals exist.

Baton has no subscription records, so retention is read from won deals under one stated
assumption, :data:`TERM_MONTHS`: a won deal keeps its account a customer, with the deal's
amount as its yearly revenue, for twelve months after it closed. An account is a customer at
a moment when it won a deal in the twelve months before it.

A *renewal* is a won deal of an account that had already won a deal that closed earlier.
Without any renewal before the period's end the store cannot tell a customer that left from
one whose source never recorded renewals, so both KPIs are then null with that reason.
"""

from __future__ import annotations

import ibis

from baton.analytics.kpis.common import OVERALL, Scope, flag, result, within
from baton.analytics.kpis.deals import pipeline_keys
from baton.analytics.source import Tables
from baton.contract.model import Contract, StageKind

TERM_MONTHS = 12
NO_RENEWALS = (
    "no renewals recorded (no account won a deal after an earlier won deal), so leaving "
    "cannot be told from not recording renewals"
)
NO_BASE = "no customers at the period's start (no account won a deal in the twelve months before)"


def retention(t: Tables, contract: Contract, scope: Scope) -> list[ibis.Table]:
    """Logo and net revenue retention from the period's start to its end, overall only.

    The base is the accounts that were customers at the start. Logo retention is the share
    of them still customers at the end; net revenue retention their revenue at the end (won
    amounts of the twelve months before the end) over their revenue at the start (the twelve
    months before the start), so expansion counts and lost accounts count as zero.

    Returns
    -------
    list of ibis.Table
        Two one-row tables of result rows, group :data:`OVERALL`.
    """
    o = t.opportunities
    won = o.filter(
        o.stage.isin(pipeline_keys(contract, StageKind.WON))
        & o.account_id.notnull()
        & o.closed_at.notnull()
    ).select(account_id=o.account_id, closed_at=o.closed_at, amount=o.amount.cast("float64"))
    won = won.mutate(earliest=won.closed_at.min().over(group_by=won.account_id))
    later = won.filter((won.closed_at > won.earliest) & (won.closed_at < scope.end))
    renewals = later.aggregate(renewals=later.count())
    # a year before the start and a year before the end, in calendar months
    start_from, end_from = scope.months_before(TERM_MONTHS)
    at_start = within(won.closed_at, start_from, scope.start)
    at_end = within(won.closed_at, end_from, scope.end)
    per_account = won.group_by("account_id").aggregate(
        before=flag(at_start).sum(),
        after=flag(at_end).sum(),
        revenue_before=won.amount.fill_null(0.0).sum(where=at_start),
        revenue_after=won.amount.fill_null(0.0).sum(where=at_end),
    )
    base = per_account.filter(per_account.before > 0)
    totals = (
        base.aggregate(
            accounts=base.count(),
            kept=flag(base.after > 0).sum(),
            revenue_before=base.revenue_before.sum(),
            revenue_after=base.revenue_after.fill_null(0.0).sum(),
        )
        .cross_join(renewals)
        .mutate(group=ibis.literal(OVERALL, "string"))
    )
    usable = (totals.renewals > 0) & (totals.accounts > 0)
    note = ibis.cases(
        (totals.renewals == 0, NO_RENEWALS), (totals.accounts == 0, NO_BASE), else_=None
    )
    return [
        result(
            kpi, totals,
            ibis.ifelse(usable, top.cast("float64") / bottom.cast("float64").nullif(0.0), None),
            numerator=top, denominator=bottom, note=note,
        )
        for kpi, top, bottom in (
            ("logo_retention", totals.kept, totals.accounts),
            ("net_revenue_retention", totals.revenue_after, totals.revenue_before),
        )
    ]
