"""The operational store's tables (SQLAlchemy 2.0, typed declarative).

Every business record carries ``source`` and ``external_id``: the system it came from and its
id there, unique together, so imports and events upsert instead of duplicating. The stage log
(``stage_changes``) and the score log (``lead_scores``) are append-only: the migrations install
triggers that refuse updates and deletes on them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from baton.store.types import JSONDict, JSONList, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids on PostgreSQL; SQLite's rowid alias must be plain INTEGER to autoincrement.
Id = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(18, 2, asdecimal=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSONDict(),
        Decimal: Money,
    }


class Sourced:
    """Columns every imported record shares: where it came from and its id there."""

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(200))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)


def _sourced_unique(table: str) -> UniqueConstraint:
    return UniqueConstraint("source", "external_id", name=f"uq_{table}_source_external_id")


class ContractVersion(Base):
    """An applied contract: its text, fingerprint and the moment it starts to count."""

    __tablename__ = "contract_versions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    effective_at: Mapped[dt.datetime]
    applied_at: Mapped[dt.datetime]
    digest: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")


class Team(Sourced, Base):
    __tablename__ = "teams"
    __table_args__ = (_sourced_unique("teams"),)

    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(100))
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, name="fk_teams_manager_id_users")
    )


class User(Sourced, Base):
    """A person who works leads and deals: a rep, an SDR, a manager, a marketer."""

    __tablename__ = "users"
    __table_args__ = (_sourced_unique("users"),)

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(40), default="sales")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Account(Sourced, Base):
    __tablename__ = "accounts"
    __table_args__ = (_sourced_unique("accounts"), Index("ix_accounts_domain", "domain"))

    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(253))
    industry: Mapped[str | None] = mapped_column(String(100))
    employees: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[Decimal | None]
    country: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime | None]


class Contact(Sourced, Base):
    __tablename__ = "contacts"
    __table_args__ = (_sourced_unique("contacts"), Index("ix_contacts_email", "email"))

    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime | None]
    #: How ``account_id`` was found (``group``, ``website``, ``email-domain``, ``company-name``)
    #: and how sure that rule is (0 to 1); empty when it was imported as given.
    account_match_rule: Mapped[str | None] = mapped_column(String(40))
    account_match_confidence: Mapped[float | None] = mapped_column(Float)


class Campaign(Sourced, Base):
    __tablename__ = "campaigns"
    __table_args__ = (_sourced_unique("campaigns"),)

    name: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str | None] = mapped_column(String(100))
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    budget: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))


class CampaignSpend(Sourced, Base):
    """Marketing money spent in one calendar month, on a channel and optionally one campaign.

    ``month`` is the first day of the month. CAC divides this spend by new customers.
    """

    __tablename__ = "campaign_spend"
    __table_args__ = (
        _sourced_unique("campaign_spend"),
        Index("ix_campaign_spend_month", "month"),
    )

    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    channel: Mapped[str] = mapped_column(String(100))
    month: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal]
    currency: Mapped[str | None] = mapped_column(String(3))


class Lead(Sourced, Base):
    """A person in the funnel. ``stage`` is the current stage; the log in ``stage_changes``
    is the history it was derived from."""

    __tablename__ = "leads"
    __table_args__ = (
        _sourced_unique("leads"),
        Index("ix_leads_email", "email"),
        Index("ix_leads_stage", "stage"),
    )

    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(100))
    stage: Mapped[str | None] = mapped_column(String(64))
    stage_entered_at: Mapped[dt.datetime | None]
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    score: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime]
    #: How ``account_id`` was matched and how sure the rule is; see :class:`Contact`.
    account_match_rule: Mapped[str | None] = mapped_column(String(40))
    account_match_confidence: Mapped[float | None] = mapped_column(Float)


class Touchpoint(Sourced, Base):
    """A marketing touch: a visit, a form, an ad click, an email open, an event attended."""

    __tablename__ = "touchpoints"
    __table_args__ = (
        _sourced_unique("touchpoints"),
        Index("ix_touchpoints_lead_id_occurred_at", "lead_id", "occurred_at"),
        Index("ix_touchpoints_account_id_occurred_at", "account_id", "occurred_at"),
    )

    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    channel: Mapped[str] = mapped_column(String(100))
    touch_type: Mapped[str] = mapped_column(String(40), default="visit")
    utm_source: Mapped[str | None] = mapped_column(String(200))
    utm_medium: Mapped[str | None] = mapped_column(String(200))
    utm_campaign: Mapped[str | None] = mapped_column(String(200))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    landing_page: Mapped[str | None] = mapped_column(String(500))
    occurred_at: Mapped[dt.datetime]


class Activity(Sourced, Base):
    """Sales work: a call, email, meeting, note or task, with its outcome."""

    __tablename__ = "activities"
    __table_args__ = (
        _sourced_unique("activities"),
        Index("ix_activities_lead_id_occurred_at", "lead_id", "occurred_at"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str | None] = mapped_column(String(10))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[dt.datetime]
    outcome: Mapped[str | None] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)


class Opportunity(Sourced, Base):
    """A deal. ``probability`` is a person's estimate; model scores live elsewhere."""

    __tablename__ = "opportunities"
    __table_args__ = (
        _sourced_unique("opportunities"),
        Index("ix_opportunities_account_id", "account_id"),
        Index("ix_opportunities_stage", "stage"),
    )

    name: Mapped[str | None] = mapped_column(String(300))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stage: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    probability: Mapped[float | None] = mapped_column(Float)
    product: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime | None]
    close_date: Mapped[dt.date | None] = mapped_column(Date)
    closed_at: Mapped[dt.datetime | None]


