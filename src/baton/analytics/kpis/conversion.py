"""Lead conversion KPIs on a cohort basis: lead → customer, MQL → SQL, SQL → opportunity.

A lead *reached* a main-path stage when the stage log has it entering that stage or a later
main-path stage (the cumulative funnel of :mod:`baton.analytics.funnel`); the moment it
reached it is the first such entry. A cohort is the leads that reached the first stage of a
pair within the period; the numerator counts those of them that have reached the second stage
by now, whenever that happened.
"""

from __future__ import annotations

import ibis

from baton.analytics.kpis.common import Scope, flag, ratio, stacked, within
from baton.analytics.source import Tables
from baton.contract.model import Contract, Stage


def reach_times(t: Tables, contract: Contract) -> ibis.Table:
    """Per lead, when it first reached the MQL, SQL, opportunity and won stages.

    Returns
    -------
    ibis.Table
        Every lead (``lead_id``, ``account_id``, ``channel``, ``owner_id``, ``created_at``)
        with ``mql_at``, ``sql_at``, ``opportunity_at`` and ``won_at``, null where it has not
        reached the stage.
    """
    keys = [s.key for s in contract.main_path()]
    wanted: dict[str, Stage] = {
        "mql_at": contract.mql_stage,
        "sql_at": contract.sql_stage,
        "opportunity_at": contract.opportunity_stage,
        "won_at": contract.won_stage,
    }
    moves = t.stage_changes.filter(
        (t.stage_changes.subject == "lead") & t.stage_changes.to_stage.isin(keys)
    )
    firsts = moves.group_by(reached_id=moves.subject_id).aggregate(
        **{
            name: moves.at.min(where=moves.to_stage.isin(keys[keys.index(stage.key) :]))
            for name, stage in wanted.items()
        }
    )
    leads = t.leads
    joined = leads.left_join(firsts, leads.id == firsts.reached_id)
    return joined.select(
        lead_id=leads.id,
        account_id=leads.account_id,
        channel=leads.channel,
        owner_id=leads.owner_id,
        created_at=leads.created_at,
        **{name: joined[name] for name in wanted},
    )


#: (kpi, the moment a lead joins the cohort, the moment it converted, note for an empty cohort)
PAIRS = (
    ("lead_conversion", "created_at", "won_at", "no leads were created in the period"),
    ("mql_to_sql", "mql_at", "sql_at", "no lead reached the MQL stage in the period"),
    ("sql_to_opportunity", "sql_at", "opportunity_at",
     "no lead reached the SQL stage in the period"),
)


def conversion_kpis(t: Tables, contract: Contract, scope: Scope) -> list[ibis.Table]:
    """Lead → customer, MQL → SQL and SQL → opportunity rates, per group and overall.

    Parameters
    ----------
    t
        The store's tables.
    contract
        Gives the MQL, SQL, opportunity and won stages and the main path's order.
    scope
        The period and breakdown: ``channel`` is the lead's channel, ``owner`` its owner,
        ``team`` its owner's team.

    Returns
    -------
    list of ibis.Table
        One table of result rows (:data:`~baton.analytics.kpis.common.COLUMNS`) per KPI.
    """
    leads = reach_times(t, contract)
    flags = {}
    for kpi, joined, converted, _ in PAIRS:
        entered = within(leads[joined], scope.start, scope.end)
        flags[f"{kpi}_n"] = flag(entered)
        flags[f"{kpi}_won"] = flag(entered & leads[converted].notnull())
    base = leads.select("channel", "owner_id", **flags)
    rows = stacked(base, t, scope.by)
    sums = rows.group_by("group").aggregate(**{name: rows[name].sum() for name in flags})
    sums = sums.filter(sums.lead_conversion_n + sums.mql_to_sql_n + sums.sql_to_opportunity_n > 0)
    return [
        ratio(kpi, sums, sums[f"{kpi}_won"], sums[f"{kpi}_n"], empty)
        for kpi, _, _, empty in PAIRS
    ]
