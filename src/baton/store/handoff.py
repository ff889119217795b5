"""Store side of the handoff: the reps routing may choose from with their state, round-robin
cursors under a lock, and the claims workers make on due timers and notifications."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, and_, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from baton.contract.model import BusinessHours, Contract
from baton.contract.routing import Assign
from baton.domain.business_hours import BusinessClock
from baton.domain.routing import Candidate, LeadView, Roster
from baton.errors import NotFound
from baton.store import tables as t
from baton.store.engine import translate_errors
from baton.store.events import dialect_of

#: Lead columns conditions can read (the rest of a lead is in its properties).
LEAD_COLUMNS = (
    "source",
    "external_id",
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "country",
    "channel",
    "stage",
    "owner_id",
    "score",
    "created_at",
)
CONTACT_COLUMNS = ("email", "first_name", "last_name", "title", "phone", "country")
ACCOUNT_COLUMNS = (
    "name",
    "domain",
    "industry",
    "employees",
    "annual_revenue",
    "country",
    "owner_id",
)


def record_dict(row: Any, columns: Sequence[str]) -> dict[str, Any]:
    """A row's ``columns`` and its properties, as routing conditions read a record."""
    data = {name: getattr(row, name) for name in columns}
    data["properties"] = dict(row.properties or {})
    return data


def lead_view(session: Session, lead: t.Lead) -> tuple[LeadView, int | None]:
    """The lead as conditions read it, and the id of its account's owner."""
    contact = session.get(t.Contact, lead.contact_id) if lead.contact_id else None
    account = session.get(t.Account, lead.account_id) if lead.account_id else None
    if account is None and contact is not None and contact.account_id:
        account = session.get(t.Account, contact.account_id)
    view = LeadView(
        record_dict(lead, LEAD_COLUMNS),
        record_dict(contact, CONTACT_COLUMNS) if contact else {},
        record_dict(account, ACCOUNT_COLUMNS) if account else {},
    )
    return view, account.owner_id if account else None


def lock_lead(session: Session, lead_id: int) -> t.Lead:
    """The lead's row, locked until the transaction ends (on PostgreSQL)."""
    row = session.get(t.Lead, lead_id, with_for_update=True)
    if row is None:
        raise NotFound(f"lead {lead_id} does not exist; `baton lead routing` takes a lead's id")
    return row


# The statements routing runs for every lead it routes are built once, with their values as
# parameters: building an ORM statement costs a few hundred microseconds, more than running
# it, and a statement built once keeps its compiled form and cache key.
def _ids(name: str = "ids") -> Any:
    return bindparam(name, expanding=True)


#: The leads to route with their contact, account and open assignment, the leads locked.
_LEADS_TO_ROUTE = (
    select(t.Lead, t.Contact, t.Account, t.Assignment)
    .outerjoin(t.Contact, t.Contact.id == t.Lead.contact_id)
    .outerjoin(t.Account, t.Account.id == func.coalesce(t.Lead.account_id, t.Contact.account_id))
    .outerjoin(t.Assignment, and_(t.Assignment.lead_id == t.Lead.id, t.Assignment.status == "open"))
    .where(t.Lead.id.in_(_ids()))
    .order_by(t.Lead.id)
    .with_for_update(of=t.Lead)
)


@dataclass(frozen=True)
class LeadsToRoute:
    """What routing reads of its leads in one query: the leads (locked until the transaction
    ends, on PostgreSQL), the open assignment of those that have one, and the contacts and
    accounts :func:`lead_view` reads (held here, so the session keeps them)."""

    leads: dict[int, t.Lead]
    open: dict[int, t.Assignment]
    people: tuple[t.Contact | t.Account, ...]


def leads_to_route(session: Session, ids: Sequence[int]) -> LeadsToRoute:
    """The leads with these ids (missing ones left out), read as :class:`LeadsToRoute` says."""
    leads: dict[int, t.Lead] = {}
    current: dict[int, t.Assignment] = {}
    people: list[t.Contact | t.Account] = []
    for lead, contact, account, assignment in session.execute(_LEADS_TO_ROUTE, {"ids": ids}):
        leads[lead.id] = lead
        people += [p for p in (contact, account) if p is not None]
        if assignment is not None:
            current[lead.id] = assignment
    return LeadsToRoute(leads, current, tuple(people))


