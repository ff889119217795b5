"""What a person works from in the dashboard: the lead queue, a lead's or an account's story,
and the rejections marketing gets back. Read-only use cases over the store.

Who sees what is a :class:`Scope`: a sales rep the leads they own, a sales manager the leads of
their team's reps, everyone else every lead. The queue is the leads waiting in the MQL stage
(the handoff), each with its first-touch due time: the open assignment's when routing made
one, else the SLA's ``first_touch_hours`` of business time after the lead entered the stage.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session

from baton.contract.model import Contract
from baton.domain.business_hours import BusinessClock
from baton.errors import Forbidden, NotFound
from baton.report.rejections import NO_REASON, REJECTING_KINDS
from baton.service.web_users import Viewer
from baton.store import tables as t

#: A lead whose first touch is due within this share of its SLA window is "at risk".
AT_RISK_SHARE = 0.25


@dataclass(frozen=True)
class Scope:
    """The owners whose leads a person sees; ``None`` means every lead."""

    owners: frozenset[int] | None
    role: str

    def allows(self, owner_id: int | None) -> bool:
        return self.owners is None or (owner_id is not None and owner_id in self.owners)


def scope_for(session: Session, viewer: Viewer) -> Scope:
    if viewer.role == "sales":
        return Scope(frozenset({viewer.user_id}), viewer.role)
    if viewer.role == "sales-manager":
        teams = set(session.scalars(select(t.Team.id).where(t.Team.manager_id == viewer.user_id)))
        if viewer.team_id is not None:
            teams.add(viewer.team_id)
        owners = set(session.scalars(select(t.User.id).where(t.User.team_id.in_(teams))))
        return Scope(frozenset(owners | {viewer.user_id}), viewer.role)
    return Scope(None, viewer.role)


def lead_in_scope(session: Session, scope: Scope, lead_id: int, *, acting: bool = False) -> t.Lead:
    """The lead, or :class:`NotFound` / :class:`Forbidden` when the person may not see it."""
    lead = session.get(t.Lead, lead_id)
    if lead is None:
        raise NotFound(f"lead {lead_id} does not exist")
    if not scope.allows(lead.owner_id):
        whose = "your own leads" if scope.role == "sales" else "your team's leads"
        verb = "act on" if acting else "see"
        raise Forbidden(
            f"lead {lead_id} is not one of {whose}; your role ({scope.role}) can {verb} only those"
        )
    return lead


def _name(lead: t.Lead | Row[Any]) -> str:  # a lead, or a row of its columns
    person = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    return person or lead.email or f"lead {lead.id}"


@dataclass
class QueueItem:
    """One lead of the queue, with what the rep needs to decide."""

    lead_id: int
    name: str
    email: str | None
    company: str | None
    title: str | None
    channel: str | None
    stage: str | None
    owner: str | None
    owner_id: int | None
    team: str | None
    score: float | None
    entered_at: dt.datetime | None
    due_at: dt.datetime | None
    touched_at: dt.datetime | None
    attempts: int
    state: str  # touched, breached, at risk, open
    reasons: list[dict[str, Any]] = field(default_factory=list)
    routing: str | None = None
    touches: list[dict[str, Any]] = field(default_factory=list)


def queue(
    session: Session,
    contract: Contract,
    scope: Scope,
    *,
    now: dt.datetime,
    limit: int | None = 100,
    with_details: bool = True,
) -> list[QueueItem]:
    """The leads waiting in the MQL stage that ``scope`` sees, by first-touch due time, then
    score (highest first); the first ``limit`` of them (all with None), each with score
    reasons, routing reason and recent touches when ``with_details``."""
    stage = contract.mql_stage.key
    query = (
        select(t.Lead, t.Assignment, t.User, t.Team)
        .outerjoin(
            t.Assignment, (t.Assignment.lead_id == t.Lead.id) & (t.Assignment.status == "open")
        )
        .outerjoin(t.User, t.User.id == t.Lead.owner_id)
        .outerjoin(t.Team, t.Team.id == t.User.team_id)
        .where(t.Lead.stage == stage)
    )
    if scope.owners is not None:
        query = query.where(t.Lead.owner_id.in_(scope.owners))
    rows = session.execute(query).all()
    clock = BusinessClock(contract.business_hours)
    window = dt.timedelta(hours=contract.sla.sales.first_touch_hours)
    ids = [lead.id for lead, *_ in rows]
    first_touch = _first_touches(session, ids)
    items = []
    for lead, assignment, owner, team in rows:
        entered = lead.stage_entered_at
        due = (
            assignment.first_touch_due
            if assignment
            else (clock.add(entered, window) if entered else None)
        )
        touched = assignment.first_touch_at if assignment and assignment.first_touch_at else None
        if touched is None and entered is not None:
            at = first_touch.get(lead.id)
            touched = at if at is not None and at >= entered else None
        items.append(
            QueueItem(
                lead.id, _name(lead), lead.email, lead.company, lead.title, lead.channel,
                lead.stage, owner.name if owner else None, lead.owner_id,
                team.name if team else None, lead.score, entered, due, touched,
                assignment.attempts if assignment else 0,
                _state(due, touched, now, window),
            )
        )  # fmt: skip
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    items.sort(key=lambda i: (i.due_at or far, -(i.score or 0.0), i.lead_id))
    if limit is not None:
        items = items[:limit]
    if with_details:
        details(session, items)
    return items


def _state(
    due: dt.datetime | None, touched: dt.datetime | None, now: dt.datetime, window: dt.timedelta
) -> str:
    if touched is not None:
        return "touched"
    if due is None:
        return "open"
    if due <= now:
        return "breached"
    if due - now <= window * AT_RISK_SHARE:
        return "at risk"
    return "open"


def _first_touches(session: Session, ids: list[int]) -> dict[int, dt.datetime]:
    """Each lead's latest sales activity (a call, email or meeting), to tell whether the
    current wait already had its first touch."""
    if not ids:
        return {}
    rows = session.execute(
        select(t.Activity.lead_id, func.max(t.Activity.occurred_at))
        .where(t.Activity.lead_id.in_(ids), t.Activity.kind.in_(("call", "email", "meeting")))
        .group_by(t.Activity.lead_id)
    )
    return {lead_id: at for lead_id, at in rows if lead_id is not None}


def details(session: Session, items: list[QueueItem]) -> None:
    """Fill in each item's score reasons, routing reason and recent touches."""
    ids = [i.lead_id for i in items]
    if not ids:
        return
    latest = (
        select(t.LeadScoreRow.lead_id, func.max(t.LeadScoreRow.id).label("id"))
        .where(t.LeadScoreRow.lead_id.in_(ids))
        .group_by(t.LeadScoreRow.lead_id)
        .subquery()
    )
    scores = {
        row.lead_id: row
        for row in session.scalars(
            select(t.LeadScoreRow).join(latest, latest.c.id == t.LeadScoreRow.id)
        )
    }
    decided = (
        select(t.RoutingDecision.lead_id, func.max(t.RoutingDecision.id).label("id"))
        .where(t.RoutingDecision.lead_id.in_(ids))
        .group_by(t.RoutingDecision.lead_id)
        .subquery()
    )
    routing = {
        row.lead_id: row.reason_text
        for row in session.scalars(
            select(t.RoutingDecision).join(decided, decided.c.id == t.RoutingDecision.id)
        )
    }
    touches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for tp in session.scalars(
        select(t.Touchpoint)
        .where(t.Touchpoint.lead_id.in_(ids))
        .order_by(t.Touchpoint.occurred_at.desc())
    ):
        if tp.lead_id is not None and len(touches[tp.lead_id]) < 5:
            touches[tp.lead_id].append(
                {
                    "at": tp.occurred_at,
                    "what": f"{tp.touch_type} · {tp.channel}",
                    "detail": tp.utm_campaign or tp.landing_page or "",
                }
            )
    for act in session.scalars(
        select(t.Activity)
        .where(t.Activity.lead_id.in_(ids))
        .order_by(t.Activity.occurred_at.desc())
    ):
        if act.lead_id is not None and len(touches[act.lead_id]) < 10:
            touches[act.lead_id].append(
                {
                    "at": act.occurred_at,
                    "what": f"{act.kind} ({act.outcome or act.direction or ''})",
                    "detail": act.subject or act.body or "",
                }
            )
    for item in items:
        score = scores.get(item.lead_id)
        if score is not None:
            item.score = score.score if item.score is None else item.score
            item.reasons = [line for line in score.breakdown if line.get("points")]
        item.routing = routing.get(item.lead_id)
        item.touches = sorted(touches.get(item.lead_id, []), key=lambda x: x["at"], reverse=True)[
            :8
        ]


