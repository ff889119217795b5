"""Use case: an SLA timer fell due. Remind, escalate, hand the lead on, or retry routing.

:func:`fire_timer` runs one timer in the caller's transaction and says what it did; the worker
marks the timer done (or cancelled, when the work had already stopped the clock) in the same
transaction, so a timer's effects and its status commit together.

* ``reminder``: the owner has not touched the lead yet; they are told what share of the time
  is used and when it is due.
* ``breach``: still no touch when the time is up. As ``routing.escalation.on_breach`` says, the
  rep's manager (their team's manager) is notified, and/or the lead is handed to the next rep
  of the same rules (never one who already let it breach), with a new decision and a new
  clock, at most ``max_reassignments`` times.
* ``attempts``: the attempts window closed with fewer attempts than ``sla.sales.attempts``;
  the owner and their manager are told.
* ``route``: nobody could take the lead before; routing is tried again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.domain.escalation import ATTEMPTS, BREACH, REMINDER, ROUTE
from baton.service.contracts import AppliedContract, contract_in_force
from baton.service.handoff import cancel_timers
from baton.service.notify import enqueue, lead_label, local
from baton.service.routing import assign, open_assignment
from baton.store import tables as t

DONE, CANCELLED = "done", "cancelled"


def _manager(session: Session, user: t.User | None) -> t.User | None:
    if user is None or user.team_id is None:
        return None
    team = session.get(t.Team, user.team_id)
    if team is None or team.manager_id is None or team.manager_id == user.id:
        return None
    return session.get(t.User, team.manager_id)


def fire_timer(
    session: Session,
    timer: t.SlaTimer,
    now: dt.datetime,
    applied: AppliedContract | None = None,
) -> tuple[str, dict[str, Any]]:
    """Run ``timer`` at ``now``; return its new status (``done`` or ``cancelled``) and a result.

    ``applied`` is the contract in force at ``now``, looked up when not given.
    """
    applied = applied or contract_in_force(session, now)
    if timer.kind == ROUTE:
        return _retry_route(session, applied, timer, now)
    assignment = session.get(t.Assignment, timer.assignment_id) if timer.assignment_id else None
    if assignment is None or assignment.status != "open":
        return CANCELLED, {"skipped": "the assignment is closed"}
    lead = session.get(t.Lead, assignment.lead_id)
    assert lead is not None
    if lead.stage != applied.contract.mql_stage.key:
        return CANCELLED, {"skipped": f'the lead is in "{lead.stage}", no longer an MQL'}
    rep = session.get(t.User, assignment.user_id)
    if timer.kind == REMINDER:
        return _remind(session, applied, timer, assignment, lead, rep, now)
    if timer.kind == BREACH:
        return _breach(session, applied, assignment, lead, rep, now)
    if timer.kind == ATTEMPTS:
        return _attempts(session, applied, assignment, lead, rep, now)
    return CANCELLED, {"skipped": f'unknown timer kind "{timer.kind}"'}


def _remind(
    session: Session,
    applied: AppliedContract,
    timer: t.SlaTimer,
    assignment: t.Assignment,
    lead: t.Lead,
    rep: t.User | None,
    now: dt.datetime,
) -> tuple[str, dict[str, Any]]:
    if assignment.first_touch_at is not None:
        return CANCELLED, {"skipped": "first touch made"}
    zone = applied.contract.business_hours.timezone
    share = f"{(timer.share or 0):.0%}"
    sent = enqueue(
        session,
        topic="reminder",
        now=now,
        lead_id=lead.id,
        emails=[rep.email if rep else None],
        channels=applied.contract.routing.notify,
        subject=f"Reminder: {lead_label(lead)} is waiting for a first touch",
        text=f"Reminder for {_name(rep)}: {share} of the first-touch time on {lead_label(lead)} "
        f"is used; it is due by {local(assignment.first_touch_due, zone)}.",
    )
    return DONE, {"notified": _name(rep), "share": timer.share, "messages": sent}


def _breach(
    session: Session,
    applied: AppliedContract,
    assignment: t.Assignment,
    lead: t.Lead,
    rep: t.User | None,
    now: dt.datetime,
) -> tuple[str, dict[str, Any]]:
    if assignment.first_touch_at is not None:
        return CANCELLED, {"skipped": "first touch made"}
    contract = applied.contract
    escalation = contract.routing.escalation
    result: dict[str, Any] = {"breached": _name(rep)}
    hours = contract.sla.sales.first_touch_hours
    due = local(assignment.first_touch_due, contract.business_hours.timezone)
    text = (
        f"SLA breached: {_name(rep)} has not touched {lead_label(lead)} within "
        f"{hours:g} business hours (due {due})."
    )
    manager = _manager(session, rep)
    if "notify_manager" in escalation.on_breach:
        result["manager"] = _name(manager) if manager else None
        enqueue(
            session,
            topic="breach",
            now=now,
            lead_id=lead.id,
            emails=[manager.email if manager else None],
            channels=contract.routing.notify,
            subject=f"SLA breached: {lead_label(lead)}",
            text=text
            + (f" Escalated to {_name(manager)}." if manager else " The rep has no manager."),
        )
    if "reassign" in escalation.on_breach and assignment.handoffs < escalation.max_reassignments:
        assignment.status = "reassigned"
        assignment.closed_at = now
        assignment.close_reason = "sla-breach"
        cancel_timers(session, assignment.id, None, now)
        session.flush()
        tried = _breached_reps(session, lead)
        routed = assign(
            session,
            applied,
            lead.id,
            now=now,
            trigger="breach",
            exclude=frozenset(tried),
            handoffs=assignment.handoffs + 1,
        )
        result["reassigned_to"] = routed.assignee
        result["decision_id"] = routed.decision_id
    elif "reassign" in escalation.on_breach:
        result["reassign"] = f"not handed on: already reassigned {assignment.handoffs} times"
    return DONE, result


def _breached_reps(session: Session, lead: t.Lead) -> set[int]:
    """Reps who let this MQL's SLA breach since it last entered the MQL stage."""
    since = lead.stage_entered_at
    query = select(t.Assignment.user_id).where(
        t.Assignment.lead_id == lead.id, t.Assignment.close_reason == "sla-breach"
    )
    if since is not None:
        query = query.where(t.Assignment.assigned_at >= since)
    return set(session.scalars(query))