def find_lead(session: Session, ref: str) -> int:
    """A lead's id from what a person types: its id, or its email (the newest such lead)."""
    text = ref.strip()
    if text.isdigit():
        return int(text)
    if "@" in text:
        found = session.scalar(
            select(t.Lead.id)
            .where(func.lower(t.Lead.email) == text.lower())
            .order_by(t.Lead.created_at.desc(), t.Lead.id.desc())
            .limit(1)
        )
        if found is None:
            raise NotFound(f'no lead has the email "{ref}"')
        return int(found)
    raise NotFound(f'"{ref}" is neither a lead id nor an email address')


def user_by_email(session: Session, email: str) -> t.User:
    row = session.scalars(
        select(t.User).where(func.lower(t.User.email) == email.strip().lower()).order_by(t.User.id)
    ).first()
    if row is None:
        raise NotFound(f'no user has the email "{email}"; add them with `baton rep set {email}`')
    return row


# -- business-hours clocks -------------------------------------------------------------------
@lru_cache(maxsize=64)
def _clock(
    zone: str, days: tuple[str, ...], start: str, end: str, holidays: tuple[dt.date, ...]
) -> BusinessClock:
    return BusinessClock(
        BusinessHours.model_validate(
            {"timezone": zone, "days": list(days), "start": start, "end": end, "holidays": holidays}
        )
    )


def contract_clock(contract: Contract) -> BusinessClock:
    """The contract's business-hours clock, built once per distinct hours."""
    h = contract.business_hours
    return _clock(h.timezone, tuple(h.days), h.start, h.end, tuple(h.holidays))


def rep_clock(contract: Contract, availability: t.RepAvailability | None) -> BusinessClock:
    """A rep's working hours: their own where set, the contract's otherwise (holidays too)."""
    h = contract.business_hours
    if availability is None:
        return contract_clock(contract)
    days = tuple(availability.days.split(",")) if availability.days else tuple(h.days)
    return _clock(
        availability.timezone or h.timezone,
        days,
        availability.start or h.start,
        availability.end or h.end,
        tuple(h.holidays),
    )


# -- the roster -------------------------------------------------------------------------------
def load_roster(
    session: Session,
    contract: Contract,
    assigns: Iterable[Assign],
    *,
    owner_id: int | None,
    now: dt.datetime,
    extra_ids: Iterable[int] = (),
) -> Roster:
    """The reps named by ``assigns`` (team members, managers left out, and reps by email), the
    account owner and ``extra_ids``, each with their state at ``now``."""
    assigns = list(assigns)
    teams = {a.team.strip().lower() for a in assigns if a.team}
    emails = {r.email.strip().lower() for a in assigns for r in a.reps}
    ids = {i for i in (owner_id, *extra_ids) if i is not None}
    if not (teams or emails or ids):
        return Roster({})
    values = {k: sorted(v) for k, v in (("teams", teams), ("emails", emails), ("ids", ids)) if v}
    query = _roster_query(bool(teams), bool(emails), bool(ids))
    users, off = _users_with_time_off(session, contract, now, query, values)
    return _roster(session, contract, users, teams, now, off)


def load_all_reps(session: Session, contract: Contract, now: dt.datetime) -> Roster:
    """Every user as a candidate, for a replay that must know them all."""
    users, off = _users_with_time_off(session, contract, now, _roster_query(False, False, False))
    teams = {team.lower() for _, team, _ in users if team}
    return _roster(session, contract, users, teams, now, off)


User = tuple[t.User, str | None, t.RepAvailability | None]


def _users_with_time_off(
    session: Session,
    contract: Contract,
    now: dt.datetime,
    query: Select[t.User, str, t.RepAvailability, t.RepTimeOff],
    values: dict[str, Any] | None = None,
) -> tuple[list[User], dict[int, list[t.RepTimeOff]]]:
    """The users ``query`` finds (with their team's name and availability) and each one's
    time off that may cover today (a day either side, for time zones)."""
    today = now.astimezone(ZoneInfo(contract.business_hours.timezone)).date()
    bound = {
        **(values or {}),
        "since": today - dt.timedelta(days=1),
        "until": today + dt.timedelta(days=1),
    }
    users: dict[int, User] = {}
    off: dict[int, list[t.RepTimeOff]] = defaultdict(list)
    for user, team, availability, time_off in session.execute(query, bound):
        users.setdefault(user.id, (user, team, availability))
        if time_off is not None:
            off[user.id].append(time_off)
    return list(users.values()), off


