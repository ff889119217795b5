"""Use case: move a lead to another stage under the contract in force."""

from __future__ import annotations

import datetime as dt

from baton.domain.model import Clock, StageChange
from baton.service.contracts import contract_in_force
from baton.store.repositories import LeadRepository
from baton.store.uow import UnitOfWork


def move_lead(
    uow: UnitOfWork,
    lead_id: int,
    to: str,
    *,
    actor: str,
    clock: Clock,
    at: dt.datetime | None = None,
    reason: str | None = None,
) -> StageChange:
    """Move lead ``lead_id`` to stage ``to`` and log it with the contract version in force.

    ``at`` defaults to now by ``clock``; the contract version used is the one in force at
    ``at``. Raises :class:`~baton.errors.InvalidTransition` when the contract refuses the move
    and :class:`~baton.errors.NotFound` when there is no such lead. The caller commits.
    """
    when = at or clock()
    applied = contract_in_force(uow.session, when)
    leads = LeadRepository(uow.session)
    lead = leads.get(lead_id)
    moved, change = applied.lifecycle().move(lead, to, at=when, actor=actor, reason=reason)
    leads.record_move(moved, change, applied.version_id)
    return change