# -- a lead's and an account's story ------------------------------------------------------------
def plain(row: Any) -> SimpleNamespace | None:
    """A row's columns, detached from its session: pages render after the session closed."""
    if row is None:
        return None
    return SimpleNamespace(**{c.key: getattr(row, c.key) for c in row.__table__.columns})


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    kind: str  # touch, activity, stage, score, routing, sla, deal
    title: str
    detail: str = ""
    lines: tuple[dict[str, Any], ...] = ()


def lead_story(session: Session, lead: t.Lead) -> dict[str, Any]:
    """The lead's timeline, newest first: touches, sales activities, stage changes, scores
    with their reasons, routing decisions and SLA timers."""
    events: list[Event] = []
    for tp in session.scalars(select(t.Touchpoint).where(t.Touchpoint.lead_id == lead.id)):
        events.append(
            Event(
                tp.occurred_at,
                "touch",
                f"{tp.touch_type} via {tp.channel}",
                tp.utm_campaign or tp.landing_page or "",
            )
        )
    for act in session.scalars(select(t.Activity).where(t.Activity.lead_id == lead.id)):
        events.append(
            Event(
                act.occurred_at,
                "activity",
                f"{act.kind} {act.outcome or ''}".strip(),
                act.body or act.subject or "",
            )
        )
    for sc in session.scalars(
        select(t.StageChangeRow).where(
            t.StageChangeRow.subject == "lead", t.StageChangeRow.subject_id == lead.id
        )
    ):
        events.append(
            Event(
                sc.at,
                "stage",
                f"{sc.from_stage or '—'} → {sc.to_stage}",
                f"by {sc.actor}" + (f": {sc.reason}" if sc.reason else ""),
            )
        )
    for score in session.scalars(select(t.LeadScoreRow).where(t.LeadScoreRow.lead_id == lead.id)):
        lines = tuple(line for line in score.breakdown if line.get("points"))
        events.append(
            Event(
                score.scored_at,
                "score",
                f"score {score.score:.0f} ({score.model_key})",
                f"fit {score.fit:.0f}, engagement {score.engagement:.0f}",
                lines,
            )
        )
    for dec in session.scalars(
        select(t.RoutingDecision).where(t.RoutingDecision.lead_id == lead.id)
    ):
        events.append(
            Event(
                dec.at,
                "routing",
                f"routed ({dec.trigger})" + (f" by rule {dec.rule}" if dec.rule else ""),
                dec.reason_text,
            )
        )
    for timer in session.scalars(select(t.SlaTimer).where(t.SlaTimer.lead_id == lead.id)):
        events.append(
            Event(
                timer.done_at or timer.due_at,
                "sla",
                f"SLA {timer.kind}: {timer.status}",
                f"due {timer.due_at:%Y-%m-%d %H:%M} UTC",
            )
        )
    for opp in session.scalars(select(t.Opportunity).where(t.Opportunity.lead_id == lead.id)):
        if opp.created_at is not None:
            events.append(
                Event(
                    opp.created_at,
                    "deal",
                    f"deal {opp.name or opp.external_id}: {opp.stage}",
                    f"{opp.amount or ''} {opp.currency}",
                )
            )
    events.sort(key=lambda e: e.at, reverse=True)
    owner = session.get(t.User, lead.owner_id) if lead.owner_id else None
    account = session.get(t.Account, lead.account_id) if lead.account_id else None
    return {
        "lead": plain(lead),
        "name": _name(lead),
        "owner": plain(owner),
        "account": plain(account),
        "events": events,
    }