@cache
def _roster_query(
    teams: bool, emails: bool, ids: bool
) -> Select[t.User, str, t.RepAvailability, t.RepTimeOff]:
    """Users in some teams, with some emails or with some ids (whichever are asked; every
    user when none is), with their team's name, availability and time off that may cover
    ``since``..``until`` (a user on a row per period of time off)."""
    wanted = []
    if teams:
        wanted.append(func.lower(t.Team.name).in_(_ids("teams")))
    if emails:
        wanted.append(func.lower(t.User.email).in_(_ids("emails")))
    if ids:
        wanted.append(t.User.id.in_(_ids("ids")))
    time_off = and_(
        t.RepTimeOff.user_id == t.User.id,
        t.RepTimeOff.ends_on >= bindparam("since"),
        t.RepTimeOff.starts_on <= bindparam("until"),
    )
    query = (
        select(t.User, t.Team.name, t.RepAvailability, t.RepTimeOff)
        .outerjoin(t.Team, t.Team.id == t.User.team_id)
        .outerjoin(t.RepAvailability, t.RepAvailability.user_id == t.User.id)
        .outerjoin(t.RepTimeOff, time_off)
        .order_by(t.User.id, t.RepTimeOff.id)
    )
    return query.where(or_(*wanted)) if wanted else query


def availability_of(session: Session, ids: Sequence[int]) -> dict[int, t.RepAvailability]:
    if not ids:
        return {}
    rows = session.scalars(select(t.RepAvailability).where(t.RepAvailability.user_id.in_(ids)))
    return {a.user_id: a for a in rows}


def out_of_office(periods: Sequence[tuple[dt.date, dt.date]], day: dt.date) -> dt.date | None:
    """The day the rep is back if ``day`` falls in one of ``periods`` (joined end to end)."""
    if not any(start <= day <= end for start, end in periods):
        return None
    back = day
    moved = True
    while moved:  # a period starting by the day they would be back keeps them away
        moved = False
        for start, end in periods:
            if start <= back <= end:
                back, moved = end + dt.timedelta(days=1), True
    return back


def _loads(
    session: Session, zone_of: dict[int, ZoneInfo], now: dt.datetime
) -> tuple[dict[int, int], dict[int, int]]:
    """Each rep's open assignments and assignments since their local midnight, in one query
    (reps are grouped by time zone, so each group has one midnight)."""
    if not zone_of:
        return {}, {}
    by_zone: dict[ZoneInfo, list[int]] = defaultdict(list)
    for uid, zone in zone_of.items():
        by_zone[zone].append(uid)
    zones = sorted(by_zone, key=str)
    midnights = [
        dt.datetime.combine(now.astimezone(zone).date(), dt.time(), tzinfo=zone) for zone in zones
    ]
    values: dict[str, Any] = {"now": now, "since": min(midnights), "ids": list(zone_of)}
    for n, (zone, midnight) in enumerate(zip(zones, midnights, strict=True)):
        values[f"ids{n}"], values[f"midnight{n}"] = by_zone[zone], midnight
    rows = session.execute(_loads_query(len(zones)), values).all()
    return (
        {uid: int(n or 0) for uid, n, _ in rows},
        {uid: int(n or 0) for uid, _, n in rows},
    )


@lru_cache(maxsize=16)
def _loads_query(zones: int) -> Select[int, Any, Any]:
    """Open assignments and assignments since local midnight, for reps in ``zones`` zones:
    the reps of zone ``n`` are ``ids<n>`` and their midnight ``midnight<n>``."""
    a = t.Assignment
    today = case(
        *(
            (and_(a.user_id.in_(_ids(f"ids{n}")), a.assigned_at >= bindparam(f"midnight{n}")), 1)
            for n in range(zones)
        ),
        else_=0,
    )
    return (
        select(
            a.user_id,
            func.sum(case((a.status == "open", 1), else_=0)),
            func.sum(case((a.assigned_at <= bindparam("now"), today), else_=0)),
        )
        .where(
            a.user_id.in_(_ids()),
            or_(a.status == "open", a.assigned_at >= bindparam("since")),
        )
        .group_by(a.user_id)
    )


