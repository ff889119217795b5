"""Use cases of sales on a lead they were handed: accept, reject, log an attempt or a connect.

Each takes a unit of work, a clock and plain arguments, does its work in the caller's
transaction and returns a small :class:`HandoffResult`; the CLI and the API call these.

* **accept** moves the lead to the SQL stage through the contract's lifecycle (the SQL rule's
  required fields must be filled) and closes the assignment: its SLA timers stop.
* **reject** needs a reason code from the contract's ``rejection_reasons``; the lead goes back
  to marketing (the first stage of kind ``recycled``) with the code as the stage change's
  reason, so marketing sees why, and the assignment closes.
* **attempt** and **connect** log an activity (a call by default) by the rep. The first one
  stops the first-touch clock (its reminder and breach timers are cancelled); every one counts
  toward the attempts term.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from baton.contract.model import Contract, StageKind
from baton.domain.escalation import BREACH, REMINDER
from baton.domain.lifecycle import Lifecycle
from baton.domain.model import Clock
from baton.errors import InvalidInput
from baton.service.contracts import contract_in_force
from baton.service.notify import enqueue, lead_label
from baton.service.routing import open_assignment
from baton.store import handoff as store
from baton.store import tables as t
from baton.store.repositories import LeadRepository
from baton.store.uow import UnitOfWork

#: Activity kinds a follow-up may be logged as; all count as touches in ``baton sla``.
TOUCH_KINDS = ("call", "email", "meeting")


@dataclass(frozen=True)
class HandoffResult:
    """What a sales action did to a lead."""

    lead_id: int
    action: str
    at: dt.datetime
    by: str | None
    stage_from: str | None
    stage_to: str | None
    assignment_id: int | None = None
    assignment_status: str | None = None
    reason: str | None = None
    attempts: int | None = None
    first_touch: bool = False
    timers_cancelled: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "action": self.action,
            "at": self.at.isoformat(),
            "by": self.by,
            "stage_from": self.stage_from,
            "stage_to": self.stage_to,
            "assignment_id": self.assignment_id,
            "assignment_status": self.assignment_status,
            "reason": self.reason,
            "attempts": self.attempts,
            "first_touch": self.first_touch,
            "timers_cancelled": self.timers_cancelled,
        }


def _actor(session: Session, lead: t.Lead, by: str | None) -> t.User | None:
    """The rep acting: the one named by email, else the lead's owner."""
    if by:
        return store.user_by_email(session, by)
    return session.get(t.User, lead.owner_id) if lead.owner_id else None


def _label(user: t.User | None) -> str | None:
    return None if user is None else (user.email or user.name)


def cancel_timers(
    session: Session, assignment_id: int, kinds: tuple[str, ...] | None, now: dt.datetime
) -> int:
    """Cancel the assignment's pending timers (of ``kinds``, or all); return how many."""
    statement = update(t.SlaTimer).where(
        t.SlaTimer.assignment_id == assignment_id, t.SlaTimer.status == "pending"
    )
    if kinds is not None:
        statement = statement.where(t.SlaTimer.kind.in_(kinds))
    done = session.execute(
        statement.values(
            status="cancelled",
            done_at=now,
            result={"cancelled": "work on the lead stopped the clock"},
        )
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def _close(
    session: Session,
    assignment: t.Assignment | None,
    status: str,
    now: dt.datetime,
    user: t.User | None,
    reason: str | None,
    note: str | None,
) -> int:
    if assignment is None:
        return 0
    assignment.status = status
    assignment.closed_at = now
    assignment.closed_by_id = user.id if user else None
    assignment.close_reason = reason
    assignment.close_note = note
    return cancel_timers(session, assignment.id, None, now)


def _move(
    session: Session,
    lead: t.Lead,
    to: str,
    *,
    lifecycle: Lifecycle,
    version_id: int,
    at: dt.datetime,
    actor: str,
    reason: str | None,
) -> None:
    leads = LeadRepository(session)
    moved, change = lifecycle.move(leads.get(lead.id), to, at=at, actor=actor, reason=reason)
    leads.record_move(moved, change, version_id)


def accept_lead(
    uow: UnitOfWork, lead_id: int, *, clock: Clock, by: str | None = None, note: str | None = None
) -> HandoffResult:
    """Sales accepts the lead: it moves to the SQL stage and its assignment closes.

    Raises :class:`~baton.errors.InvalidInput` when a field the SQL rule requires is empty,
    :class:`~baton.errors.InvalidTransition` when the lifecycle refuses the move (for example
    a lead already past SQL), :class:`~baton.errors.NotFound` for an unknown lead or rep.
    """
    session, now = uow.session, clock()
    applied = contract_in_force(session, now)
    contract = applied.contract
    lead = store.lock_lead(session, lead_id)
    user = _actor(session, lead, by)
    missing = _missing(contract, lead)
    if missing:
        raise InvalidInput(
            f"lead {lead_id} cannot be accepted as {contract.sql_stage.key}: "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} empty and "
            "qualification.sql.required_fields needs them; fill them in first"
        )
    before = lead.stage
    _move(
        session,
        lead,
        contract.sql_stage.key,
        lifecycle=applied.lifecycle(),
        version_id=applied.version_id,
        at=now,
        actor=_actor_name(user),
        reason=note,
    )
    assignment = open_assignment(session, lead_id)
    cancelled = _close(session, assignment, "accepted", now, user, None, note)
    return HandoffResult(
        lead_id,
        "accept",
        now,
        _label(user),
        before,
        contract.sql_stage.key,
        assignment.id if assignment else None,
        "accepted" if assignment else None,
        note,
        assignment.attempts if assignment else None,
        timers_cancelled=cancelled,
    )


