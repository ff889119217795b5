"""Marketing KPIs: acquisition cost, and marketing-sourced and -influenced pipeline and revenue.

Which channels count as marketing is decided in one place, :mod:`baton.analytics.channels`.
"""

from __future__ import annotations

import ibis

from baton.analytics.channels import is_marketing
from baton.analytics.kpis.common import By, Scope, flag, ratio, result, stacked, within
from baton.analytics.kpis.conversion import reach_times
from baton.analytics.kpis.deals import deal_facts
from baton.analytics.source import Tables
from baton.contract.model import Contract

NO_CUSTOMERS = (
    "spend but no new customer in the period: the cost of a customer is undefined, "
    "neither zero nor infinite"
)
WEEK = "spend is recorded per month; ask for a month, quarter, half or year"


def new_customers(t: Tables, contract: Contract, scope: Scope) -> ibis.Table:
    """Customers won for the first time in the period, one row each, with their lead's channel.

    A customer is an account (a lead with no account is a customer of its own). It is new in
    the period when the first of its leads to reach the won stage reached it in the period;
    its channel is that lead's channel.
    """
    leads = reach_times(t, contract)
    won = leads.filter(leads.won_at.notnull())
    won = won.mutate(
        customer=won.account_id.cast("string").fill_null("lead " + won.lead_id.cast("string"))
    )
    ranked = won.mutate(
        nth=ibis.row_number().over(group_by=won.customer, order_by=[won.won_at, won.lead_id])
    )
    first = ranked.filter((ranked.nth == 0) & within(ranked.won_at, scope.start, scope.end))
    return first.select("customer", "lead_id", "channel", "owner_id", "won_at")


def cac(t: Tables, contract: Contract, scope: Scope) -> ibis.Table:
    """Spend in the period ÷ new customers, blended and (with ``by="channel"``) per channel.

    Spend counts by its month: the months whose first day lies in the period. Spend has no
    owner, so owner and team breakdowns give the blended row only.
    """
    by: By | None = "channel" if scope.by == "channel" else None
    spend = t.campaign_spend.filter(
        (t.campaign_spend.month >= scope.first) & (t.campaign_spend.month < scope.stop)
    )
    money = spend.select(
        channel=spend.channel.cast("string"),
        spend=spend.amount.cast("float64"),
        customers=ibis.literal(0, "int64"),
    )
    customers = new_customers(t, contract, scope)
    people = customers.select(
        channel=customers.channel.cast("string"),
        spend=ibis.literal(0.0, "float64"),
        customers=ibis.literal(1, "int64"),
    )
    rows = stacked(money.union(people), t, by)
    sums = rows.group_by("group").aggregate(spend=rows.spend.sum(), customers=rows.customers.sum())
    if not scope.whole_months:
        return result("cac", sums, ibis.null("float64"), note=ibis.literal(WEEK))
    return ratio("cac", sums, sums.spend, sums.customers, NO_CUSTOMERS)


def first_touch_channels(t: Tables, among: ibis.Column | None = None) -> ibis.Table:
    """Per lead, the channel of its first touch, or the lead's own channel when it has none.

    Returns ``source_lead_id`` and ``source_channel``; ties in time go to the touch stored
    first. With ``among`` (a column of lead ids), only those leads: ranking every touch of
    every lead is what a scoreboard spends its time on otherwise.
    """
    touches = t.touchpoints.filter(t.touchpoints.lead_id.notnull())
    # only the columns the ranking needs: each row is sorted with what it carries
    touches = touches.select("lead_id", "occurred_at", "id", "channel")
    leads = t.leads
    if among is not None:
        touches = touches.filter(touches.lead_id.isin(among))
        leads = leads.filter(leads.id.isin(among))
    ranked = touches.mutate(
        nth=ibis.row_number().over(
            group_by=touches.lead_id, order_by=[touches.occurred_at, touches.id]
        )
    )
    first = ranked.filter(ranked.nth == 0).select(touched_id=ranked.lead_id, first=ranked.channel)
    joined = leads.left_join(first, leads.id == first.touched_id)
    return joined.select(
        source_lead_id=leads.id, source_channel=joined.first.fill_null(leads.channel)
    )


