"""Turn the simulator's arrays into the typed records of an :class:`ImportBundle`.

This is the one place that loops in Python: each record is a dataclass. External ids are made
from row numbers, and rows are ordered by the seed alone, so the same seed gives the same
ids and a second run upserts onto the first.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from baton.demo.arrivals import Arrivals
from baton.demo.calendar import aware, aware_or_none
from baton.demo.journeys import Journeys
from baton.demo.marketing import Campaigns, Touches
from baton.demo.profiles import CHANNELS, COUNTRIES, INDUSTRIES, SEGMENTS, TEAMS
from baton.demo.sales import DEAL_WORK, KINDS, MEETING, OUTCOMES, Activities
from baton.demo.stages import Stages
from baton.demo.world import Accounts, Floats, Ints, People, SalesOrg
from baton.ingest.records import (
    AccountIn,
    ActivityIn,
    CampaignIn,
    ContactIn,
    LeadIn,
    OpportunityIn,
    SpendIn,
    StageStep,
    TeamIn,
    TouchIn,
    UserIn,
)

ORIGIN = "demo"
PLANS = ("Starter", "Growth", "Enterprise")  # what each segment buys


def money(value: float) -> Decimal:
    """An amount as the store keeps it: two decimals."""
    return Decimal(f"{value:.2f}")


def ids(prefix: str, rows: Ints, width: int) -> list[str]:
    return [f"{prefix}-{r:0{width}d}" for r in rows.tolist()]


def teams_and_users(org: SalesOrg) -> tuple[list[TeamIn], list[UserIn]]:
    """A team per segment with its manager, and the reps."""
    teams = [
        TeamIn(f"team-{key}", name, region=region, manager=manager, origin=ORIGIN)
        for (key, name, region, _, _), manager in zip(TEAMS, org.managers.tolist(), strict=True)
    ]
    managers = [
        UserIn(m, name, email=_work_email(name), role="manager", team=t.external_id, origin=ORIGIN)
        for m, name, t in zip(org.managers.tolist(), org.manager_names.tolist(), teams, strict=True)
    ]
    reps = [
        UserIn(
            r,
            name,
            email=_work_email(name),
            role="sales",
            team=teams[team].external_id,
            properties={"title": "Account Executive"},
            origin=ORIGIN,
        )
        for r, name, team in zip(
            org.rep_ids.tolist(), org.rep_names.tolist(), org.rep_team.tolist(), strict=True
        )
    ]
    return teams, managers + reps


def _work_email(name: str) -> str:
    return name.lower().replace(" ", ".").replace("ü", "u") + "@baton-demo.example"


def accounts(accts: Accounts, arrivals: Arrivals, org: SalesOrg) -> list[AccountIn]:
    """Accounts, created when the first of their people arrived."""
    first = np.full(len(accts), np.datetime64("NaT"), dtype="datetime64[s]")
    order = np.lexsort((arrivals.created, arrivals.account))
    starts = np.cumsum(accts.committee) - accts.committee
    first[:] = arrivals.created[order][starts]
    return [
        AccountIn(
            ext,
            name,
            domain=domain,
            industry=INDUSTRIES[ind][0],
            employees=emp,
            annual_revenue=money(rev),
            country=COUNTRIES[country][0],
            owner=org.rep_ids[owner],
            created_at=at,
            properties={"segment": SEGMENTS[seg][0]},
            origin=ORIGIN,
        )
        for ext, name, domain, ind, emp, rev, country, owner, at, seg in zip(
            ids("acct", np.arange(len(accts)), 5),
            accts.name.tolist(),
            accts.domain.tolist(),
            accts.industry.tolist(),
            accts.employees.tolist(),
            accts.revenue.tolist(),
            accts.country.tolist(),
            accts.owner.tolist(),
            aware(first),
            accts.segment.tolist(),
            strict=True,
        )
    ]


def campaigns(campaigns: Campaigns, spend: Floats, currency: str) -> list[CampaignIn]:
    """Campaigns with their flight dates, monthly spend and budget (the spend's sum)."""
    window = campaigns.window
    first_month = np.datetime64(window.first, "M")
    labels = [str(m) for m in _months(campaigns)]
    start = (campaigns.flight * 3 + first_month).astype("datetime64[D]")
    stop = (start.astype("datetime64[M]") + 3).astype("datetime64[D]")
    end = np.minimum(stop, np.datetime64(window.stop, "D")) - 1
    out = []
    rows = zip(
        campaigns.external_ids(),
        campaigns.channel.tolist(),
        campaigns.flight.tolist(),
        campaigns.theme.tolist(),
        start.astype(object).tolist(),
        end.astype(object).tolist(),
        spend.tolist(),
        strict=True,
    )
    for ext, channel, flight, theme, started, ended, spent in rows:
        ch = CHANNELS[channel]
        monthly = {label: value for label, value in zip(labels, spent, strict=True) if value}
        out.append(
            CampaignIn(
                ext,
                f"{ch.label}: {theme}, {started:%b %Y}",
                channel=ch.key,
                started_on=started,
                ended_on=ended,
                budget=money(sum(monthly.values())),
                currency=currency,
                properties={"theme": theme, "flight": flight + 1, "monthly_spend": monthly},
                origin=ORIGIN,
            )
        )
    return out


def spend(campaigns: Campaigns, spend: Floats, currency: str) -> list[SpendIn]:
    """A spend record per campaign and month it spent money in (id ``<campaign>:<YYYY-MM>``)."""
    months = _months(campaigns).astype("datetime64[D]").astype(object).tolist()
    channels = [CHANNELS[c].key for c in campaigns.channel.tolist()]
    campaign, month = np.nonzero(spend)
    return [
        SpendIn(
            f"{ext}:{months[m]:%Y-%m}", channel=channels[c], month=months[m],
            amount=money(spend[c, m]), campaign=ext, currency=currency, origin=ORIGIN,
        )
        for c, m, ext in zip(
            campaign.tolist(),
            month.tolist(),
            np.array(campaigns.external_ids(), dtype=object)[campaign].tolist(),
            strict=True,
        )
    ]


def _months(campaigns: Campaigns) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """The window's months, first to last."""
    return np.arange(campaigns.window.months) + np.datetime64(campaigns.window.first, "M")


def contacts_and_leads(
    stages: Stages,
    arrivals: Arrivals,
    accts: Accounts,
    people: People,
    moves: dict[str, Any],
    owner: list[str | None],
    score: Floats,
    org: SalesOrg,
) -> tuple[list[ContactIn], list[LeadIn]]:
    """A contact per person and a lead per contact, with the lead's history from ``moves``."""
    n = len(arrivals)
    account = arrivals.account
    rows = zip(
        ids("contact", np.arange(n), 6),
        ids("lead", np.arange(n), 6),
        ids("acct", account, 5),
        people.email.tolist(),
        people.first.tolist(),
        people.last.tolist(),
        people.title.tolist(),
        [COUNTRIES[c][0] for c in accts.country[account].tolist()],
        aware(arrivals.created),
        accts.name[account].tolist(),
        [CHANNELS[c].key for c in arrivals.channel.tolist()],
        owner,
        score.tolist(),
        _histories(stages, moves, n, stages.lifecycle, org),
        [SEGMENTS[s][0] for s in accts.segment[account].tolist()],
        strict=True,
    )
    contacts, leads = [], []
    for (
        contact,
        lead,
        acct,
        email,
        first,
        last,
        title,
        where,
        at,
        company,
        channel,
        rep,
        points,
        history,
        seg,
    ) in rows:
        contacts.append(
            ContactIn(
                contact,
                account=acct,
                email=email,
                first_name=first,
                last_name=last,
                title=title,
                country=where,
                created_at=at,
                origin=ORIGIN,
            )
        )
        leads.append(
            LeadIn(
                lead,
                created_at=at,
                email=email,
                first_name=first,
                last_name=last,
                company=company,
                title=title,
                country=where,
                channel=channel,
                contact=contact,
                account=acct,
                owner=rep,
                score=points,
                history=history,
                properties={"segment": seg},
                origin=ORIGIN,
            )
        )
    return contacts, leads


def _histories(
    stages: Stages,
    moves: dict[str, Any],
    n: int,
    keys: Sequence[str],
    org: SalesOrg,
) -> list[list[StageStep]]:
    """Stage histories of ``n`` subjects from a table of moves sorted by subject and time."""
    actors = [*org.rep_ids.tolist(), "marketing"]  # MARKETING is -1: the last one
    steps = [
        StageStep(keys[stage], at, actors[actor], stages.reasons[reason] if reason >= 0 else None)
        for stage, at, actor, reason in zip(
            moves["stage"].tolist(),
            aware(moves["at"]),
            moves["actor"].tolist(),
            moves["reason"].tolist(),
            strict=True,
        )
    ]
    bounds = np.searchsorted(moves["subject"], np.arange(n + 1)).tolist()
    return [steps[a:b] for a, b in itertools.pairwise(bounds)]


def touchpoints(touches: Touches, arrivals: Arrivals, campaigns_: Campaigns) -> list[TouchIn]:
    """Touchpoints, numbered per lead in time order."""
    order = np.lexsort((touches.at, touches.lead))
    lead = touches.lead[order]
    rank = np.arange(lead.size) - np.searchsorted(lead, lead)
    cmp_ids = campaigns_.external_ids()
    out = []
    rows = zip(
        lead.tolist(),
        rank.tolist(),
        aware(touches.at[order]),
        touches.channel[order].tolist(),
        touches.kind[order].tolist(),
        touches.campaign[order].tolist(),
        touches.source[order].tolist(),
        touches.term[order].tolist(),
        touches.content[order].tolist(),
        touches.page[order].tolist(),
        arrivals.account[lead].tolist(),
        strict=True,
    )
    for lead_row, j, at, channel, kind, campaign, source, term, content, page, acct in rows:
        ch = CHANNELS[channel]
        cmp = cmp_ids[campaign] if campaign >= 0 else None
        out.append(
            TouchIn(
                f"touch-{lead_row:06d}-{j:02d}",
                ch.key,
                at,
                touch_type=kind,
                lead=f"lead-{lead_row:06d}",
                contact=f"contact-{lead_row:06d}",
                account=f"acct-{acct:05d}",
                campaign=cmp,
                utm_source=source,
                utm_medium=ch.medium,
                utm_campaign=cmp if ch.medium else None,
                utm_term=term,
                utm_content=content,
                landing_page=page,
                origin=ORIGIN,
            )
        )
    return out


def activities(
    work: Activities,
    arrivals: Arrivals,
    org: SalesOrg,
    end: np.datetime64,
    deal_leads: Ints,
) -> list[ActivityIn]:
    """Sales activities before ``end``: attempts and meetings on leads, work on deals."""
    keep = work.at < end
    out = []
    rows = zip(
        work.lead[keep].tolist(),
        aware(work.at[keep]),
        work.kind[keep].tolist(),
        work.outcome[keep].tolist(),
        work.rep[keep].tolist(),
        work.step[keep].tolist(),
        work.cycle[keep].tolist(),
        work.deal[keep].tolist(),
        strict=True,
    )
    for lead, at, kind, outcome, rep, step, cycle, deal in rows:
        if deal >= 0:
            ext, subject, props = (
                f"act-{lead:06d}-d-{step:02d}",
                DEAL_WORK[step % len(DEAL_WORK)][1],
                {},
            )
        else:
            ext = f"act-{lead:06d}-{cycle}-{step:02d}"
            subject = (
                "Discovery meeting"
                if kind == MEETING
                else ("First touch" if step == 1 else f"Follow-up {step - 1}")
            )
            props = {"attempt": step, "mql_cycle": cycle}
        out.append(
            ActivityIn(
                ext,
                KINDS[kind],
                at,
                direction=None if kind == MEETING else "outbound",
                lead=f"lead-{lead:06d}",
                contact=f"contact-{lead:06d}",
                account=f"acct-{arrivals.account[lead]:05d}",
                opportunity=f"opp-{deal_leads[deal]:06d}" if deal >= 0 else None,
                user=org.rep_ids[rep],
                outcome=OUTCOMES[outcome],
                subject=subject,
                properties=props,
                origin=ORIGIN,
            )
        )
    return out


def opportunities(
    stages: Stages,
    journeys: Journeys,
    arrivals: Arrivals,
    accts: Accounts,
    org: SalesOrg,
    probability: dict[str, float],
    currency: str,
    end: np.datetime64,
) -> list[OpportunityIn]:
    """Deals opened before ``end``, at the stage they had reached by then."""
    deals = journeys.deals
    opened = deals.entered[:, 0]
    histories = _histories(
        stages, journeys.deal_moves.before(end), deals.lead.size, stages.pipeline, org
    )
    closed = np.where(deals.closed < end, deals.closed, np.datetime64("NaT"))
    close_day = np.where(np.isnat(closed), deals.expected, closed).astype("datetime64[D]")
    out = []
    rows = zip(
        deals.lead.tolist(),
        deals.rep.tolist(),
        deals.amount.tolist(),
        histories,
        aware(opened),
        aware_or_none(closed),
        close_day.astype(object).tolist(),
        (opened < end).tolist(),
        strict=True,
    )
    for lead, rep, amount, history, at, closed_at, close_date, exists in rows:
        if not exists:
            continue
        acct = int(arrivals.account[lead])
        segment = int(accts.segment[acct])
        out.append(
            OpportunityIn(
                f"opp-{lead:06d}",
                history[-1].to,
                name=f"{accts.name[acct]}: {PLANS[segment]}",
                account=f"acct-{acct:05d}",
                lead=f"lead-{lead:06d}",
                contact=f"contact-{lead:06d}",
                owner=org.rep_ids[rep],
                amount=money(amount),
                currency=currency,
                probability=probability[history[-1].to],
                product=PLANS[segment],
                created_at=at,
                close_date=close_date,
                closed_at=closed_at,
                history=history,
                origin=ORIGIN,
            )
        )
    return out