def _roster(
    session: Session,
    contract: Contract,
    users: Sequence[User],
    teams: set[str],
    now: dt.datetime,
    off: dict[int, list[t.RepTimeOff]],
) -> Roster:
    """The roster of ``users``, whose time off is ``off``."""
    avail = {u.id: a for u, _, a in users if a is not None}
    zone_of = {
        u.id: ZoneInfo((a.timezone if a is not None else None) or contract.business_hours.timezone)
        for u, _, a in users
    }
    open_load, today_load = _loads(session, zone_of, now)
    candidates = []
    members: dict[str, list[int]] = defaultdict(list)
    for user, team, _ in users:
        a = avail.get(user.id)
        local_day = now.astimezone(zone_of[user.id]).date()
        back = out_of_office([(p.starts_on, p.ends_on) for p in off.get(user.id, [])], local_day)
        candidates.append(
            Candidate(
                user_id=user.id,
                email=user.email,
                name=user.name,
                team=team,
                weight=a.weight if a else 1.0,
                active=bool(user.active),
                open_load=int(open_load.get(user.id, 0)),
                today_load=today_load.get(user.id, 0),
                max_open=a.max_open if a else None,
                max_per_day=a.max_per_day if a else None,
                working_now=rep_clock(contract, a).is_open(now),
                out_of_office=back is not None,
                back_on=back.isoformat() if back else None,
            )
        )
        if team and team.lower() in teams and user.role != "manager":
            members[team].append(user.id)
    return Roster.of(candidates, members)


# -- round-robin cursors ----------------------------------------------------------------------
CURSORS = t.Base.metadata.tables[t.RoundRobinCursor.__tablename__]


def lock_cursors(
    session: Session, pools: Sequence[str], now: dt.datetime
) -> dict[str, dict[int, float]]:
    """Each pool's cursor, its row locked until the transaction ends; missing rows are made.

    One statement: an upsert that makes the missing rows and, for the others, "updates" the
    state to itself, which takes the row lock (on PostgreSQL) and returns the state. Pools go
    in name order so two routings never wait on each other in a circle.
    """
    pools = sorted(set(pools))
    if not pools:
        return {}
    rows = session.execute(
        _lock_cursors_query(dialect_of(session), tuple(pools)), {"now": now}
    )
    return {pool: {int(k): float(v) for k, v in (state or {}).items()} for pool, state in rows}


@lru_cache(maxsize=64)
def _lock_cursors_query(dialect: str, pools: tuple[str, ...]) -> Any:
    table = CURSORS
    values = [{"pool": p, "state": {}, "updated_at": bindparam("now")} for p in pools]
    upsert: Any
    if dialect == "postgresql":
        upsert = postgresql.insert(table).values(values)
    else:
        upsert = sqlite.insert(table).values(values)
    return upsert.on_conflict_do_update(
        index_elements=[table.c.pool], set_={"state": table.c.state}
    ).returning(table.c.pool, table.c.state)


_SAVE_CURSOR = (
    update(CURSORS)
    .where(CURSORS.c.pool == bindparam("name"))
    .values(state=bindparam("cursor"), updated_at=bindparam("now"))
)


def save_cursor(session: Session, pool: str, cursor: dict[int, float], now: dt.datetime) -> None:
    session.execute(
        _SAVE_CURSOR, {"name": pool, "cursor": {str(k): v for k, v in cursor.items()}, "now": now}
    )


# -- claims -----------------------------------------------------------------------------------
def claim(
    engine: Engine,
    table: type[t.SlaTimer] | type[t.OutboxMessage],
    *,
    worker: str,
    now: dt.datetime,
    limit: int,
    lease: dt.timedelta,
) -> list[int]:
    """Claim up to ``limit`` due rows of ``table`` for ``worker`` and commit the claim.

    Due rows are pending ones whose time has come, and running ones whose claim is older than
    ``lease`` (their worker died). On PostgreSQL the candidates are picked with ``FOR UPDATE
    SKIP LOCKED``, so workers running side by side never claim the same row; on SQLite the one
    ``UPDATE`` holds the database's write lock, which makes the claim atomic.
    """
    due = table.due_at if table is t.SlaTimer else table.next_try_at  # type: ignore[union-attr]
    running = "running" if table is t.SlaTimer else "sending"
    pick = (
        select(table.id)
        .where(
            or_(
                (table.status == "pending") & (due <= now),
                (table.status == running) & (table.locked_at < now - lease),
            )
        )
        .order_by(due, table.id)
        .limit(limit)
    )
    claimed = update(table).values(status=running, locked_by=worker, locked_at=now)
    if engine.dialect.name == "postgresql":
        # a materialized CTE is run once: the rows it locks are exactly the rows updated
        picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        statement = claimed.where(table.id == picked.c.id).returning(table.id)
    else:
        statement = claimed.where(table.id.in_(pick)).returning(table.id)
    with translate_errors("claiming due work"), engine.begin() as connection:
        return sorted(connection.execute(statement).scalars())
