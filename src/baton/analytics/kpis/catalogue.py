"""The shared KPIs' names, units and definitions: the one text behind the docs and ``--explain``.

``docs/metrics.md`` holds :func:`markdown`'s output under ``# Shared KPIs``, and a test fails
when the two differ: change a definition here, then paste the new section there (the failing
test prints it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from baton.analytics import channels
from baton.analytics.kpis.retention import TERM_MONTHS

Unit = Literal["share", "money", "days", "money per day"]
Section = Literal["Funnel", "Deals", "Marketing", "Retention"]


@dataclass(frozen=True)
class Kpi:
    """One KPI: its key in results, its names, the section it is shown in, unit and definition."""

    key: str
    name: str
    short: str
    section: Section
    unit: Unit
    definition: str


def format_value(value: Any, unit: str) -> str:
    """A KPI's value as people read it, the same in the CLI's tables and the dashboard:
    shares as percentages, days with one decimal, money and counts whole; ``-`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    number = float(value)
    if unit == "share":
        return f"{number:.1%}"
    if unit == "days":
        return f"{number:,.1f} d"
    if unit == "money per day":
        return f"{number:,.0f}/day"
    return f"{number:,.0f}"


_COHORT = (
    "The cohort is the leads that reached {first} in the period; the rate is the share of "
    "them that have reached {second} by now, whenever that happened (a cohort basis, so a "
    "recent period's rate still grows as its leads move on). A lead reached a stage when the "
    "stage log has it entering that stage or a later main-path stage, at the first such entry; "
    "stages are found by their kind in the contract, never by label. "
)
_DEALS = (
    "Deals count by the kind of their current pipeline stage (won or lost) and the period "
    "their `closed_at` falls in. "
)
_BY_LEAD = "By channel, owner and team of the lead."
_BY_DEAL = (
    "By channel is the channel of the deal's lead (`unknown` without a lead); by owner the "
    "deal's owner; by team the owner's team."
)

KPIS: tuple[Kpi, ...] = (
    Kpi(
        "lead_conversion", "Lead conversion rate", "Lead→customer", "Funnel", "share",
        "Lead to customer. The cohort is the leads created in the period (every lead record, "
        "subscribers included); the rate is the share of them that have reached the won "
        "(customer) stage by now, whenever that happened (a cohort basis, so a recent "
        "period's rate still grows as its leads move on). Numerator: those leads now "
        "customers; denominator: leads created in the period. " + _BY_LEAD,
    ),
    Kpi(
        "mql_to_sql", "MQL to SQL ratio", "MQL→SQL", "Funnel", "share",
        _COHORT.format(first="the MQL stage", second="the SQL stage")
        + "Leads recycled or disqualified count in the denominator only. " + _BY_LEAD,
    ),
    Kpi(
        "sql_to_opportunity", "SQL to opportunity ratio", "SQL→opportunity", "Funnel", "share",
        _COHORT.format(first="the SQL stage", second="the opportunity stage") + _BY_LEAD,
    ),
    Kpi(
        "win_rate", "Win rate", "Win rate", "Deals", "share",
        _DEALS + "Win rate = deals won ÷ (deals won + deals lost), both closed in the period; "
        "open deals do not count. Null when no deal closed. " + _BY_DEAL,
    ),
    Kpi(
        "average_deal_size", "Average deal size", "Deal size", "Deals", "money",
        _DEALS + "The mean amount of the deals won in the period (numerator: their total; "
        "denominator: how many have an amount; deals without one are left out). Amounts are "
        "not converted between currencies. Null when no deal was won. " + _BY_DEAL,
    ),
    Kpi(
        "sales_cycle_days", "Sales cycle length (mean)", "Cycle (mean)", "Deals", "days",
        _DEALS + "The mean number of days, with fractions, from a won deal's `created_at` to "
        "its `closed_at`, over the deals won in the period that have both. " + _BY_DEAL,
    ),
    Kpi(
        "sales_cycle_median_days", "Sales cycle length (median)", "Cycle (median)", "Deals",
        "days",
        _DEALS + "The median of the same days as the mean sales cycle (the mean of the middle "
        "two when their number is even); the denominator is how many deals it rests on. "
        + _BY_DEAL,
    ),
    Kpi(
        "pipeline_velocity", "Pipeline velocity", "Velocity", "Deals", "money per day",
        "Open opportunities × win rate × average deal size ÷ mean sales cycle in days: the "  # noqa: RUF001
        "revenue the pipeline brings per day. Open opportunities are the deals open at the "
        "period's end: created before it and either in an open pipeline stage now or closed "
        "after the end (a deal with no creation time counts when it is open now). Win rate, "
        "deal size and cycle are the period's, per group. Null when the group won no deal in "
        "the period or its cycle is zero. " + _BY_DEAL,
    ),
    Kpi(
        "cac", "Customer acquisition cost (CAC)", "CAC", "Marketing", "money",
        "Marketing spend in the period ÷ new customers in the period (both in the same period, "
        "an activity basis, so spend and the customers it won months later do not line up "
        "exactly). Spend comes from `baton import spend` (per month, channel and optionally "
        "campaign) and counts for the months that start in the period; a week has no CAC. A "
        "new customer is an account (or a lead with no account) whose first lead to reach the "
        "won stage reached it in the period. Blended CAC divides all spend by all new "
        "customers; CAC per channel divides the channel's spend by the new customers whose "
        "first converted lead came through that channel. A channel with spend and no new "
        "customer has a null CAC with that reason (undefined, neither zero nor infinite); a "
        "channel with customers and no spend has a CAC of 0. Spend has no owner, so by owner "
        "or team only the blended row is given.",
    ),
    Kpi(
        "marketing_sourced_pipeline", "Marketing-sourced pipeline", "Sourced pipeline",
        "Marketing", "money",
        "The total amount of the deals created in the period whose lead's first touch (its "
        "earliest touchpoint, or the lead's own channel when it has none) is in a marketing "
        f"channel. {channels.describe()} The denominator is the amount of every deal created "
        "in the period, so numerator ÷ denominator is marketing's share. Deals with no lead are "
        "never marketing-sourced. " + _BY_DEAL,
    ),
    Kpi(
        "marketing_sourced_revenue", "Marketing-sourced revenue", "Sourced revenue",
        "Marketing", "money",
        "The same rule as marketing-sourced pipeline, over the deals won in the period: their "
        "total amount, out of the amount of every deal won in the period. " + _BY_DEAL,
    ),
    Kpi(
        "marketing_influenced_pipeline", "Marketing-influenced pipeline", "Influenced pipeline",
        "Marketing", "money",
        "The total amount of the deals created in the period that had any touchpoint in a "
        "marketing channel, on the deal's lead or on its account, before the deal's "
        "`created_at`. It includes the marketing-sourced deals. The denominator is the amount "
        "of every deal created in the period. " + _BY_DEAL,
    ),
    Kpi(
        "marketing_influenced_revenue", "Marketing-influenced revenue", "Influenced revenue",
        "Marketing", "money",
        "The same rule as marketing-influenced pipeline, over the deals won in the period "
        "(the touch must still come before the deal's creation). " + _BY_DEAL,
    ),
    Kpi(
        "logo_retention", "Logo retention", "Logo retention", "Retention", "share",
        "Baton reads retention from won deals, assuming a won deal keeps its account a "
        f"customer for {TERM_MONTHS} months after it closes, with its amount as the yearly "
        "revenue. Customers at the period's start are the accounts that won a deal in the "
        f"{TERM_MONTHS} months before it; logo retention is the share of them that are still "
        f"customers at the period's end (a won deal in the {TERM_MONTHS} months before the "
        "end). A renewal is a won deal of an account that had already won a deal that closed "
        "earlier; a source's own renewal marker (such as Salesforce's opportunity type, kept "
        "in properties) is not read. When no renewal closed before the period's end the value "
        "is null with that reason, because leaving cannot be told from a source that does not "
        "record renewals. Overall only.",
    ),
    Kpi(
        "net_revenue_retention", "Net revenue retention", "NRR", "Retention", "share",
        "For the customers at the period's start (as for logo retention): their won amounts "
        f"in the {TERM_MONTHS} months before the period's end ÷ their won amounts in the "
        f"{TERM_MONTHS} months before its start. Expansion counts, customers that left count "
        "as zero, new customers do not count. Null without renewals, as for logo retention, "
        "or when there were no customers at the start. Overall only.",
    ),
)

INTRO = (
    "Every KPI is computed over a reporting period (`2026`, `2026-H1`, `2026-Q3`, `2026-07`, "
    "`2026-W47`, in the contract's time zone) by Ibis expressions that run inside the store "
    "(SQLite, PostgreSQL) or DuckDB, and can be broken down by channel, owner or team "
    "(`baton scoreboard --by channel`). Each row has a value, the numerator and denominator "
    "it comes from, and a note saying why a value is null; the overall row's group is "
    "`(all)`, and missing labels are `unknown`."
)


def markdown() -> str:
    """The ``# Shared KPIs`` section of ``docs/metrics.md``."""
    parts = ["# Shared KPIs", INTRO]
    for kpi in KPIS:
        parts += [f"## {kpi.name}", kpi.definition]
    return "\n\n".join(parts) + "\n"
