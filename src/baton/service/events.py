"""Use case: store events and derive people, touches and accounts from them, in one transaction.

For a request's messages, in order:

1. Messages whose ``messageId`` is already stored (or repeated in the request) are skipped:
   a retry stores nothing twice and gets the same answer.
2. Each new message is stitched to a profile (:mod:`baton.service.stitching`). A message that
   carries an email address (identify traits, a form's fields, track properties or
   ``context.traits``) ties its profile to that person's contact and lead, creating them when
   no lead or contact has that address; the lead enters the contract's first open stage (a
   form may name another), logged in the stage log.
3. Identify and form messages fill the lead's and contact's empty fields (name, company,
   title, phone, country) and match the account (:mod:`baton.ingest.identity`); a group call
   creates or updates the account (source ``events``, id ``groupId``) and ties the person to it.
4. Track, page and screen calls and forms become touchpoints (source ``events``, id the
   ``messageId``) with a channel (:mod:`baton.ingest.channels`) and the campaign whose name
   is the ``utm_campaign``.
5. The events are stored with their profile and lead; earlier events of a profile that just
   got its lead are moved onto it, and a lead without a channel takes its first touch's.
6. :func:`baton.service.hooks.on_events_stored` runs once, with every lead that got events.

The caller commits. Nothing here is specific to HTTP: the Segment routes, the lead form route
and tests call :func:`ingest` alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baton.contract import StageKind
from baton.domain.model import Clock, Lead, StageChange
from baton.errors import InvalidInput, NotFound
from baton.ingest.channels import channel_for
from baton.ingest.identity import AccountIndex, AccountMatch, match_account, normalise_domain
from baton.ingest.messages import (
    ANONYMOUS_ID,
    EMAIL,
    USER_ID,
    Message,
    email_of,
    person_fields,
    touch_facts,
    touch_kind,
    touch_type,
)
from baton.service import hooks
from baton.service.accounts import AccountDirectory
from baton.service.contracts import AppliedContract, contract_in_force, first_contract
from baton.service.stitching import Key, ProfileState, StitchGraph
from baton.store import events as store
from baton.store import tables as t
from baton.store.uow import UnitOfWork

Hook = Callable[[UnitOfWork, Sequence[int], Clock], None]
ACTOR = "events"


@dataclass
class IngestResult:
    """What a request stored: counts, and the lead each stored message ended on."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    lead_of: dict[str, int | None] = field(default_factory=dict)
    created_leads: list[int] = field(default_factory=list)
    leads: list[int] = field(default_factory=list)
    new_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Reading:
    """What derivation reads off one message alone, whatever the store holds: its email
    address, and the columns of its touchpoint (none for identify, group and alias calls)
    but the person's ids and the campaign's. Worked out before a request waits for the write
    (:func:`read_messages`), so the transaction spends none of its time on it."""

    email: str | None
    touch: dict[str, Any] | None
    campaign: str | None  # the utm_campaign, for the campaign of that name


def read_message(m: Message) -> Reading:
    """The :class:`Reading` of ``m``."""
    kind = touch_type(m)
    if kind is None:
        return Reading(email_of(m), None, None)
    campaign, url, referrer, clicks = touch_facts(m)
    properties: dict[str, Any] = {"type": m.type}
    if m.event:
        properties["event"] = m.event
    if referrer:
        properties["referrer"] = referrer[:500]
    if m.type == "lead" and m.properties.get("form"):
        properties["form"] = m.properties["form"]
    channel = channel_for(campaign, url=url, referrer=referrer, click_ids=clicks)
    touch = {
        "source": store.SOURCE,
        "external_id": m.message_id,
        "properties": properties,
        "channel": channel,
        "touch_type": touch_kind(m, kind, channel),
        "utm_source": campaign.source,
        "utm_medium": campaign.medium,
        "utm_campaign": campaign.name,
        "utm_term": campaign.term,
        "utm_content": campaign.content,
        "landing_page": url[:500] if url else None,
        "occurred_at": m.timestamp,
    }
    return Reading(email_of(m), touch, campaign.name)


def read_messages(messages: Sequence[Message]) -> dict[str, Reading]:
    """Each message's :class:`Reading` by message id; the first message with an id wins, as it
    does in :func:`ingest`."""
    out: dict[str, Reading] = {}
    for m in messages:
        if m.message_id not in out:
            out[m.message_id] = read_message(m)
    return out