def _missing(contract: Contract, lead: t.Lead) -> list[str]:
    out = []
    for name in contract.qualification.sql.required_fields:
        value = getattr(lead, name, None) if name in t.Lead.__table__.c else None
        if value is None:
            value = (lead.properties or {}).get(name)
        if value is None or str(value).strip() == "":
            out.append(name)
    return out


def _actor_name(user: t.User | None) -> str:
    return f"rep:{user.email or user.id}" if user is not None else "sales"


def reject_lead(
    uow: UnitOfWork,
    lead_id: int,
    reason: str,
    *,
    clock: Clock,
    by: str | None = None,
    note: str | None = None,
) -> HandoffResult:
    """Sales rejects the lead with a reason code: it goes back to marketing (recycled).

    ``reason`` must be a key of the contract's ``rejection_reasons``; an unknown code raises
    :class:`~baton.errors.InvalidInput` naming the known ones. The code is the stage change's
    reason; ``note`` is kept on the assignment.
    """
    session, now = uow.session, clock()
    applied = contract_in_force(session, now)
    contract = applied.contract
    known = {r.key: r.label for r in contract.rejection_reasons}
    if reason not in known:
        listed = (
            ", ".join(f"{k} ({v})" for k, v in known.items()) or "none; add [[rejection_reasons]]"
        )
        raise InvalidInput(
            f'"{reason}" is not a rejection reason of the contract; use one of: {listed}'
        )
    recycled = contract.stages_of_kind(StageKind.RECYCLED)
    if not recycled:
        raise InvalidInput(
            'the contract has no stage of kind "recycled" to send rejected leads back to; add one'
        )
    lead = store.lock_lead(session, lead_id)
    user = _actor(session, lead, by)
    before = lead.stage
    _move(
        session,
        lead,
        recycled[0].key,
        lifecycle=applied.lifecycle(),
        version_id=applied.version_id,
        at=now,
        actor=_actor_name(user),
        reason=reason,
    )
    assignment = open_assignment(session, lead_id)
    cancelled = _close(session, assignment, "rejected", now, user, reason, note)
    enqueue(
        session,
        topic="rejected",
        now=now,
        lead_id=lead.id,
        channels=["webhook"],
        subject=f"Rejected: {lead_label(lead)}",
        text=f"{_label(user) or 'Sales'} rejected {lead_label(lead)}: {known[reason]} ({reason})"
        + (f" - {note}" if note else "")
        + f". Back to marketing as {recycled[0].label}.",
    )
    return HandoffResult(
        lead_id,
        "reject",
        now,
        _label(user),
        before,
        recycled[0].key,
        assignment.id if assignment else None,
        "rejected" if assignment else None,
        reason,
        assignment.attempts if assignment else None,
        timers_cancelled=cancelled,
    )


def log_attempt(
    uow: UnitOfWork,
    lead_id: int,
    *,
    clock: Clock,
    by: str | None = None,
    kind: str = "call",
    connected: bool = False,
    note: str | None = None,
) -> HandoffResult:
    """Log a follow-up attempt (or, with ``connected``, a conversation) on the lead.

    The activity is stored for the rep (``by``, else the lead's owner). The first one on the
    open assignment stops the first-touch clock; each counts as an attempt.
    """
    if kind not in TOUCH_KINDS:
        raise InvalidInput(
            f'"{kind}" is not a follow-up kind; use one of: {", ".join(TOUCH_KINDS)}'
        )
    session, now = uow.session, clock()
    lead = store.lock_lead(session, lead_id)
    user = _actor(session, lead, by)
    action = "connect" if connected else "attempt"
    session.add(
        t.Activity(
            source="baton",
            external_id=f"{action}-{uuid.uuid4().hex}",
            properties={},
            kind=kind,
            direction="outbound",
            lead_id=lead.id,
            contact_id=lead.contact_id,
            account_id=lead.account_id,
            user_id=user.id if user else None,
            occurred_at=now,
            outcome="connected" if connected else "attempted",
            body=note,
        )
    )
    assignment = open_assignment(session, lead_id)
    first = False
    cancelled = 0
    if assignment is not None:
        assignment.attempts += 1
        if assignment.first_touch_at is None:
            first = True
            assignment.first_touch_at = now
            cancelled = cancel_timers(session, assignment.id, (REMINDER, BREACH), now)
        if connected and assignment.connected_at is None:
            assignment.connected_at = now
    return HandoffResult(
        lead_id,
        action,
        now,
        _label(user),
        lead.stage,
        lead.stage,
        assignment.id if assignment else None,
        assignment.status if assignment else None,
        note,
        assignment.attempts if assignment else None,
        first,
        cancelled,
    )


def log_connect(
    uow: UnitOfWork,
    lead_id: int,
    *,
    clock: Clock,
    by: str | None = None,
    kind: str = "call",
    note: str | None = None,
) -> HandoffResult:
    """Log a follow-up that reached the person: :func:`log_attempt` with ``connected``."""
    return log_attempt(uow, lead_id, clock=clock, by=by, kind=kind, connected=True, note=note)
