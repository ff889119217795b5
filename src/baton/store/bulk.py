"""Write an :class:`~baton.ingest.records.ImportBundle` into the store in one transaction.

Every record is upserted by ``(source, external_id)``: new ones are inserted, changed ones
updated, identical ones left alone, so importing the same file twice changes nothing. Stage
histories are checked against the contract's lifecycle before they are written, and each step
gets a dedupe key so it is logged once. The caller commits; on any problem it raises
:class:`ImportRejected` and the caller's unit of work rolls everything back.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from baton.domain.lifecycle import Lifecycle
from baton.errors import ImportRejected, InvalidTransition, Problem
from baton.ingest.records import ImportBundle, StageStep
from baton.progress import NoProgress, Progress
from baton.store import tables as t

CHUNK = 5_000


@dataclass
class Counts:
    """What a write did to one table."""

    new: int = 0
    changed: int = 0
    same: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"new": self.new, "changed": self.changed, "same": self.same}


@dataclass
class WriteResult:
    counts: dict[str, Counts] = field(default_factory=dict)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {name: c.as_dict() for name, c in self.counts.items()}


class _Refs:
    """Maps from ``external_id`` to row id per table, for the bundle's source."""

    def __init__(self, session: Session, source: str, problems: list[Problem]) -> None:
        self.session = session
        self.source = source
        self.problems = problems
        self.ids: dict[type[t.Base], dict[str, int]] = {}
        self.names: dict[type[t.Base], dict[str, list[int]]] = {}

    def load(self, model: Any) -> dict[str, int]:
        rows = self.session.execute(
            select(model.external_id, model.id).where(model.source == self.source)
        )
        self.ids[model] = {ext: id_ for ext, id_ in rows}
        return self.ids[model]

    def get(self, model: Any, external_id: str | None, origin: str, what: str) -> int | None:
        if external_id is None:
            return None
        found = self.ids.get(model, {}).get(external_id)
        if found is None:
            self.problems.append(
                Problem(origin, f'{what} "{external_id}" is not in this import nor already stored')
            )
        return found

    def get_or_named(self, model: Any, value: str | None, origin: str, what: str) -> int | None:
        """Like :meth:`get`, but ``value`` may also be the ``name`` of exactly one record."""
        if value is None or value in self.ids.get(model, {}):
            return self.get(model, value, origin, what)
        if model not in self.names:
            rows = self.session.execute(
                select(model.name, model.id).where(model.source == self.source)
            )
            self.names[model] = defaultdict(list)
            for name, id_ in rows:
                self.names[model][name].append(id_)
        found = self.names[model].get(value, [])
        if len(found) == 1:
            return found[0]
        self.problems.append(Problem(origin, (
            f'{len(found)} {what}s of source "{self.source}" are named "{value}"; use the id of one'
            if found else
            f'{what} "{value}" is neither the id nor the name of a {what} of source '
            f'"{self.source}"; import the {what}s first, or pass --source with their source'
        )))
        return None