def contract_at(session: Session, at: dt.datetime) -> AppliedContract:
    """The contract version in force at ``at`` (or, before the first one starts, the first);
    versions are read once per transaction and parsed once per process."""
    try:
        applied = contract_in_force(session, at)
    except NotFound:
        first = first_contract(session)
        if first is None:
            raise InvalidInput(
                "no contract is stored yet; run `baton contract apply` or restart `baton serve`"
            ) from None
        applied = first
    return applied


def _keys(message: Message, email: str | None, graph_known: Callable[[Key], bool]) -> list[Key]:
    keys: list[Key] = []
    if email:
        keys.append((EMAIL, email))
    if message.user_id:
        keys.append((USER_ID, message.user_id))
    if message.anonymous_id:
        keys.append((ANONYMOUS_ID, message.anonymous_id))
    if message.previous_id:
        user = (USER_ID, message.previous_id)
        keys.append(user if graph_known(user) else (ANONYMOUS_ID, message.previous_id))
    return keys


def ingest(
    uow: UnitOfWork,
    messages: Sequence[Message],
    *,
    clock: Clock,
    accounts: AccountDirectory,
    token_id: int | None = None,
    tokens: Mapping[str, int | None] | None = None,
    readings: Mapping[str, Reading] | None = None,
    hook: Hook = hooks.on_events_stored,
) -> IngestResult:
    """Store ``messages`` and derive what they say; see the module docstring. The caller commits.

    ``token_id`` is the API token that sent them, or ``tokens`` the token of each message id
    (requests written together); ``readings`` their :func:`read_messages`, when the caller
    worked them out already.
    """
    session = uow.session
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)
    result = IngestResult(received=len(messages))
    seen = store.stored_message_ids(session, list(unique))
    new = [m for m in unique.values() if m.message_id not in seen]
    result.duplicates = len(messages) - len(new)
    result.stored = len(new)
    if not new:
        return result
    now = clock()
    readings = readings or {}
    read = {m.message_id: readings.get(m.message_id) or read_message(m) for m in new}
    derivation = _Derivation(session, new, read, contract_at(session, now), accounts, now)
    with session.no_autoflush:
        for message in new:
            derivation.apply(message)
    derivation.write(tokens or (lambda _m: token_id), result)
    session.expire_all()  # the hook reads what the bulk statements above wrote
    if result.leads:
        hook(uow, result.leads, clock)
    return result


