"""What an import produces before anything is written: typed records keyed by their source id.

A preset reads files into an :class:`ImportBundle`; :func:`baton.store.bulk.write_bundle`
writes a bundle in one transaction. References between records (a lead's account, a deal's
owner) are the other record's ``external_id`` in the same source. ``origin`` says where a
record was read (``deals.csv row 12``) so later checks can name the row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from baton.errors import Problem


@dataclass(frozen=True)
class StageStep:
    """One move in a record's history: into stage ``to`` at ``at``."""

    to: str
    at: dt.datetime
    actor: str = "import"
    reason: str | None = None


@dataclass
class TeamIn:
    external_id: str
    name: str
    region: str | None = None
    manager: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class UserIn:
    external_id: str
    name: str
    email: str | None = None
    role: str = "sales"
    team: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class AccountIn:
    external_id: str
    name: str
    domain: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: Decimal | None = None
    country: str | None = None
    owner: str | None = None
    parent: str | None = None
    created_at: dt.datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class ContactIn:
    external_id: str
    account: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    phone: str | None = None
    country: str | None = None
    created_at: dt.datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class CampaignIn:
    external_id: str
    name: str
    channel: str | None = None
    started_on: dt.date | None = None
    ended_on: dt.date | None = None
    budget: Decimal | None = None
    currency: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class SpendIn:
    """Marketing spend in one month (``month`` is its first day) on a channel.

    ``campaign`` names a campaign of the same source by external id or, failing that, by name.
    """

    external_id: str
    channel: str
    month: dt.date
    amount: Decimal
    campaign: str | None = None
    currency: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class LeadIn:
    external_id: str
    created_at: dt.datetime
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    title: str | None = None
    country: str | None = None
    channel: str | None = None
    contact: str | None = None
    account: str | None = None
    owner: str | None = None
    score: float | None = None
    history: list[StageStep] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class TouchIn:
    external_id: str
    channel: str
    occurred_at: dt.datetime
    touch_type: str = "visit"
    lead: str | None = None
    contact: str | None = None
    account: str | None = None
    campaign: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    utm_term: str | None = None
    utm_content: str | None = None
    landing_page: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class ActivityIn:
    external_id: str
    kind: str
    occurred_at: dt.datetime
    direction: str | None = None
    lead: str | None = None
    contact: str | None = None
    account: str | None = None
    opportunity: str | None = None
    user: str | None = None
    outcome: str | None = None
    subject: str | None = None
    body: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class OpportunityIn:
    external_id: str
    stage: str
    name: str | None = None
    account: str | None = None
    lead: str | None = None
    contact: str | None = None
    owner: str | None = None
    amount: Decimal | None = None
    currency: str = "USD"
    probability: float | None = None
    product: str | None = None
    created_at: dt.datetime | None = None
    close_date: dt.date | None = None
    closed_at: dt.datetime | None = None
    history: list[StageStep] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass
class ImportBundle:
    """Everything one import read, with the problems it found, ready to be checked and written."""

    source: str
    teams: list[TeamIn] = field(default_factory=list)
    users: list[UserIn] = field(default_factory=list)
    accounts: list[AccountIn] = field(default_factory=list)
    contacts: list[ContactIn] = field(default_factory=list)
    campaigns: list[CampaignIn] = field(default_factory=list)
    spend: list[SpendIn] = field(default_factory=list)
    leads: list[LeadIn] = field(default_factory=list)
    touchpoints: list[TouchIn] = field(default_factory=list)
    activities: list[ActivityIn] = field(default_factory=list)
    opportunities: list[OpportunityIn] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    def size(self) -> int:
        return sum(
            len(getattr(self, name))
            for name in (
                "teams", "users", "accounts", "contacts", "campaigns", "spend",
                "leads", "touchpoints", "activities", "opportunities",
            )
        )