def account_story(session: Session, account_id: int, scope: Scope) -> dict[str, Any]:
    account = session.get(t.Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    leads = session.scalars(
        select(t.Lead).where(t.Lead.account_id == account_id).order_by(t.Lead.created_at)
    ).all()
    if (
        scope.owners is not None
        and not any(scope.allows(x.owner_id) for x in leads)
        and not scope.allows(account.owner_id)
    ):
        raise Forbidden(
            f"account {account_id} has none of your leads; your role ({scope.role}) sees only those accounts"
        )
    events: list[Event] = []
    names = {x.id: _name(x) for x in leads}
    for tp in session.scalars(
        select(t.Touchpoint).where(
            or_(t.Touchpoint.account_id == account_id, t.Touchpoint.lead_id.in_(list(names)))
        )
    ):
        who = names.get(tp.lead_id or -1, "")
        events.append(
            Event(
                tp.occurred_at,
                "touch",
                f"{tp.touch_type} via {tp.channel}",
                f"{who} {tp.utm_campaign or ''}".strip(),
            )
        )
    for sc in session.scalars(
        select(t.StageChangeRow).where(
            t.StageChangeRow.subject == "lead", t.StageChangeRow.subject_id.in_(list(names))
        )
    ):
        events.append(
            Event(
                sc.at,
                "stage",
                f"{names[sc.subject_id]}: {sc.from_stage or '—'} → {sc.to_stage}",
                sc.reason or "",
            )
        )
    deals = session.scalars(
        select(t.Opportunity).where(t.Opportunity.account_id == account_id)
    ).all()
    for opp in deals:
        if opp.created_at is not None:
            events.append(
                Event(
                    opp.created_at,
                    "deal",
                    f"deal {opp.name or opp.external_id} opened",
                    f"{opp.amount or ''} {opp.currency}",
                )
            )
        if opp.closed_at is not None:
            events.append(
                Event(
                    opp.closed_at,
                    "deal",
                    f"deal {opp.name or opp.external_id} closed: {opp.stage}",
                    "",
                )
            )
    events.sort(key=lambda e: e.at, reverse=True)
    return {
        "account": plain(account),
        "leads": [plain(x) for x in leads],
        "names": names,
        "deals": [plain(d) for d in deals],
        "events": events[:300],
    }


# -- rejections, for marketing ----------------------------------------------------------------
def rejections(
    session: Session, contract: Contract, *, since: dt.datetime, zone: Any
) -> dict[str, Any]:
    """Leads sales sent back since ``since`` (into a recycled or disqualified stage, as the
    weekly report counts rejections): each with reason, channel and campaign (the campaign of
    the lead's first touch), and counts by month, channel and campaign."""
    rejecting = [s.key for s in contract.stages if s.kind in REJECTING_KINDS]
    labels = {r.key: r.label for r in contract.rejection_reasons}
    # the columns shown, not the rows as objects: a year of rejections is thousands of rows
    change_, lead_ = t.StageChangeRow, t.Lead
    rows = session.execute(
        select(change_.at, change_.reason, change_.actor, lead_.id, lead_.company, lead_.channel)
        .add_columns(lead_.first_name, lead_.last_name, lead_.email)
        .join(t.Lead, t.Lead.id == t.StageChangeRow.subject_id)
        .where(
            t.StageChangeRow.subject == "lead",
            t.StageChangeRow.to_stage.in_(rejecting),
            t.StageChangeRow.at >= since,
        )
        .order_by(t.StageChangeRow.at.desc(), t.StageChangeRow.id.desc())
    ).all()
    campaigns = _first_campaigns(session, sorted({row.id for row in rows}))
    items = []
    for row in rows:
        reason = row.reason or NO_REASON
        items.append(
            {
                "at": row.at,
                "month": row.at.astimezone(zone).strftime("%Y-%m"),
                "lead_id": row.id,
                "lead": _name(row),
                "company": row.company,
                "reason": reason,
                "reason_label": labels.get(reason, reason),
                "channel": row.channel or "unknown",
                "campaign": campaigns.get(row.id) or "(none)",
                "by": row.actor,
            }
        )
    return {"items": items, "reasons": labels}


def _first_campaigns(session: Session, lead_ids: list[int]) -> dict[int, str]:
    """The campaign of each lead's first touch (its name, else the touch's ``utm_campaign``)."""
    found: dict[int, str] = {}
    for start in range(0, len(lead_ids), 500):
        chunk = lead_ids[start : start + 500]
        first = (
            select(t.Touchpoint.lead_id, func.min(t.Touchpoint.occurred_at).label("at"))
            .where(t.Touchpoint.lead_id.in_(chunk))
            .group_by(t.Touchpoint.lead_id)
            .subquery()
        )
        rows = session.execute(
            select(t.Touchpoint.lead_id, t.Campaign.name, t.Touchpoint.utm_campaign)
            .join(
                first,
                (first.c.lead_id == t.Touchpoint.lead_id)
                & (first.c.at == t.Touchpoint.occurred_at),
            )
            .outerjoin(t.Campaign, t.Campaign.id == t.Touchpoint.campaign_id)
            .order_by(t.Touchpoint.id.desc())
        )
        for lead_id, name, utm in rows:
            if lead_id is not None and (name or utm):
                found[lead_id] = str(name or utm)
    return found