class _Derivation:
    """Everything one request's new messages change, gathered and then written in bulk."""

    def __init__(
        self,
        session: Session,
        messages: Sequence[Message],
        readings: Mapping[str, Reading],
        applied: AppliedContract,
        accounts: AccountDirectory,
        now: dt.datetime,
    ) -> None:
        self.session = session
        self.readings = readings
        self.applied = applied
        self.lifecycle = applied.lifecycle()
        opens = applied.contract.stages_of_kind(StageKind.OPEN)
        self.entry_stage = (opens or applied.contract.main_path())[0].key
        self.now = now
        self.emails = {m.message_id: readings[m.message_id].email for m in messages}
        keys: set[Key] = set()
        for m in messages:
            email = self.emails[m.message_id]
            keys.update(_keys(m, email, lambda _k: False))
            if m.previous_id:
                keys.add((USER_ID, m.previous_id))
        self.graph = StitchGraph(session, keys, now)
        self.leads_by_email = self._by_email(t.Lead, {e for e in self.emails.values() if e})
        self.contacts_by_email = self._by_email(t.Contact, {e for e in self.emails.values() if e})
        group_ids = sorted({m.group_id for m in messages if m.group_id})
        self.groups = (
            {
                a.external_id: a
                for a in session.scalars(
                    select(t.Account).where(
                        t.Account.source == store.SOURCE,
                        store.one_of(session, t.Account.external_id, group_ids),
                    )
                )
            }
            if group_ids
            else {}
        )
        names = {r.campaign.lower() for r in readings.values() if r.campaign}
        self.campaigns: dict[str, int] = {}
        if names:
            query = _campaigns_query(store.dialect_of(session))
            rows = session.execute(query, {"names": sorted(names)})
            for campaign_id, name in rows:
                self.campaigns.setdefault(name, campaign_id)
        needs_matching = any(
            m.type in ("identify", "lead") or self.emails[m.message_id] for m in messages
        )
        self.index = accounts.index(session, now) if needs_matching else AccountIndex()
        self.new_accounts = AccountIndex()
        self.touches: list[tuple[Message, ProfileState]] = []
        # leads and contacts made by this batch, written together at the end
        self.new_leads: list[tuple[t.Lead, StageChange]] = []
        self.new_contacts: list[t.Contact] = []
        self.contact_of: dict[
            int, tuple[t.Lead, t.Contact]
        ] = {}  # id(lead) → lead, contact to link
        self._prefetch(messages)

    def _by_email(self, model: Any, emails: set[str]) -> dict[str, Any]:
        if not emails:
            return {}
        query = _by_email_query(store.dialect_of(self.session), model)
        with store.planned_for_its_values(self.session):
            rows = list(self.session.scalars(query, {"emails": sorted(emails)}))
        return {row.email.lower(): row for row in rows}  # the newest record of an address wins

    def _prefetch(self, messages: Sequence[Message]) -> None:
        """Load, in two queries, the leads and contacts of the people whose fields may change."""
        keys: set[Key] = set()
        for m in messages:
            if m.type in ("identify", "lead", "group") or self.emails[m.message_id]:
                keys.update(_keys(m, self.emails[m.message_id], lambda _k: False))
        profiles = {self.graph.loaded_keys[k] for k in keys if k in self.graph.loaded_keys}
        lead_ids = {
            p.lead_id for pid in profiles if (p := self.graph.stored.get(pid)) and p.lead_id
        }
        if lead_ids:
            dialect = store.dialect_of(self.session)
            leads = list(
                self.session.scalars(_by_ids_query(dialect, t.Lead), {"ids": sorted(lead_ids)})
            )
            contact_ids = sorted({lead.contact_id for lead in leads if lead.contact_id})
            if contact_ids:
                list(self.session.scalars(_by_ids_query(dialect, t.Contact), {"ids": contact_ids}))

    # -- one message ------------------------------------------------------------------------
    def apply(self, m: Message) -> None:
        email = self.emails[m.message_id]
        keys = _keys(m, email, self.graph.known)
        if email and not self.graph.known((EMAIL, email)):
            other = self.graph.peek(keys[1:])
            lead = self._lead_row(other) if other is not None else None
            if lead is not None and lead.email and lead.email.lower() != email:
                # another person on the same browser or user id: the address gets its own lead
                own = self.graph.resolve([(EMAIL, email)], m.timestamp)
                _set_lead(own, self.leads_by_email.get(email) or self._new_lead(m, email))
        profile = self.graph.resolve(keys, m.timestamp)
        if m.type == "group" and m.group_id:
            self._group(m, profile)
        if email or (profile.has_lead and m.type in ("identify", "lead")):
            self._person(m, profile, email)
        self.touches.append((m, profile))

    def _lead_row(self, profile: ProfileState) -> t.Lead | None:
        if profile.lead_row is not None:
            return profile.lead_row  # type: ignore[no-any-return]
        return self.session.get(t.Lead, profile.lead_id) if profile.lead_id is not None else None

    def _contact_row(self, lead: t.Lead, profile: ProfileState) -> t.Contact | None:
        if lead.contact_id is not None:
            return self.session.get(t.Contact, lead.contact_id)
        if id(lead) in self.contact_of:
            return self.contact_of[id(lead)][1]
        if profile.contact_row is not None:
            return profile.contact_row  # type: ignore[no-any-return]
        return (
            self.session.get(t.Contact, profile.contact_id)
            if profile.contact_id is not None
            else None
        )

    def _person(self, m: Message, profile: ProfileState, email: str | None) -> None:
        lead = self._lead_row(profile)
        if lead is None and email:
            lead = self.leads_by_email.get(email) or self._new_lead(m, email)
            _set_lead(profile, lead)
        if lead is None:
            return
        contact = self._contact_row(lead, profile)
        if contact is None and email:
            contact = self.contacts_by_email.get(email) or self._new_contact(m, email)
        if contact is not None:
            if lead.contact_id is None:
                self.contact_of[id(lead)] = (lead, contact)
            if contact.id is None:
                profile.contact_id, profile.contact_row = None, contact
            else:
                profile.contact_id, profile.contact_row = contact.id, None
        if m.type not in ("identify", "lead") and lead.id is not None:
            return  # a track or page call with an email links the person but changes no fields
        fields = person_fields(m)
        for row in (lead, contact):
            if row is not None:
                _fill(row, fields)
        group = AccountMatch(profile.account_id, "group", 1.0) if profile.account_id else None
        found = group or match_account(
            [self.new_accounts, self.index],
            email=email or lead.email,
            website=fields.get("website") or (lead.properties or {}).get("website"),
            company=fields.get("company") or lead.company,
        )
        if found is not None:
            for row in (lead, contact):
                if row is not None:
                    _apply_match(row, found)
            profile.account_id = profile.account_id or lead.account_id

    def _new_lead(self, m: Message, email: str) -> t.Lead:
        """A lead for a new address, written with the batch; it enters its stage now."""
        stage = m.entry_stage or self.entry_stage
        if stage not in self.applied.contract.stage_by_key:
            known = ", ".join(self.applied.contract.stage_by_key)
            raise InvalidInput(
                f'stage: "{stage}" is not a stage of the contract ({known})', field="stage"
            )
        moved, change = self.lifecycle.move(
            Lead(id=None, stage=None, stage_entered_at=None), stage, at=m.timestamp, actor=ACTOR
        )
        lead = t.Lead(
            source=store.SOURCE,
            external_id=email,
            email=email,
            created_at=m.timestamp,
            stage=moved.stage,
            stage_entered_at=moved.stage_entered_at,
            properties={},
        )
        self.new_leads.append((lead, change))
        self.leads_by_email[email] = lead
        return lead

    def _new_contact(self, m: Message, email: str) -> t.Contact:
        contact = t.Contact(
            source=store.SOURCE,
            external_id=email,
            email=email,
            created_at=m.timestamp,
            properties={},
        )
        self.new_contacts.append(contact)
        self.contacts_by_email[email] = contact
        return contact

    def _group(self, m: Message, profile: ProfileState) -> None:
        traits = m.traits
        account = self.groups.get(m.group_id or "")
        name = _text(traits.get("name"), 300)
        domain = normalise_domain(
            _text(traits.get("website"), 300) or _text(traits.get("domain"), 253)
        )
        if account is None:
            account = t.Account(
                source=store.SOURCE,
                external_id=m.group_id,
                name=name or m.group_id,
                created_at=m.timestamp,
                properties={},
            )
            self.session.add(account)
            self.groups[m.group_id or ""] = account
        elif name and account.name == account.external_id:
            account.name = name
        account.domain = account.domain or domain
        account.industry = account.industry or _text(traits.get("industry"), 100)
        account.country = account.country or _text(
            (traits.get("address") or {}).get("country")
            if isinstance(traits.get("address"), dict)
            else None,
            100,
        )
        employees = traits.get("employees")
        if (
            account.employees is None
            and isinstance(employees, int | float)
            and not isinstance(employees, bool)
        ):
            account.employees = int(employees)
        self.session.flush()
        self.new_accounts.add(account.id, account.name, account.domain)
        profile.account_id = account.id
        lead = self._lead_row(profile)
        match = AccountMatch(account.id, "group", 1.0)
        if lead is not None:
            _apply_match(lead, match)
            contact = self._contact_row(lead, profile)
            if contact is not None:
                _apply_match(contact, match)

    # -- writing ----------------------------------------------------------------------------
    def _write_people(self) -> list[int]:
        """Write the new contacts, then the new leads (pointing at their contacts) and their
        entry in the stage log; hand the ids to the profiles. The new leads' ids, in order."""
        if not (self.new_contacts or self.new_leads or self.contact_of):
            self.session.flush()  # the fields filled in on stored leads and contacts
            return []
        # new rows go in with plain bulk inserts: they never joined the session, so nothing
        # else writes them; the session flushes only the fields filled in on stored rows
        ids = store.insert_returning_ids(
            self.session, store.CONTACTS, [_values(c) for c in self.new_contacts]
        )
        for contact, new_id in zip(self.new_contacts, ids, strict=True):
            contact.id = new_id
        for lead, contact in self.contact_of.values():
            lead.contact_id = lead.contact_id or contact.id
        ids = store.insert_returning_ids(
            self.session, store.LEADS, [_values(lead) for lead, _ in self.new_leads]
        )
        for (lead, _), new_id in zip(self.new_leads, ids, strict=True):
            lead.id = new_id
        self.session.flush()
        store.insert_many(
            self.session,
            store.STAGE_CHANGES,
            [
                {
                    "subject": change.subject.value,
                    "subject_id": lead.id,
                    "from_stage": None,
                    "to_stage": change.to_stage,
                    "at": change.at,
                    "actor": ACTOR,
                    "contract_version_id": self.applied.version_id,
                    "reason": None,
                    "dedupe_key": None,
                    "recorded_at": self.now,
                }
                for lead, change in self.new_leads
            ],
        )
        for profile in self.graph.profiles():
            profile.written()
        return [lead.id for lead, _ in self.new_leads]

    def write(
        self, tokens: Mapping[str, int | None] | Callable[[str], int | None], result: IngestResult
    ) -> None:
        token_of = tokens.get if isinstance(tokens, Mapping) else tokens
        result.created_leads = self._write_people()
        stitched = self.graph.write()
        events: list[dict[str, Any]] = []
        touches: list[dict[str, Any]] = []
        leads: dict[int, None] = {}
        for m, profile in self.touches:
            root = profile.root()
            result.lead_of[m.message_id] = root.lead_id
            result.new_ids.add(m.message_id)
            if root.lead_id is not None:
                leads.setdefault(root.lead_id)
            events.append(
                {
                    "message_id": m.message_id,
                    "type": m.type,
                    "event": (m.event or "")[:200] or None,
                    "user_id": m.user_id,
                    "anonymous_id": m.anonymous_id,
                    "group_id": m.group_id,
                    "profile_id": root.id,
                    "lead_id": root.lead_id,
                    "token_id": token_of(m.message_id),
                    "timestamp": m.timestamp,
                    "original_timestamp": m.original_timestamp,
                    "sent_at": m.sent_at,
                    "received_at": m.received_at,
                    "payload": m.payload,
                }
            )
            reading = self.readings[m.message_id]
            if reading.touch is not None:
                touches.append(
                    {
                        **reading.touch,
                        "lead_id": root.lead_id,
                        "contact_id": root.contact_id,
                        "account_id": root.account_id,
                        "campaign_id": self.campaigns.get(reading.campaign.lower())
                        if reading.campaign
                        else None,
                    }
                )
        # stitch first: it moves earlier events that had no lead, not the ones written below
        store.stitch(
            self.session,
            [(p.id or 0, p.lead_id or 0, p.contact_id, p.account_id) for p in stitched],
        )
        for profile in stitched:
            leads.setdefault(profile.lead_id or 0)
        store.insert_many(self.session, store.EVENTS, events)
        store.insert_many(self.session, store.TOUCHPOINTS, touches)
        # only new and newly stitched leads can lack a first touch's channel
        store.first_touch_channels(
            self.session, [*result.created_leads, *(p.lead_id or 0 for p in stitched)]
        )
        result.leads = list(leads)