def marketing_touch_times(
    t: Tables, key: str, not_marketing: frozenset[str] | None, among: ibis.Column | None = None
) -> ibis.Table:
    """The first marketing touch per value of ``key`` (``lead_id`` or ``account_id``).

    With ``among``, only for those values of ``key``.
    """
    touches = t.touchpoints.filter(
        t.touchpoints[key].notnull() & is_marketing(t.touchpoints.channel, not_marketing)
    )
    if among is not None:
        touches = touches.filter(touches[key].isin(among))
    return touches.group_by(touches[key].name(f"touched_{key}")).aggregate(
        **{f"first_{key}": touches.occurred_at.min()}
    )


def marketing_pipeline(
    t: Tables, contract: Contract, scope: Scope, not_marketing: frozenset[str] | None = None
) -> list[ibis.Table]:
    """Marketing-sourced and -influenced pipeline (deals created) and revenue (deals won).

    A deal is *sourced* when its lead's first touch channel (or, with no touch, the lead's
    channel) is a marketing channel; *influenced* when its lead or its account had a
    marketing touch before the deal was created. Pipeline sums the amounts of deals created
    in the period; revenue the amounts of deals won in the period.

    Parameters
    ----------
    t, contract, scope
        The tables, contract and period with its breakdown (as for deal KPIs).
    not_marketing
        Channels that are not marketing's; :data:`baton.analytics.channels.NOT_MARKETING`
        by default.

    Returns
    -------
    list of ibis.Table
        Four tables of result rows: value and numerator are the marketing amount, the
        denominator the amount of every deal of the period, whatever its source.
    """
    deals = deal_facts(t, contract, scope)
    # touches matter only for the leads and accounts that have deals
    o = t.opportunities
    sources = first_touch_channels(t, among=o.lead_id)
    by_lead = marketing_touch_times(t, "lead_id", not_marketing, among=o.lead_id)
    by_account = marketing_touch_times(t, "account_id", not_marketing, among=o.account_id)
    joined = deals
    for right, left_key, right_key in (
        (sources, "lead_id", "source_lead_id"),
        (by_lead, "lead_id", "touched_lead_id"),
        (by_account, "account_id", "touched_account_id"),
    ):
        # one join at a time: the three sides all read touchpoints, which one chain confuses
        step = joined.left_join(right, joined[left_key] == right[right_key])
        joined = step.select(*joined.columns, *(c for c in right.columns if c != right_key))
    sourced = is_marketing(joined.source_channel, not_marketing)
    influenced = (joined.first_lead_id < joined.created_at).fill_null(False) | (
        joined.first_account_id < joined.created_at
    ).fill_null(False)
    amount = joined.amount.fill_null(0.0)
    base = joined.select(
        channel=joined.channel,
        owner_id=joined.owner_id,
        pipeline=amount * joined.created,
        revenue=amount * joined.won,
        sourced=flag(sourced),
        influenced=flag(influenced),
        counts=joined.created + joined.won,
    )
    rows = stacked(base, t, scope.by)
    sums = rows.group_by("group").aggregate(
        pipeline=rows.pipeline.sum(),
        revenue=rows.revenue.sum(),
        counts=rows.counts.sum(),
        **{
            f"{kind}_{what}": (rows[what] * rows[kind]).sum()
            for kind in ("sourced", "influenced")
            for what in ("pipeline", "revenue")
        },
    )
    sums = sums.filter(sums.counts > 0)
    return [
        result(
            f"marketing_{kind}_{what}", sums, sums[f"{kind}_{what}"],
            numerator=sums[f"{kind}_{what}"], denominator=sums[what],
        )
        for kind in ("sourced", "influenced")
        for what in ("pipeline", "revenue")
    ]