def write_bundle(
    session: Session,
    bundle: ImportBundle,
    *,
    lifecycle: Lifecycle,
    contract_version_id: int | None,
    now: dt.datetime,
    progress: Progress | None = None,
) -> WriteResult:
    """Check and write ``bundle``; the caller's transaction decides whether it is kept."""
    progress = progress or NoProgress()
    problems: list[Problem] = []
    _check_histories(bundle, lifecycle, problems)
    if problems:
        raise ImportRejected(_summary(problems), problems)

    refs = _Refs(session, bundle.source, problems)
    result = WriteResult()
    src = bundle.source

    def run(name: str, model: Any, records: Sequence[Any], to_row: Callable[[Any], dict[str, Any]]) -> None:
        if not records:
            refs.load(model)
            return
        rows = [to_row(r) for r in records]
        if problems:
            raise ImportRejected(_summary(problems), problems)
        result.counts[name] = _upsert(session, model, src, rows, progress.task(f"writing {name}", len(rows)))
        refs.load(model)

    run("teams", t.Team, bundle.teams, lambda r: {
        "external_id": r.external_id, "name": r.name, "region": r.region, "properties": r.properties,
    })
    run("users", t.User, bundle.users, lambda r: {
        "external_id": r.external_id, "name": r.name, "email": r.email, "role": r.role,
        "team_id": refs.get(t.Team, r.team, r.origin, "team"), "properties": r.properties,
    })
    managers = [
        {"id": refs.ids[t.Team][r.external_id], "manager_id": refs.get(t.User, r.manager, r.origin, "manager")}
        for r in bundle.teams if r.manager
    ]
    if managers:
        session.execute(update(t.Team), managers)
    run("accounts", t.Account, bundle.accounts, lambda r: {
        "external_id": r.external_id, "name": r.name, "domain": r.domain, "industry": r.industry,
        "employees": r.employees, "annual_revenue": r.annual_revenue, "country": r.country,
        "owner_id": refs.get(t.User, r.owner, r.origin, "owner"), "created_at": r.created_at,
        "properties": r.properties,
    })
    parents = [
        {"id": refs.ids[t.Account][r.external_id], "parent_id": refs.get(t.Account, r.parent, r.origin, "parent account")}
        for r in bundle.accounts if r.parent
    ]
    if parents:
        session.execute(update(t.Account), parents)
    run("contacts", t.Contact, bundle.contacts, lambda r: {
        "external_id": r.external_id, "account_id": refs.get(t.Account, r.account, r.origin, "account"),
        "email": r.email, "first_name": r.first_name, "last_name": r.last_name, "title": r.title,
        "phone": r.phone, "country": r.country, "created_at": r.created_at, "properties": r.properties,
    })
    run("campaigns", t.Campaign, bundle.campaigns, lambda r: {
        "external_id": r.external_id, "name": r.name, "channel": r.channel,
        "started_on": r.started_on, "ended_on": r.ended_on, "budget": r.budget,
        "currency": r.currency, "properties": r.properties,
    })
    run("campaign_spend", t.CampaignSpend, bundle.spend, lambda r: {
        "external_id": r.external_id, "channel": r.channel, "month": r.month, "amount": r.amount,
        "currency": r.currency, "properties": r.properties,
        "campaign_id": refs.get_or_named(t.Campaign, r.campaign, r.origin, "campaign"),
    })
    run("leads", t.Lead, bundle.leads, lambda r: {
        "external_id": r.external_id, "created_at": r.created_at, "email": r.email,
        "first_name": r.first_name, "last_name": r.last_name, "company": r.company,
        "title": r.title, "country": r.country, "channel": r.channel,
        "contact_id": refs.get(t.Contact, r.contact, r.origin, "contact"),
        "account_id": refs.get(t.Account, r.account, r.origin, "account"),
        "owner_id": refs.get(t.User, r.owner, r.origin, "owner"), "score": r.score,
        "stage": r.history[-1].to if r.history else None,
        "stage_entered_at": r.history[-1].at if r.history else None,
        "properties": r.properties,
    })
    run("touchpoints", t.Touchpoint, bundle.touchpoints, lambda r: {
        "external_id": r.external_id, "channel": r.channel, "touch_type": r.touch_type,
        "occurred_at": r.occurred_at,
        "lead_id": refs.get(t.Lead, r.lead, r.origin, "lead"),
        "contact_id": refs.get(t.Contact, r.contact, r.origin, "contact"),
        "account_id": refs.get(t.Account, r.account, r.origin, "account"),
        "campaign_id": refs.get(t.Campaign, r.campaign, r.origin, "campaign"),
        "utm_source": r.utm_source, "utm_medium": r.utm_medium, "utm_campaign": r.utm_campaign,
        "utm_term": r.utm_term, "utm_content": r.utm_content, "landing_page": r.landing_page,
        "properties": r.properties,
    })
    run("opportunities", t.Opportunity, bundle.opportunities, lambda r: {
        "external_id": r.external_id, "name": r.name, "stage": r.history[-1].to if r.history else r.stage,
        "account_id": refs.get(t.Account, r.account, r.origin, "account"),
        "lead_id": refs.get(t.Lead, r.lead, r.origin, "lead"),
        "contact_id": refs.get(t.Contact, r.contact, r.origin, "contact"),
        "owner_id": refs.get(t.User, r.owner, r.origin, "owner"),
        "amount": r.amount, "currency": r.currency, "probability": r.probability,
        "product": r.product, "created_at": r.created_at, "close_date": r.close_date,
        "closed_at": r.closed_at, "properties": r.properties,
    })
    run("activities", t.Activity, bundle.activities, lambda r: {
        "external_id": r.external_id, "kind": r.kind, "direction": r.direction,
        "occurred_at": r.occurred_at,
        "lead_id": refs.get(t.Lead, r.lead, r.origin, "lead"),
        "contact_id": refs.get(t.Contact, r.contact, r.origin, "contact"),
        "account_id": refs.get(t.Account, r.account, r.origin, "account"),
        "opportunity_id": refs.get(t.Opportunity, r.opportunity, r.origin, "opportunity"),
        "user_id": refs.get(t.User, r.user, r.origin, "user"),
        "outcome": r.outcome, "subject": r.subject, "body": r.body, "properties": r.properties,
    })

    changes: list[dict[str, Any]] = []
    for subject, model, records in (
        ("lead", t.Lead, bundle.leads),
        ("opportunity", t.Opportunity, bundle.opportunities),
    ):
        ids = refs.ids[model]
        for record in records:
            previous: str | None = None
            seen: Counter[tuple[str | None, str]] = Counter()
            for step in record.history:
                seen[previous, step.to] += 1
                changes.append({
                    "subject": subject,
                    "subject_id": ids[record.external_id],
                    "from_stage": previous,
                    "to_stage": step.to,
                    "at": step.at,
                    "actor": step.actor,
                    "reason": step.reason,
                    "contract_version_id": contract_version_id,
                    "recorded_at": now,
                    "dedupe_key": _dedupe_key(
                        src, subject, record.external_id, previous, step.to, seen[previous, step.to]
                    ),
                })
                previous = step.to
    if changes:
        result.counts["stage_changes"] = _append_changes(
            session, changes, progress.task("writing stage changes", len(changes))
        )
    return result


