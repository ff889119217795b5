"""Use cases: set a rep's availability for routing, and list reps with it.

Availability is kept in the store, not in the contract: capacity, weight, working hours and
days out of office change week to week and are nobody's agreement to sign. The contract's
``[routing]`` caps and ``[business_hours]`` apply to reps who set none of their own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from baton.contract.model import DAY_NAMES
from baton.domain.model import Clock
from baton.errors import InvalidInput
from baton.store import tables as t
from baton.store.uow import UnitOfWork

_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class RepView:
    """A rep as ``baton rep list`` shows them."""

    user_id: int
    email: str | None
    name: str
    team: str | None
    role: str
    active: bool
    weight: float
    max_open: int | None
    max_per_day: int | None
    timezone: str | None
    days: str | None
    hours: str | None
    time_off: tuple[tuple[dt.date, dt.date], ...]
    open_leads: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "email": self.email,
            "name": self.name,
            "team": self.team,
            "role": self.role,
            "active": self.active,
            "weight": self.weight,
            "max_open": self.max_open,
            "max_per_day": self.max_per_day,
            "timezone": self.timezone,
            "days": self.days,
            "hours": self.hours,
            "time_off": [[a.isoformat(), b.isoformat()] for a, b in self.time_off],
            "open_leads": self.open_leads,
        }


def parse_time_off(text: str) -> tuple[dt.date, dt.date]:
    """``2026-12-24:2026-12-31`` (both days included) or one day ``2026-12-24``."""
    first, _, last = text.partition(":")
    try:
        start = dt.date.fromisoformat(first.strip())
        end = dt.date.fromisoformat(last.strip()) if last else start
    except ValueError:
        raise InvalidInput(
            f'--ooo "{text}" is not a period; write FIRST:LAST days, e.g. 2026-12-24:2026-12-31'
        ) from None
    if end < start:
        raise InvalidInput(f'--ooo "{text}" ends before it starts; write FIRST:LAST')
    return start, end


def _team(session: Session, name: str, now: dt.datetime) -> t.Team:
    row = session.scalars(
        select(t.Team).where(func.lower(t.Team.name) == name.strip().lower()).order_by(t.Team.id)
    ).first()
    if row is None:
        key = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-") or "team"
        row = t.Team(source="baton", external_id=key, name=name.strip(), properties={})
        session.add(row)
        session.flush()
    return row


def set_rep(
    uow: UnitOfWork,
    email: str,
    *,
    clock: Clock,
    name: str | None = None,
    team: str | None = None,
    manager: bool | None = None,
    active: bool | None = None,
    weight: float | None = None,
    max_open: int | None = None,
    max_per_day: int | None = None,
    timezone: str | None = None,
    days: Sequence[str] | None = None,
    hours: str | None = None,
    time_off: Sequence[str] = (),
    clear_time_off: bool = False,
) -> RepView:
    """Create or update the rep with this email and their routing availability.

    Only what is given changes. ``max_open`` or ``max_per_day`` of 0 removes the rep's own cap
    (the contract's applies); ``timezone``, ``days`` and ``hours`` (``09:00-17:00``) replace
    the contract's business hours for this rep, an empty ``timezone`` or ``hours`` restores
    them. ``time_off`` adds periods; ``clear_time_off`` removes the ones stored first. With
    ``manager``, the rep becomes the manager of their team, who escalations reach.
    """
    session, now = uow.session, clock()
    address = email.strip()
    if not re.match(r"^[^@\s]+@[^@\s]+$", address):
        raise InvalidInput(f'"{email}" is not an email address; reps are known by their email')
    user = session.scalars(
        select(t.User).where(func.lower(t.User.email) == address.lower()).order_by(t.User.id)
    ).first()
    if user is None:
        user = t.User(
            source="baton",
            external_id=address.lower(),
            name=name or address.split("@")[0],
            email=address,
            role="sales",
            active=True,
            properties={},
        )
        session.add(user)
        session.flush()
    if name:
        user.name = name
    if active is not None:
        user.active = active
    if team is not None:
        user.team_id = _team(session, team, now).id if team.strip() else None
    if manager:
        if user.team_id is None:
            raise InvalidInput(f"{address} has no team to manage; give --team as well")
        user.role = "manager"
        team_row = session.get(t.Team, user.team_id)
        assert team_row is not None
        team_row.manager_id = user.id
    avail = session.get(t.RepAvailability, user.id)
    if avail is None:
        avail = t.RepAvailability(user_id=user.id, weight=1.0, updated_at=now)
        session.add(avail)
    if weight is not None:
        if not 0 < weight <= 1000:
            raise InvalidInput(f"--weight {weight:g} must be above 0 and at most 1000")
        avail.weight = weight
    for option, value, column in (
        ("--capacity", max_open, "max_open"),
        ("--per-day", max_per_day, "max_per_day"),
    ):
        if value is not None:
            if value < 0:
                raise InvalidInput(f"{option} {value} must be 0 (no own cap) or more")
            setattr(avail, column, value or None)
    if timezone is not None:
        if timezone:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidInput(
                    f'--timezone "{timezone}" is not a known time zone; use e.g. "Europe/Berlin"'
                ) from None
        avail.timezone = timezone or None
    if days is not None:
        names = [d.strip().lower() for d in days if d.strip()]
        wrong = [d for d in names if d not in DAY_NAMES]
        if wrong or not names:
            raise InvalidInput(
                f'--days "{",".join(days)}": use day names {", ".join(DAY_NAMES)}, e.g. mon,tue,wed'
            )
        avail.days = ",".join(sorted(set(names), key=DAY_NAMES.index))
    if hours is not None:
        if hours:
            match = _HOURS.match(hours.strip())
            if not match or hours[:5] >= hours[6:]:
                raise InvalidInput(
                    f'--hours "{hours}" is not a span of the day; write START-END, e.g. 08:00-16:00'
                )
            avail.start, avail.end = hours[:5], hours[6:]
        else:
            avail.start = avail.end = None
    if clear_time_off:
        session.execute(delete(t.RepTimeOff).where(t.RepTimeOff.user_id == user.id))
    for text in time_off:
        start, end = parse_time_off(text)
        session.add(t.RepTimeOff(user_id=user.id, starts_on=start, ends_on=end, note=""))
    avail.updated_at = now
    session.flush()
    return _views(session, [user.id])[0]


def list_reps(uow: UnitOfWork) -> list[RepView]:
    """Every user with their availability, by team and email."""
    return _views(uow.session, None)


def _views(session: Session, ids: Sequence[int] | None) -> list[RepView]:
    query = select(t.User, t.Team.name).outerjoin(t.Team, t.Team.id == t.User.team_id)
    if ids is not None:
        query = query.where(t.User.id.in_(ids))
    rows = session.execute(query).all()
    avail = {a.user_id: a for a in session.scalars(select(t.RepAvailability))}
    off: dict[int, list[tuple[dt.date, dt.date]]] = {}
    for row in session.scalars(select(t.RepTimeOff).order_by(t.RepTimeOff.starts_on)):
        off.setdefault(row.user_id, []).append((row.starts_on, row.ends_on))
    load = dict(
        session.execute(
            select(t.Assignment.user_id, func.count())
            .where(t.Assignment.status == "open")
            .group_by(t.Assignment.user_id)
        ).all()
    )
    views = []
    for user, team in rows:
        a = avail.get(user.id)
        views.append(
            RepView(
                user_id=user.id,
                email=user.email,
                name=user.name,
                team=team,
                role=user.role,
                active=bool(user.active),
                weight=a.weight if a else 1.0,
                max_open=a.max_open if a else None,
                max_per_day=a.max_per_day if a else None,
                timezone=a.timezone if a else None,
                days=a.days if a else None,
                hours=f"{a.start}-{a.end}" if a and a.start and a.end else None,
                time_off=tuple(off.get(user.id, [])),
                open_leads=int(load.get(user.id, 0)),
            )
        )
    return sorted(views, key=lambda v: (v.team or "~", (v.email or v.name).lower()))