class StageChangeRow(Base):
    """One entry of the append-only stage log, naming the contract version that allowed it."""

    __tablename__ = "stage_changes"
    __table_args__ = (
        Index("ix_stage_changes_subject_subject_id_at", "subject", "subject_id", "at"),
        Index("ix_stage_changes_to_stage_at", "to_stage", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Id)
    from_stage: Mapped[str | None] = mapped_column(String(64))
    to_stage: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    contract_version_id: Mapped[int | None] = mapped_column(ForeignKey("contract_versions.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    recorded_at: Mapped[dt.datetime]


class LeadScoreRow(Base):
    """One entry of the append-only score log: a lead's score under one model at one time.

    ``model_version`` fingerprints the model's definition (it changes only when the model's
    rules do); ``contract_version_id`` is the contract version the model was read from.
    ``breakdown`` holds the lines the score is made of, which sum to ``score``. ``leads.score``
    holds the latest score written.
    """

    __tablename__ = "lead_scores"
    __table_args__ = (Index("ix_lead_scores_lead_id_id", "lead_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    model_key: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    contract_version_id: Mapped[int | None] = mapped_column(ForeignKey("contract_versions.id"))
    scored_at: Mapped[dt.datetime]
    score: Mapped[float] = mapped_column(Float)
    fit: Mapped[float] = mapped_column(Float)
    engagement: Mapped[float] = mapped_column(Float)
    breakdown: Mapped[list[Any]] = mapped_column(JSONList())
    recorded_at: Mapped[dt.datetime]


class ImportRun(Base):
    """A finished import: what was read, its fingerprint and what it wrote."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    preset: Mapped[str] = mapped_column(String(40))
    files: Mapped[dict[str, Any]]
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime]
    counts: Mapped[dict[str, Any]]


# -- handoff: routing decisions, assignments, SLA timers, the outbox, rep availability ----------
class RoutingDecision(Base):
    """Why a lead went to a rep (or to nobody), as decided at ``at``; append-only.

    ``reason`` holds the whole decision (:meth:`baton.domain.routing.Decision.as_dict`), so
    "why did I get this lead?" is answered from the log, whatever the rules say today.
    """

    __tablename__ = "routing_decisions"
    __table_args__ = (Index("ix_routing_decisions_lead_id_at", "lead_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rule: Mapped[str | None] = mapped_column(String(80))
    trigger: Mapped[str] = mapped_column(String(20))
    reason_text: Mapped[str] = mapped_column(Text)
    reason: Mapped[dict[str, Any]]
    contract_version_id: Mapped[int | None] = mapped_column(ForeignKey("contract_versions.id"))
    at: Mapped[dt.datetime]


class Assignment(Base):
    """A lead in a rep's hands, from routing until accepted, rejected or handed on.

    ``status`` is ``open``, ``accepted``, ``rejected`` or ``reassigned``; at most one open
    assignment per lead. ``sla_start`` is when the first-touch clock started.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_user_id_status", "user_id", "status"),
        Index("ix_assignments_user_id_assigned_at", "user_id", "assigned_at"),
        Index(
            "uq_assignments_open_lead",
            "lead_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision_id: Mapped[int] = mapped_column(ForeignKey("routing_decisions.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    assigned_at: Mapped[dt.datetime]
    sla_start: Mapped[dt.datetime]
    first_touch_due: Mapped[dt.datetime]
    first_touch_at: Mapped[dt.datetime | None]
    connected_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    handoffs: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[dt.datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(64))
    close_note: Mapped[str | None] = mapped_column(Text)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class RoundRobinCursor(Base):
    """The smooth weighted round-robin state of one pool: each rep's current, by user id."""

    __tablename__ = "round_robin"

    pool: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime]


class SlaTimer(Base):
    """A moment the SLA clock acts: ``reminder``, ``breach``, ``attempts`` or ``route``.

    ``status``: ``pending`` until claimed, ``running`` while a worker (``locked_by``) holds it,
    then ``done``, ``cancelled`` (nothing left to do) or ``failed``. ``result`` says what it did.
    """

    __tablename__ = "sla_timers"
    __table_args__ = (
        Index("ix_sla_timers_status_due_at", "status", "due_at"),
        Index("ix_sla_timers_assignment_id", "assignment_id"),
        Index("ix_sla_timers_lead_id", "lead_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignments.id"))
    kind: Mapped[str] = mapped_column(String(20))
    share: Mapped[float | None] = mapped_column(Float)
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDict())
    created_at: Mapped[dt.datetime]
    done_at: Mapped[dt.datetime | None]


class OutboxMessage(Base):
    """A notification written in the same transaction as what it announces, sent by the worker.

    ``kind`` is ``email`` (to ``recipient``) or ``webhook`` (to ``BATON_WEBHOOK_URL``);
    ``payload`` holds ``subject`` and ``text``. ``status``: ``pending``, ``sending`` (claimed),
    ``sent``, ``failed`` (out of attempts) or ``skipped`` (the channel is not configured).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_try_at", "status", "next_try_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str | None] = mapped_column(String(320))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[dt.datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]


class RepAvailability(Base):
    """A rep's own routing settings: weight, caps, working hours and time zone.

    Empty values fall back to the contract (``[routing]`` caps, ``[business_hours]``).
    ``days`` is comma-separated (``mon,tue,wed``).
    """

    __tablename__ = "rep_availability"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    max_open: Mapped[int | None] = mapped_column(Integer)
    max_per_day: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str | None] = mapped_column(String(64))
    days: Mapped[str | None] = mapped_column(String(40))
    start: Mapped[str | None] = mapped_column(String(5))
    end: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[dt.datetime]


class RepTimeOff(Base):
    """Days a rep is out of office, ``starts_on`` to ``ends_on`` inclusive, in their time zone."""

    __tablename__ = "rep_time_off"
    __table_args__ = (Index("ix_rep_time_off_user_id_ends_on", "user_id", "ends_on"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")


class AttributionSnapshot(Base):
    """One attribution model's result, as computed at ``created_at``, for reports to read.

    ``parameters`` holds what the result depends on besides the columns: the model's own
    parameters (half-life, weights, direct channels) and the journeys' lookback. The credit per
    channel or campaign is in ``attribution_credits``.
    """

    __tablename__ = "attribution_snapshots"
    __table_args__ = (
        Index(
            "ix_attribution_snapshots_model_outcome_level", "model", "outcome", "level", "by",
            "created_at",
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]]
    outcome: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(20))
    by: Mapped[str] = mapped_column(String(20))
    period: Mapped[str | None] = mapped_column(String(20))
    period_start: Mapped[dt.datetime | None]
    period_end: Mapped[dt.datetime | None]
    engine: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime]
    journeys: Mapped[int] = mapped_column(BigInteger)
    conversions: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    nulls: Mapped[float] = mapped_column(Float)
    conversions_residual: Mapped[float] = mapped_column(Float)
    value_residual: Mapped[float] = mapped_column(Float)


class AttributionCredit(Base):
    """The credit one channel (or campaign) got in an attribution snapshot."""

    __tablename__ = "attribution_credits"
    __table_args__ = (UniqueConstraint("snapshot_id", "channel"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("attribution_snapshots.id", ondelete="CASCADE")
    )
    channel: Mapped[str] = mapped_column(String(300))
    conversions: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)


# Email lookups from events compare lower-cased addresses; imports keep them as written.
Index("ix_leads_email_lower", func.lower(Lead.email))
Index("ix_contacts_email_lower", func.lower(Contact.email))


class ApiToken(Base):
    """An API token: its name, scopes and the SHA-256 of its secret (never the secret itself).

    ``scopes`` is a space-separated subset of ``ingest read write admin``. A revoked token
    keeps its row (``revoked_at`` set) so events it sent still name it.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class Profile(Base):
    """A person as the events know them: one or more identities, and once an email is known,
    the lead, contact and account they stand for. Merged profiles are deleted after their
    identities and events move to the profile they joined."""

    __tablename__ = "profiles"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[dt.datetime]


class Identity(Base):
    """One identifier of a profile: an ``anonymous_id``, a ``user_id`` or an ``email``."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("kind", "value", name="uq_identities_kind_value"),
        Index("ix_identities_profile_id", "profile_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(320))
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id"))
    created_at: Mapped[dt.datetime]


class Event(Base):
    """One event as received (Segment identify, track, page, screen, group, alias, or a lead
    form), stored before it is acknowledged. ``message_id`` is unique: a retried event is stored
    once. ``timestamp`` is corrected for the sender's clock; ``original_timestamp`` is as sent."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_profile_id", "profile_id"),
        Index("ix_events_lead_id_timestamp", "lead_id", "timestamp"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    event: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(200))
    anonymous_id: Mapped[str | None] = mapped_column(String(200))
    group_id: Mapped[str | None] = mapped_column(String(200))
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profiles.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    timestamp: Mapped[dt.datetime]
    original_timestamp: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    received_at: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]]


APPEND_ONLY_TABLES = ("stage_changes", "routing_decisions", "lead_scores")


class WebLogin(Base):
    """A person who signs in to the dashboard: their role there and an argon2 password hash.

    Every login is a row of ``users`` (``user_id``): a rep imported from the CRM signs in as
    that rep, so "my leads" are the leads the CRM gives them. ``role`` is the dashboard role
    (``admin``, ``marketing``, ``sales``, ``sales-manager``, ``viewer``), kept apart from
    ``users.role``, which is what the CRM says the person does.
    """

    __tablename__ = "web_logins"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    disabled_at: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]


class WebSession(Base):
    """A signed-in browser. The cookie holds a random secret; the row keeps only its SHA-256
    (``id``), so a copy of the database signs nobody in. ``csrf_token`` is the token every form
    and htmx request of this session must send back."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_login_id", "login_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    login_id: Mapped[int] = mapped_column(ForeignKey("web_logins.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
