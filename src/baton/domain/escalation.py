"""When the SLA clock of an assignment acts: reminders, the breach and the attempts check.

The first-touch clock runs in business hours from the moment a rep gets the lead:
``sla.sales.first_touch_hours`` of open time later it breaches, and each share in
``routing.escalation.reminders`` of that time reminds the owner first. The attempts window
closes at the end of the ``sla.sales.attempts_within_days``-th working day, counting as day 1
the first working day that closes after the lead was assigned (the same count ``baton sla``
uses). Pure arithmetic on :class:`~baton.domain.business_hours.BusinessClock`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from baton.contract.model import Contract
from baton.domain.business_hours import BusinessClock

REMINDER, BREACH, ATTEMPTS, ROUTE = "reminder", "breach", "attempts", "route"


@dataclass(frozen=True)
class TimerPlan:
    """One timer to create: its kind, the share of the SLA time it marks, and when it fires."""

    kind: str
    due_at: dt.datetime
    share: float | None = None


def first_touch_due(contract: Contract, clock: BusinessClock, start: dt.datetime) -> dt.datetime:
    """When the first touch is due for a lead assigned at ``start``."""
    return clock.add(start, dt.timedelta(hours=contract.sla.sales.first_touch_hours))


def attempts_due(clock: BusinessClock, start: dt.datetime, days: int) -> dt.datetime:
    """The close of the ``days``-th working day that closes after ``start``."""
    span = dt.timedelta(days=days * 2 + 14)
    while True:  # holidays may push it further; widen until the day is in reach
        closes = clock.working_days(start, start + span)[1]
        later = [
            c for c in closes.astype("datetime64[us]").tolist() if c.replace(tzinfo=dt.UTC) > start
        ]
        if len(later) >= days:
            due: dt.datetime = later[days - 1].replace(tzinfo=dt.UTC)
            return due
        span *= 2


def plan_timers(contract: Contract, clock: BusinessClock, start: dt.datetime) -> list[TimerPlan]:
    """The timers of an assignment made at ``start``, in the order they fire."""
    hours = dt.timedelta(hours=contract.sla.sales.first_touch_hours)
    escalation = contract.routing.escalation
    plans = [
        TimerPlan(REMINDER, clock.add(start, hours * share), share)
        for share in escalation.reminders
    ]
    plans.append(TimerPlan(BREACH, clock.add(start, hours), 1.0))
    if escalation.check_attempts:
        plans.append(
            TimerPlan(ATTEMPTS, attempts_due(clock, start, contract.sla.sales.attempts_within_days))
        )
    return sorted(plans, key=lambda p: p.due_at)