def _attempts(
    session: Session,
    applied: AppliedContract,
    assignment: t.Assignment,
    lead: t.Lead,
    rep: t.User | None,
    now: dt.datetime,
) -> tuple[str, dict[str, Any]]:
    wanted = applied.contract.sla.sales.attempts
    if assignment.attempts >= wanted:
        return CANCELLED, {"skipped": f"{assignment.attempts} attempts made"}
    manager = _manager(session, rep)
    days = applied.contract.sla.sales.attempts_within_days
    sent = enqueue(
        session,
        topic="attempts",
        now=now,
        lead_id=lead.id,
        emails=[rep.email if rep else None, manager.email if manager else None],
        channels=applied.contract.routing.notify,
        subject=f"Attempts missed: {lead_label(lead)}",
        text=f"{_name(rep)} made {assignment.attempts} of {wanted} attempts on {lead_label(lead)} "
        f"in {days} business days.",
    )
    return DONE, {"attempts": assignment.attempts, "wanted": wanted, "messages": sent}


def _retry_route(
    session: Session, applied: AppliedContract, timer: t.SlaTimer, now: dt.datetime
) -> tuple[str, dict[str, Any]]:
    lead = session.get(t.Lead, timer.lead_id)
    if lead is None or lead.stage != applied.contract.mql_stage.key:
        return CANCELLED, {"skipped": "the lead is no longer an MQL"}
    if open_assignment(session, lead.id) is not None:
        return CANCELLED, {"skipped": "the lead has an owner"}
    routed = assign(session, applied, lead.id, now=now, trigger="retry")
    return DONE, {"assigned_to": routed.assignee, "reason": routed.reason}


def preload(session: Session, timers: Sequence[t.SlaTimer]) -> list[object]:
    """Read the assignments, leads, reps, teams and managers of ``timers`` in a few queries,
    so running them finds everything in the session instead of asking row by row.

    Keep the returned list while the timers run: the session holds its rows weakly.
    """
    assignment_ids = {x.assignment_id for x in timers if x.assignment_id}
    assignments = list(
        session.scalars(select(t.Assignment).where(t.Assignment.id.in_(assignment_ids)))
    )
    lead_ids = {x.lead_id for x in timers} | {a.lead_id for a in assignments}
    leads = list(session.scalars(select(t.Lead).where(t.Lead.id.in_(lead_ids))))
    users = list(
        session.scalars(select(t.User).where(t.User.id.in_({a.user_id for a in assignments})))
    )
    teams = list(
        session.scalars(
            select(t.Team).where(t.Team.id.in_({u.team_id for u in users if u.team_id}))
        )
    )
    managers = {m.manager_id for m in teams if m.manager_id}
    bosses = list(session.scalars(select(t.User).where(t.User.id.in_(managers))))
    return [*assignments, *leads, *users, *teams, *bosses]


def _name(user: t.User | None) -> str:
    return "nobody" if user is None else (user.email or user.name)


def due_now(session: Session, now: dt.datetime) -> int:
    """How many timers are due and pending at ``now`` (for status output)."""
    from sqlalchemy import func

    return int(
        session.scalar(
            select(func.count())
            .select_from(t.SlaTimer)
            .where(t.SlaTimer.status == "pending", t.SlaTimer.due_at <= now)
        )
        or 0
    )
