"""The week's wins: each deal won, the marketing touches that led to it and the rep who closed it.

Marketing and sales are credited together on one row per deal. The rep is the deal's owner; the
touches are the deal's journey at account level (every touch of every contact of the account,
since the previous deal of the account closed, within the contract's attribution lookback),
built by :func:`~baton.analytics.attribution.store_journeys.build_journeys` exactly as
``baton attribution --outcome won --level account`` builds it. Each touch carries its W-shaped
share (:func:`~baton.analytics.attribution.rules.position_weights` with the contract's
``attribution.w_shaped`` weights: 30% first touch, 30% the touch that made the lead, 30% the
one that made the opportunity, 10% the rest), so the shares of the week's wins add up, channel
by channel, to the W-shaped column of the report's attribution summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import pandas as pd

from baton.analytics.attribution.journeys import Journeys
from baton.analytics.attribution.rules import converting_touches, position_weights
from baton.analytics.attribution.store_journeys import NO_TOUCH, build_journeys
from baton.analytics.memo import Built
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.analytics.timing import START, STOP
from baton.contract.model import Contract, StageKind

#: The attribution model whose per-touch shares the wins show.
WINS_MODEL = "w-shaped"
#: The rep shown for a deal without an owner.
NO_OWNER = "(no owner)"


@dataclass(frozen=True)
class WinTouch:
    """One marketing touch of a won deal and the part of the deal it is credited with."""

    touch_id: int | None
    at: dt.datetime | None
    channel: str
    campaign: str | None
    touch_type: str | None
    person: str | None
    roles: tuple[str, ...]
    share: float
    credit: float


@dataclass(frozen=True)
class Win:
    """A deal won in the week, credited to its rep and to its marketing touches together.

    ``shared_with`` counts the other deals of the same account closed at the same moment: they
    share one journey, so they show the same touches and shares.
    """

    deal_id: int
    name: str
    account: str | None
    amount: float | None
    currency: str
    opened_at: dt.datetime | None
    closed_at: dt.datetime
    rep: str
    team: str | None
    touches: tuple[WinTouch, ...]
    shared_with: int = 0

    @property
    def marketing_credit(self) -> float:
        """The part of the amount credited to touches (all of it, unless no touch was found)."""
        return sum(t.credit for t in self.touches if t.touch_id is not None)

    @property
    def channels(self) -> list[str]:
        """The channels of the touches, in order of first appearance."""
        return list(dict.fromkeys(t.channel for t in self.touches if t.touch_id is not None))


def week_wins(tables: Tables, contract: Contract, week: Period) -> list[Win]:
    """Every deal won in ``week`` with its touches and rep, largest amount first.

    Parameters
    ----------
    tables
        The store's tables.
    contract
        Gives the won stages, the lookback and the W-shaped weights.
    week
        The week; a deal is won in it when its stage is of kind won and ``closed_at`` falls in
        it (as the attribution journeys count it).
    """
    deals = _won_deals(tables, contract, week)
    if deals.empty:
        return []
    touches = _journey_touches(tables, contract, week)
    details = _touch_details(touches)
    by_journey = {key: rows for key, rows in touches.groupby("key", sort=False)}
    same_moment = deals.groupby("key")["deal_id"].transform("count") - 1
    wins = []
    for deal, shared in zip(deals.itertuples(index=False), same_moment, strict=True):
        rows = by_journey.get(deal.key)
        amount = _number(deal.amount)
        found = () if rows is None else tuple(_touch(r, details, amount) for r in rows.itertuples())
        wins.append(
            Win(
                deal_id=int(deal.deal_id), name=deal.name or f"deal {deal.deal_id}",
                account=deal.account, amount=amount, currency=deal.currency or
                contract.organization.currency, opened_at=_moment(deal.created_at),
                closed_at=_moment(deal.closed_at) or week.bounds()[0].replace(tzinfo=dt.UTC),
                rep=deal.rep or NO_OWNER, team=deal.team, touches=found, shared_with=int(shared),
            )
        )  # fmt: skip
    return sorted(wins, key=lambda w: (-(w.amount or 0.0), w.closed_at, w.deal_id))


def _won_deals(tables: Tables, contract: Contract, week: Period) -> pd.DataFrame:
    """The week's won deals with owner, team and account names, and the subject of their journey.

    The subject follows the journeys' rule: the deal's account; else its lead's (or its
    contact's first lead's) account; else that lead on its own.
    """
    won = [s.key for s in contract.pipeline if s.kind == StageKind.WON]
    start, end = week.bounds()
    query = _BUILT.get(("won deals", tuple(won)), lambda: _won_deals_query(tables, won), tables)
    frame = tables.backend.execute(query, params={START: start, STOP: end})
    frame["closed_at"] = pd.to_datetime(frame["closed_at"], utc=True)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["key"] = _keys(frame["subject"], frame["closed_at"])
    return frame.astype(object).where(frame.notna(), None)


#: The wins' queries, built once: a week's bounds are parameters (:data:`START`, :data:`STOP`),
#: so every week runs the same queries, compiled once by a connection that keeps their SQL.
_BUILT = Built(size=8)


def _won_deals_query(tables: Tables, won: list[str]) -> ibis.Table:
    o = tables.opportunities
    o = o.filter(o.stage.isin(won), o.closed_at >= START, o.closed_at < STOP)
    users = tables.users.select(u_id="id", rep="name", u_team="team_id")
    teams = tables.teams.select(t_id="id", team="name")
    accounts = tables.accounts.select(a_id="id", a_name="name")
    leads = tables.leads
    first_lead = leads.filter(leads.contact_id.notnull())
    first_lead = first_lead.group_by(c_contact=first_lead.contact_id).aggregate(
        c_lead=first_lead.id.min()
    )
    lead = leads.select(l_id="id", l_account="account_id")
    joined = (
        o.left_join(users, o.owner_id == users.u_id)
        .left_join(teams, users.u_team == teams.t_id)
        .left_join(first_lead, o.contact_id == first_lead.c_contact)
        .left_join(lead, o.lead_id.coalesce(first_lead.c_lead) == lead.l_id)
    )
    account_id = joined.account_id.coalesce(joined.l_account)
    joined = joined.mutate(account_key=account_id)
    joined = joined.left_join(accounts, joined.account_key == accounts.a_id)
    subject = ibis.ifelse(
        joined.account_key.notnull(),
        "account " + joined.account_key.cast("string"),
        "lead " + joined.l_id.cast("string"),
    )
    return joined.select(
        deal_id=joined.id,
        name=joined.name,
        amount=joined.amount.cast("float64"),
        currency=joined.currency,
        created_at=joined.created_at,
        closed_at=joined.closed_at,
        rep=joined.rep,
        team=joined.team,
        account=joined.a_name,
        subject=subject,
    )


def _journey_touches(tables: Tables, contract: Contract, week: Period) -> pd.DataFrame:
    """The touches of the week's converting journeys with their W-shaped weight."""
    settings = contract.attribution
    journeys = build_journeys(
        tables, contract, "won", "account", by="channel",
        lookback_days=settings.lookback_days, period=week,
    )  # fmt: skip
    key = ("journey touches", journeys.touches.op(), settings.w_shaped.model_dump_json())
    query = _BUILT.get(
        key, lambda: _journey_touches_query(tables, journeys, settings.w_shaped), tables
    )
    frame = tables.backend.execute(query, params=journeys.params)
    frame["converted_at"] = pd.to_datetime(frame["converted_at"], utc=True)
    frame["touch_at"] = pd.to_datetime(frame["touch_at"], utc=True)
    frame["key"] = _keys(frame["subject"], frame["converted_at"])
    return frame.sort_values(["key", "step"], ignore_index=True)


