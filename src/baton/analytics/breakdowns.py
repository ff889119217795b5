"""What a lead is broken down by: channel, campaign, segment, team or owner.

Each breakdown gives every lead one label, so a lead counts in exactly one group:

- ``channel``: the lead's own channel (``leads.channel``).
- ``campaign``: the name of the campaign of the lead's first touchpoint (earliest
  ``occurred_at``, ties broken by the touchpoint's id).
- ``segment``: the employee-size band of the lead's account, from :data:`SEGMENTS`
  (the bands the demo's teams are organised by).
- ``team``: the name of the team of the lead's owner.
- ``owner``: the name of the lead's owner (``leads.owner_id``).

A lead without the thing (no channel, no touchpoint or a touchpoint without a campaign, no
account or an account without a head count, no owner, an owner without a team) is labelled
:data:`UNKNOWN`.
"""

from __future__ import annotations

import ibis

from baton.analytics.source import Tables
from baton.errors import InvalidInput

#: The label of a lead without the thing it is broken down by.
UNKNOWN = "unknown"
#: The breakdowns, each with what it reads.
BREAKDOWNS: dict[str, str] = {
    "channel": "the lead's channel",
    "campaign": "the campaign of the lead's first touchpoint",
    "segment": "the employee-size band of the lead's account",
    "team": "the team of the lead's owner",
    "owner": "the lead's owner",
}
#: Segments as (label, fewest employees): an account falls in the last band whose lower
#: bound its head count reaches.
SEGMENTS: tuple[tuple[str, int], ...] = (("smb", 0), ("mid-market", 200), ("enterprise", 2000))


def check_breakdown(by: str) -> str:
    """``by`` if it is one of :data:`BREAKDOWNS`, else :class:`InvalidInput` naming them."""
    if by not in BREAKDOWNS:
        raise InvalidInput(f'"{by}" is not a breakdown; use one of: {", ".join(BREAKDOWNS)}')
    return by


def lead_labels(tables: Tables, by: str) -> ibis.Table:
    """One row per lead: ``lead_id`` and its label under the breakdown ``by``.

    Parameters
    ----------
    tables
        The store's tables.
    by
        One of :data:`BREAKDOWNS`.

    Returns
    -------
    ibis.Table
        ``lead_id`` and a string column named ``by``, never null.
    """
    check_breakdown(by)
    leads = tables.leads.select(lead_id=tables.leads.id, channel=tables.leads.channel,
                                account_id=tables.leads.account_id, owner_id=tables.leads.owner_id)
    if by == "channel":
        label = leads.select("lead_id", label=leads.channel)
    elif by == "campaign":
        label = _first_touch_campaign(tables, leads)
    elif by == "segment":
        a = tables.accounts
        accounts = a.select(account=a.id, employees=a.employees)
        sized = leads.left_join(accounts, leads.account_id == accounts.account)
        label = sized.select("lead_id", label=_segment(sized.employees))
    else:
        u = tables.users
        users = u.select(user=u.id, owner=u.name, team=u.team_id)
        owned = leads.left_join(users, leads.owner_id == users.user)
        if by == "owner":
            label = owned.select("lead_id", label=owned.owner)
        else:
            teams = tables.teams.select(team_id=tables.teams.id, team_name=tables.teams.name)
            staffed = owned.left_join(teams, owned.team == teams.team_id)
            label = staffed.select("lead_id", label=staffed.team_name)
    return label.select("lead_id", **{by: label.label.fill_null(UNKNOWN)})


def _segment(employees: ibis.IntegerValue) -> ibis.StringValue:
    label: ibis.StringValue = ibis.null("string")
    for name, lowest in SEGMENTS:
        label = (employees >= lowest).ifelse(ibis.literal(name), label)
    return label


def _first_touch_campaign(tables: Tables, leads: ibis.Table) -> ibis.Table:
    touches = tables.touchpoints
    touches = touches.filter(touches.lead_id.notnull()).select(
        touched=touches.lead_id, campaign_id=touches.campaign_id,
        _n=ibis.row_number().over(
            group_by=touches.lead_id, order_by=[touches.occurred_at, touches.id]
        ),
    )
    first = touches.filter(touches._n == 0)
    campaigns = tables.campaigns.select(campaign=tables.campaigns.id, name=tables.campaigns.name)
    named = first.left_join(campaigns, first.campaign_id == campaigns.campaign)
    named = named.select("touched", "name")
    joined = leads.left_join(named, leads.lead_id == named.touched)
    return joined.select("lead_id", label=joined.name)
