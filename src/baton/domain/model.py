"""Domain records: plain frozen dataclasses, free of any database, web or CLI library."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

#: A clock is passed in wherever time matters, so rules and tests never read global time.
Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """The current time in UTC; the clock entry points pass down."""
    return dt.datetime.now(dt.UTC)


class Subject(StrEnum):
    """What moved: a lead through the lifecycle or an opportunity through the pipeline."""

    LEAD = "lead"
    OPPORTUNITY = "opportunity"


@dataclass(frozen=True)
class StageChange:
    """One append-only entry of the stage log: who moved what, from where to where, when, why,
    and under which contract version."""

    subject: Subject
    subject_id: int | None
    from_stage: str | None
    to_stage: str
    at: dt.datetime
    actor: str
    contract_version: int | None
    reason: str | None = None


@dataclass(frozen=True)
class Lead:
    """A person in the funnel: where they stand and since when."""

    id: int | None
    stage: str | None
    stage_entered_at: dt.datetime | None
    email: str | None = None
    company: str | None = None
    owner_id: int | None = None
    score: float | None = None
    properties: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Opportunity:
    """A deal in the pipeline. ``probability`` is a person's estimate, never a model's score."""

    id: int | None
    stage: str
    amount: Decimal | None
    currency: str
    owner_id: int | None = None
    probability: float | None = None
    close_date: dt.date | None = None