def _journey_touches_query(tables: Tables, journeys: Journeys, weights: Any) -> ibis.Table:
    """The touches of the converting journeys with their weight, and each touch's campaign,
    kind and person (from its contact, else its lead)."""
    weighted = position_weights(converting_touches(journeys), weights)
    j = journeys.journeys
    ends = j.select(e_id=j.journey_id, subject=j.subject, converted_at=j.converted_at)
    tp = tables.touchpoints.select(
        t_id="id", t_campaign="campaign_id", touch_type="touch_type", t_lead="lead_id",
        t_contact="contact_id",
    )  # fmt: skip
    campaigns = tables.campaigns.select(c_id="id", campaign="name")
    leads = tables.leads.select(
        l_id="id", l_email="email", l_first="first_name", l_last="last_name"
    )
    contacts = tables.contacts.select(
        k_id="id", k_email="email", k_first="first_name", k_last="last_name"
    )
    rows = (
        weighted.join(ends, weighted.journey_id == ends.e_id)
        .left_join(tp, weighted.touch_id == tp.t_id)
        .left_join(campaigns, tp.t_campaign == campaigns.c_id)
        .left_join(leads, tp.t_lead == leads.l_id)
        .left_join(contacts, tp.t_contact == contacts.k_id)
    )
    return rows.select(
        "journey_id", "subject", "converted_at", "step", "n", "touch_id", "channel", "touch_at",
        "is_lead_touch", "is_opportunity_touch", "is_won_touch", "weight", "campaign",
        "touch_type", first=rows.k_first.coalesce(rows.l_first),
        last=rows.k_last.coalesce(rows.l_last), email=rows.k_email.coalesce(rows.l_email),
    )  # fmt: skip


def _keys(subjects: pd.Series, moments: pd.Series) -> pd.Series:
    """A journey's key: its subject and its end to the second (engines differ below that)."""
    seconds = moments.dt.floor("s").dt.strftime("%Y-%m-%dT%H:%M:%S")
    return subjects.astype(str) + "@" + seconds.astype(str)


def _touch_details(touches: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Campaign, kind of touch and the person of each touch id of ``touches``."""
    found = touches[touches["touch_id"].notna()]
    found = found.astype(object).where(found.notna(), None)
    details = {}
    for row in found.itertuples(index=False):
        name = " ".join(p for p in (row.first, row.last) if p)
        details[int(row.touch_id)] = {
            "campaign": row.campaign,
            "touch_type": row.touch_type,
            "person": name or row.email,
        }
    return details


def _touch(row: Any, details: dict[int, dict[str, Any]], amount: float | None) -> WinTouch:
    touch_id = None if pd.isna(row.touch_id) else int(row.touch_id)
    roles = tuple(
        role
        for role, held in (
            ("first touch", row.step == 1),
            ("lead created", bool(row.is_lead_touch)),
            ("opportunity created", bool(row.is_opportunity_touch)),
            ("deal won", bool(row.is_won_touch)),
        )
        if held
    )
    info = details.get(touch_id, {}) if touch_id is not None else {}
    weight = float(row.weight)
    return WinTouch(
        touch_id=touch_id,
        at=_moment(row.touch_at),
        channel=str(row.channel) if touch_id is not None else NO_TOUCH,
        campaign=info.get("campaign"),
        touch_type=info.get("touch_type"),
        person=info.get("person"),
        roles=roles,
        share=weight,
        credit=weight * (amount or 0.0),
    )


def _moment(value: Any) -> dt.datetime | None:
    if value is None or pd.isna(value):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    moment: dt.datetime = stamp.to_pydatetime()
    return moment


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
