"""Pure rules: lifecycle transitions and the records they produce, and the business-hours SLA
clock. No SQL, HTTP or CLI here."""

from baton.domain.business_hours import BusinessClock
from baton.domain.lifecycle import Lifecycle
from baton.domain.model import Clock, Lead, Opportunity, StageChange, Subject, system_clock

__all__ = [
    "BusinessClock",
    "Clock",
    "Lead",
    "Lifecycle",
    "Opportunity",
    "StageChange",
    "Subject",
    "system_clock",
]