# The lookups every request makes, built once per dialect (see store.one_of_param).
@lru_cache(maxsize=16)
def _by_email_query(dialect: str, model: Any) -> Any:
    """Records of ``model`` with one of the addresses ``emails``, oldest first."""
    where = store.one_of_param(dialect, func.lower(model.email), "emails")
    return select(model).where(where).order_by(model.id)


@lru_cache(maxsize=16)
def _by_ids_query(dialect: str, model: Any) -> Any:
    return select(model).where(store.one_of_param(dialect, model.id, "ids"))


@lru_cache(maxsize=4)
def _campaigns_query(dialect: str) -> Any:
    name = func.lower(t.Campaign.name)
    return select(t.Campaign.id, name).where(store.one_of_param(dialect, name, "names"))


def _values(row: t.Lead | t.Contact) -> dict[str, Any]:
    """A new row's columns, for a bulk insert."""
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key != "id"}


def _set_lead(profile: ProfileState, lead: t.Lead) -> None:
    if lead.id is None:
        profile.lead_id, profile.lead_row = None, lead
    else:
        profile.lead_id, profile.lead_row = lead.id, None


def _text(value: Any, limit: int) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text[:limit] or None


def _fill(row: t.Lead | t.Contact, fields: dict[str, str]) -> None:
    """Fill the row's empty fields; what is already there (an import, a rep) is kept."""
    for name in ("first_name", "last_name", "title", "phone", "country", "company"):
        if name in fields and hasattr(row, name) and getattr(row, name) is None:
            setattr(row, name, fields[name])
    website = fields.get("website")
    if website and "website" not in (row.properties or {}):
        row.properties = {**(row.properties or {}), "website": website}


def _apply_match(row: t.Lead | t.Contact, match: AccountMatch) -> None:
    """Set the row's account when it has none, or when ours beats an earlier match of ours.
    An account given by an import (no match rule) is never replaced."""
    if row.account_id is not None and row.account_match_rule is None:
        return
    if row.account_id is None or (row.account_match_confidence or 0.0) < match.confidence:
        row.account_id = match.account_id
        row.account_match_rule = match.rule
        row.account_match_confidence = match.confidence