def _dedupe_key(
    source: str, subject: str, external_id: str, previous: str | None, to: str, occurrence: int
) -> str:
    """The identity of one step of a record's history: the n-th move from ``previous`` to ``to``.

    The time is left out on purpose: a source that corrects a date (or an import read in
    another time zone) must not log the same move twice. The log is append-only, so a step
    already logged keeps the time it was first logged with.
    """
    return f"{source}:{subject}:{external_id}:{previous or ''}>{to}#{occurrence}"


def _check_histories(bundle: ImportBundle, lifecycle: Lifecycle, problems: list[Problem]) -> None:
    for records, check in (
        (bundle.leads, lifecycle.check),
        (bundle.opportunities, lifecycle.check_pipeline),
    ):
        for record in records:
            previous: StageStep | None = None
            for step in record.history:
                try:
                    check(previous.to if previous else None, step.to, reason=step.reason)
                except InvalidTransition as exc:
                    problems.append(Problem(record.origin, str(exc)))
                    break
                if previous is not None and step.at < previous.at:
                    problems.append(Problem(
                        record.origin,
                        f'entered "{step.to}" at {step.at.isoformat()}, before it entered '
                        f'"{previous.to}" at {previous.at.isoformat()}; check the dates',
                    ))
                    break
                previous = step


def _upsert(
    session: Session,
    model: Any,
    source: str,
    rows: list[dict[str, Any]],
    advance: Callable[[int], None],
) -> Counts:
    columns = list(rows[0])
    existing: dict[str, dict[str, Any]] = {}
    query = select(model.id, *(getattr(model, c) for c in columns)).where(model.source == source)
    for found in session.execute(query).mappings():
        existing[found["external_id"]] = dict(found)
    counts = Counts()
    fresh: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for row in rows:
        old = existing.get(row["external_id"])
        if old is None:
            fresh.append({"source": source, **row})
            continue
        diff = {c: v for c, v in row.items() if not _same(old[c], v)}
        if diff:
            changed.append({"id": old["id"], **diff})
        else:
            counts.same += 1
    for chunk in _chunks(fresh):
        session.execute(_insert(model), chunk)
        advance(len(chunk))
    # ORM bulk UPDATE by primary key: rows with the same changed columns share one executemany
    for chunk in _chunks(changed):
        session.execute(update(model), chunk)
        advance(len(chunk))
    advance(counts.same)
    counts.new, counts.changed = len(fresh), len(changed)
    return counts


def _insert(model: Any) -> Any:
    """A bulk INSERT that sends every row's ``None`` as NULL.

    By default the ORM leaves a ``None`` out of a row's INSERT, so rows with ``None`` in
    different columns need different statements and a batch falls apart into one round trip
    per few rows (tens of thousands on PostgreSQL for a large import). Rows built here always
    carry every column they mean to set, so sending NULL for ``None`` changes no stored value.
    """
    return insert(model).execution_options(render_nulls=True)


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
        # the store keeps microseconds; compare instants
        return old == new
    return bool(old == new)


def _append_changes(session: Session, changes: list[dict[str, Any]], advance: Callable[[int], None]) -> Counts:
    keys = [c["dedupe_key"] for c in changes]
    known: set[str] = set()
    for chunk in _chunks(keys, 900):
        known.update(
            session.scalars(select(t.StageChangeRow.dedupe_key).where(t.StageChangeRow.dedupe_key.in_(chunk)))
        )
    fresh = [c for c in changes if c["dedupe_key"] not in known]
    for chunk in _chunks(fresh):
        session.execute(_insert(t.StageChangeRow), chunk)
        advance(len(chunk))
    advance(len(changes) - len(fresh))
    return Counts(new=len(fresh), same=len(changes) - len(fresh))


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _summary(problems: Sequence[Problem]) -> str:
    n = len(problems)
    return f"import refused, nothing was written: {n} problem{'s' if n != 1 else ''}"
