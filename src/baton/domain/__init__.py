"""Pure rules: lifecycle transitions and the records they produce. No SQL, HTTP or CLI here."""

from baton.domain.lifecycle import Lifecycle
from baton.domain.model import Clock, Lead, Opportunity, StageChange, Subject, system_clock

__all__ = ["Clock", "Lead", "Lifecycle", "Opportunity", "StageChange", "Subject", "system_clock"]
