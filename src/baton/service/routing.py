"""Use case: route a lead that became an MQL, and say later why it went where it did.

:func:`route_lead` is the hook to call when a lead enters the MQL stage. In the caller's
transaction it decides the owner under the contract in force (:func:`baton.domain.routing.route`),
stores the decision with its reason, sets the lead's owner, opens the assignment, creates the
SLA timers (due times in the contract's business hours) and queues the notifications in the
outbox. Nothing is sent here: the worker sends after the commit, so a rollback leaves no trace.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from baton.domain.escalation import ROUTE, first_touch_due, plan_timers
from baton.domain.model import Clock
from baton.domain.routing import Decision, matching_pools, route
from baton.errors import NotFound
from baton.service.contracts import AppliedContract, contract_in_force
from baton.service.notify import Notification, enqueue, enqueue_many, lead_label, local
from baton.store import handoff as store
from baton.store import tables as t
from baton.store.events import insert_many, insert_returning_ids
from baton.store.uow import UnitOfWork

#: Why a routing ran: the lead became an MQL, its SLA breached, a retry of a lead nobody could
#: take, or a person asked.
TRIGGERS = ("mql", "breach", "retry", "manual")
DECISIONS = t.Base.metadata.tables[t.RoutingDecision.__tablename__]
ASSIGNMENTS = t.Base.metadata.tables[t.Assignment.__tablename__]
TIMERS = t.Base.metadata.tables[t.SlaTimer.__tablename__]
LEADS = t.Base.metadata.tables[t.Lead.__tablename__]
_SET_OWNER = (
    update(LEADS).where(LEADS.c.id == bindparam("lead")).values(owner_id=bindparam("owner"))
)


@dataclass(frozen=True)
class RoutingResult:
    """What routing a lead did."""

    lead_id: int
    decision_id: int | None
    assignee_id: int | None
    assignee: str | None
    rule: str | None
    reason: str
    assignment_id: int | None = None
    first_touch_due: dt.datetime | None = None
    timers: int = 0
    notifications: int = 0
    already_routed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "decision_id": self.decision_id,
            "assignee_id": self.assignee_id,
            "assignee": self.assignee,
            "rule": self.rule,
            "reason": self.reason,
            "assignment_id": self.assignment_id,
            "first_touch_due": self.first_touch_due.isoformat() if self.first_touch_due else None,
            "timers": self.timers,
            "notifications": self.notifications,
            "already_routed": self.already_routed,
        }


def route_lead(
    uow: UnitOfWork, lead_id: int, *, clock: Clock, trigger: str = "mql"
) -> RoutingResult:
    """Route lead ``lead_id`` now, unless it already has an open assignment.

    Parameters
    ----------
    uow
        The unit of work; the caller commits.
    lead_id
        The lead, normally one that just entered the MQL stage.
    clock
        Gives the time of the decision and the start of the SLA clock.
    trigger
        ``mql`` (the default), ``manual``, ``retry`` or ``breach``; stored with the decision.

    Returns
    -------
    RoutingResult
        The assignee (``None`` when nobody could take the lead: a retry timer is set), the rule,
        the reason, the first-touch due time and what was queued. A lead with an open
        assignment is left alone (``already_routed``), so calling this twice is safe.
    """
    [result] = route_leads(uow, [lead_id], clock=clock, trigger=trigger)
    return result


def route_leads(
    uow: UnitOfWork, lead_ids: Sequence[int], *, clock: Clock, trigger: str = "mql"
) -> list[RoutingResult]:
    """Route several leads at once, as :func:`route_lead` routes each, in the order given.

    What one request's events qualify is routed together: the leads are read and locked in
    one query, the roster (reps, availability, time off, loads) and the round-robin cursors
    once for them all, and each decision sees the ones before it (a rep's load goes up with
    each lead they get, a pool's cursor moves on), exactly as routing them one after another
    would. Leads with an open assignment are left alone (``already_routed``).
    """
    now = clock()
    applied = contract_in_force(uow.session, now)
    return _route(uow.session, applied, lead_ids, now=now, trigger=trigger)


def assign(
    session: Session,
    applied: AppliedContract,
    lead_id: int,
    *,
    now: dt.datetime,
    trigger: str,
    exclude: frozenset[int] = frozenset(),
    handoffs: int = 0,
) -> RoutingResult:
    """:func:`route_lead` inside a transaction, for the escalation that hands a lead on too:
    ``exclude`` names reps who may not take it, ``handoffs`` counts the hands it has passed."""
    [result] = _route(
        session, applied, [lead_id], now=now, trigger=trigger, exclude=exclude, handoffs=handoffs
    )
    return result


def _route(
    session: Session,
    applied: AppliedContract,
    lead_ids: Sequence[int],
    *,
    now: dt.datetime,
    trigger: str,
    exclude: frozenset[int] = frozenset(),
    handoffs: int = 0,
) -> list[RoutingResult]:
    """Route the leads in order, in the caller's transaction (see :func:`route_leads`)."""
    ids = list(dict.fromkeys(lead_ids))
    routing = applied.contract.routing
    read = store.leads_to_route(session, ids)  # contacts and accounts too: views read no SQL
    leads = read.leads
    for lead_id in ids:
        if lead_id not in leads:
            raise NotFound(f"lead {lead_id} does not exist; `baton lead routing` takes a lead's id")
    done = {lead_id: _already(session, current) for lead_id, current in read.open.items()}
    fresh = [leads[i] for i in ids if i not in done]
    views = {lead.id: store.lead_view(session, lead) for lead in fresh}
    pools = {lead_id: matching_pools(view, routing) for lead_id, (view, _) in views.items()}
    named = set().union(*pools.values()) if pools else set()
    assigns = [r for r in routing.rules if f"rule:{r.key}" in named]
    owners = [owner for _, owner in views.values() if owner is not None]
    roster = store.load_roster(
        session,
        applied.contract,
        [*assigns, *([routing.default] if routing.default else [])],
        owner_id=None,
        extra_ids=owners if routing.owner_first else (),
        now=now,
    )
    cursors = {pool: dict(c) for pool, c in store.lock_cursors(session, sorted(named), now).items()}
    moved: set[str] = set()
    decided: list[tuple[t.Lead, Decision]] = []
    for lead in fresh:
        view, owner_id = views[lead.id]
        decision = route(view, routing, roster, cursors, owner_id=owner_id, exclude=exclude)
        if decision.assignee is None and trigger == "retry":
            _retry_later(session, applied, lead, now)  # nothing new to record: still nobody
            done[lead.id] = RoutingResult(lead.id, None, None, None, None, decision.reason)
            continue
        decided.append((lead, decision))
        if decision.assignee is None:
            continue
        if decision.pool is not None and decision.cursor is not None:
            cursors[decision.pool] = dict(decision.cursor)
            moved.add(decision.pool)
        rep = roster.reps.get(decision.assignee.user_id, decision.assignee)
        roster = dataclasses.replace(
            roster,
            reps={
                **roster.reps,
                rep.user_id: dataclasses.replace(
                    rep, open_load=rep.open_load + 1, today_load=rep.today_load + 1
                ),
            },
        )
    for pool in sorted(moved):
        store.save_cursor(session, pool, cursors[pool], now)
    decision_ids = _record(session, applied, decided, trigger, now)
    assigned = []
    for (lead, decision), decision_id in zip(decided, decision_ids, strict=True):
        if decision.assignee is None:
            done[lead.id] = _nobody(session, applied, lead, decision, decision_id, now)
        else:
            assigned.append((lead, decision, decision_id))
    for result in _open(session, applied, assigned, now, handoffs):
        done[result.lead_id] = result
    return [done[i] for i in ids]


def _already(session: Session, current: t.Assignment) -> RoutingResult:
    """The result for a lead that has an open assignment: left alone, as it was routed."""
    stored = session.get(t.RoutingDecision, current.decision_id)
    user = session.get(t.User, current.user_id)
    return RoutingResult(
        current.lead_id,
        current.decision_id,
        current.user_id,
        _who(user),
        stored.rule if stored else None,
        stored.reason_text if stored else "",
        current.id,
        current.first_touch_due,
        already_routed=True,
    )


def _nobody(
    session: Session,
    applied: AppliedContract,
    lead: t.Lead,
    decision: Decision,
    decision_id: int,
    now: dt.datetime,
) -> RoutingResult:
    """Nobody could take the lead: try again later, and say so on the webhook."""
    _retry_later(session, applied, lead, now)
    minutes = applied.contract.routing.escalation.retry_unassigned_minutes
    sent = enqueue(
        session,
        topic="unassigned",
        now=now,
        lead_id=lead.id,
        subject=f"Nobody could take {lead_label(lead)}",
        text=f"Nobody could take {lead_label(lead)}: {decision.reason}. Baton tries again in "
        f"{minutes:g} minutes.",
        channels=["webhook"],
    )
    return RoutingResult(
        lead.id, decision_id, None, None, None, decision.reason, timers=1, notifications=sent
    )


def open_assignment(session: Session, lead_id: int) -> t.Assignment | None:
    return session.scalars(
        select(t.Assignment).where(t.Assignment.lead_id == lead_id, t.Assignment.status == "open")
    ).first()


def _who(user: t.User | None) -> str | None:
    return None if user is None else (user.email or user.name)


def _record(
    session: Session,
    applied: AppliedContract,
    decided: Sequence[tuple[t.Lead, Decision]],
    trigger: str,
    now: dt.datetime,
) -> list[int]:
    """Append the decisions to the routing log in one statement; their ids, in order."""
    return insert_returning_ids(
        session,
        DECISIONS,
        [
            {
                "lead_id": lead.id,
                "assignee_id": decision.assignee.user_id if decision.assignee else None,
                "rule": decision.rule,
                "trigger": trigger,
                "reason_text": decision.reason,
                "reason": decision.as_dict(),
                "contract_version_id": applied.version_id,
                "at": now,
            }
            for lead, decision in decided
        ],
    )


def _open(
    session: Session,
    applied: AppliedContract,
    assigned: Sequence[tuple[t.Lead, Decision, int]],
    now: dt.datetime,
    handoffs: int = 0,
) -> list[RoutingResult]:
    """Give each lead to its decision's rep: the owner, the assignment, the SLA timers and the
    rep's notifications, with one statement each for all the leads (plain inserts, not the
    ORM's unit of work: this runs inside the request that routes)."""
    if not assigned:
        return []
    contract = applied.contract
    clock = store.contract_clock(contract)
    due = first_touch_due(contract, clock, now)
    plans = plan_timers(contract, clock, now)
    reps = []
    for _, decision, _ in assigned:
        rep = decision.assignee
        assert rep is not None
        reps.append(rep)
    # one UPDATE for all the owners; the leads in the session are told, not flushed again
    session.execute(
        _SET_OWNER,
        [
            {"lead": lead.id, "owner": rep.user_id}
            for (lead, _, _), rep in zip(assigned, reps, strict=True)
        ],
    )
    for (lead, _, _), rep in zip(assigned, reps, strict=True):
        set_committed_value(lead, "owner_id", rep.user_id)
    assignment_ids = insert_returning_ids(
        session,
        ASSIGNMENTS,
        [
            {
                "lead_id": lead.id,
                "user_id": rep.user_id,
                "decision_id": decision_id,
                "status": "open",
                "assigned_at": now,
                "sla_start": now,
                "first_touch_due": due,
                "attempts": 0,
                "handoffs": handoffs,
            }
            for (lead, _, decision_id), rep in zip(assigned, reps, strict=True)
        ],
    )
    if plans:
        insert_many(
            session,
            TIMERS,
            [
                {
                    "lead_id": lead.id,
                    "assignment_id": assignment_id,
                    "kind": p.kind,
                    "share": p.share,
                    "due_at": p.due_at,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
                for (lead, _, _), assignment_id in zip(assigned, assignment_ids, strict=True)
                for p in plans
            ],
        )
    zone = contract.business_hours.timezone
    hours = contract.sla.sales.first_touch_hours
    sent = enqueue_many(
        session,
        [
            Notification(
                topic="assigned",
                lead_id=lead.id,
                emails=(rep.email,),
                channels=tuple(contract.routing.notify),
                subject=f"New lead for you: {lead_label(lead)}",
                text=f"{lead_label(lead)} is yours, {rep.label}. Why: {decision.reason}. "
                f"First touch due by {local(due, zone)} ({hours:g} business hours).",
            )
            for (lead, decision, _), rep in zip(assigned, reps, strict=True)
        ],
        now=now,
    )
    return [
        RoutingResult(
            lead.id,
            decision_id,
            rep.user_id,
            rep.label,
            decision.rule,
            decision.reason,
            assignment_id,
            due,
            len(plans),
            count,
        )
        for (lead, decision, decision_id), rep, assignment_id, count in zip(
            assigned, reps, assignment_ids, sent, strict=True
        )
    ]


def _retry_later(
    session: Session, applied: AppliedContract, lead: t.Lead, now: dt.datetime
) -> None:
    minutes = applied.contract.routing.escalation.retry_unassigned_minutes
    session.add(
        t.SlaTimer(
            lead_id=lead.id,
            assignment_id=None,
            kind=ROUTE,
            due_at=now + dt.timedelta(minutes=minutes),
            status="pending",
            attempts=0,
            created_at=now,
        )
    )


# -- explain ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionView:
    """One stored routing decision as the API and CLI show it."""

    id: int
    at: dt.datetime
    trigger: str
    assignee: str | None
    rule: str | None
    reason: str
    contract_version: int | None
    details: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "trigger": self.trigger,
            "assignee": self.assignee,
            "rule": self.rule,
            "reason": self.reason,
            "contract_version": self.contract_version,
            "details": self.details,
        }


@dataclass(frozen=True)
class TimerView:
    kind: str
    share: float | None
    due_at: dt.datetime
    status: str
    result: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "share": self.share,
            "due_at": self.due_at.isoformat(),
            "status": self.status,
            "result": self.result,
        }


@dataclass(frozen=True)
class RoutingExplanation:
    """Why a lead is where it is: its owner, every routing decision (newest first), the open
    assignment's SLA state and the timers of its current assignment."""

    lead_id: int
    lead: str
    stage: str | None
    owner: str | None
    decisions: tuple[DecisionView, ...]
    assignment: dict[str, Any] | None
    timers: tuple[TimerView, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "lead": self.lead,
            "stage": self.stage,
            "owner": self.owner,
            "why": self.decisions[0].reason if self.decisions else None,
            "decisions": [d.as_dict() for d in self.decisions],
            "assignment": self.assignment,
            "timers": [x.as_dict() for x in self.timers],
        }


def explain_routing(uow: UnitOfWork, lead_id: int) -> RoutingExplanation:
    """Answer "why did I get this lead?" from the decision log (``GET .../leads/{id}/routing``)."""
    session = uow.session
    lead = session.get(t.Lead, lead_id)
    if lead is None:
        raise NotFound(f"lead {lead_id} does not exist")
    users: dict[int, t.User] = {}

    def who(uid: int | None) -> str | None:
        if uid is None:
            return None
        if uid not in users:
            user = session.get(t.User, uid)
            if user is None:
                return f"user {uid}"
            users[uid] = user
        return _who(users[uid])

    versions = dict(session.execute(select(t.ContractVersion.id, t.ContractVersion.version)).all())
    decisions = tuple(
        DecisionView(
            d.id,
            d.at,
            d.trigger,
            who(d.assignee_id),
            d.rule,
            d.reason_text,
            versions.get(d.contract_version_id) if d.contract_version_id else None,
            dict(d.reason),
        )
        for d in session.scalars(
            select(t.RoutingDecision)
            .where(t.RoutingDecision.lead_id == lead_id)
            .order_by(t.RoutingDecision.at.desc(), t.RoutingDecision.id.desc())
        )
    )
    latest = session.scalars(
        select(t.Assignment)
        .where(t.Assignment.lead_id == lead_id)
        .order_by(t.Assignment.assigned_at.desc(), t.Assignment.id.desc())
        .limit(1)
    ).first()
    assignment = None
    timers: tuple[TimerView, ...] = ()
    if latest is not None:
        assignment = {
            "id": latest.id,
            "rep": who(latest.user_id),
            "status": latest.status,
            "assigned_at": latest.assigned_at.isoformat(),
            "first_touch_due": latest.first_touch_due.isoformat(),
            "first_touch_at": latest.first_touch_at.isoformat() if latest.first_touch_at else None,
            "connected_at": latest.connected_at.isoformat() if latest.connected_at else None,
            "attempts": latest.attempts,
            "handoffs": latest.handoffs,
            "closed_at": latest.closed_at.isoformat() if latest.closed_at else None,
            "close_reason": latest.close_reason,
            "close_note": latest.close_note,
        }
        timers = tuple(
            TimerView(x.kind, x.share, x.due_at, x.status, x.result)
            for x in session.scalars(
                select(t.SlaTimer)
                .where(t.SlaTimer.assignment_id == latest.id)
                .order_by(t.SlaTimer.due_at, t.SlaTimer.id)
            )
        )
    return RoutingExplanation(
        lead_id, lead_label(lead), lead.stage, who(lead.owner_id), decisions, assignment, timers
    )
