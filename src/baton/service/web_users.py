"""Dashboard logins and sessions: create a login, check a password, open and find a session.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults): a password has little
entropy, so its hash must be slow to guess against, unlike an API token's (see
:mod:`baton.service.tokens`). A login is always a row of ``users``: the one with the same
email when there is one (a rep imported from the CRM signs in as themselves and sees the leads
the CRM gave them), else a new row.

A session is a random secret in the browser's cookie and its SHA-256 in ``web_sessions``, with
the CSRF token every form of that session must send back. Nothing is signed with a server key,
so there is no key to configure, rotate or leak; signing out deletes the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from baton.domain.model import Clock
from baton.errors import Conflict, InvalidInput, NotFound, Unauthorized
from baton.store import tables as t

#: The dashboard roles, from most to least power; docs/dashboard.md says what each may do.
ROLES = ("admin", "marketing", "sales-manager", "sales", "viewer")
#: What a new ``users`` row says the person does, for a login that made one.
_USER_ROLE = {"sales": "sales", "sales-manager": "manager"}
MIN_PASSWORD = 10

_hasher = PasswordHasher()
#: Verified against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Viewer:
    """Who is signed in, as every page and action sees them."""

    login_id: int
    user_id: int
    email: str
    name: str
    role: str
    team_id: int | None
    csrf_token: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})"


def check_role(role: str) -> str:
    value = role.strip().lower()
    if value not in ROLES:
        raise InvalidInput(
            f'role "{role}" is not a role; use one of: {", ".join(ROLES)}', field="role"
        )
    return value


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD}",
            field="password",
        )
    return password


def _team(session: Session, team: str) -> int:
    """A team by its name or external id (case-insensitive), for ``--team``."""
    wanted = team.strip().lower()
    rows = session.scalars(select(t.Team)).all()
    for row in rows:
        if wanted in (row.name.lower(), row.external_id.lower()):
            return row.id
    known = ", ".join(sorted(r.name for r in rows)) or "none yet; import or run `baton demo`"
    raise NotFound(f'--team "{team}" does not exist; teams: {known}')


def create_login(
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    password: str,
    team: str | None = None,
    clock: Clock,
) -> tuple[t.WebLogin, bool]:
    """Store a login; return it and whether it joined an existing ``users`` row.

    Raises :class:`~baton.errors.Conflict` when the email already has a login and
    :class:`~baton.errors.InvalidInput` for a bad email, role or password.
    """
    email = email.strip()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f'"{email}" is not an email address', field="email")
    role = check_role(role)
    check_password(password)
    key = email.lower()
    if session.scalar(select(t.WebLogin).where(t.WebLogin.email == key)) is not None:
        raise Conflict(f"{email} can already sign in; pick another email")
    now = clock()
    user = session.scalars(
        select(t.User).where(func.lower(t.User.email) == key).order_by(t.User.id)
    ).first()
    linked = user is not None
    team_id = _team(session, team) if team else None
    if user is None:
        user = t.User(
            source="baton",
            external_id=key,
            properties={},
            name=name.strip() or email,
            email=email,
            role=_USER_ROLE.get(role, role),
            team_id=team_id,
            active=True,
        )
        session.add(user)
        session.flush()
    elif team_id is not None:
        user.team_id = team_id
    login = t.WebLogin(
        user_id=user.id,
        email=key,
        role=role,
        password_hash=_hasher.hash(password),
        created_at=now,
        updated_at=now,
    )
    session.add(login)
    session.flush()
    return login, linked


def list_logins(session: Session) -> list[tuple[t.WebLogin, t.User]]:
    rows = session.execute(
        select(t.WebLogin, t.User)
        .join(t.User, t.User.id == t.WebLogin.user_id)
        .order_by(t.WebLogin.email)
    )
    return [(login, user) for login, user in rows]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def sign_in(
    session: Session, email: str, password: str, *, clock: Clock, hours: float
) -> tuple[str, t.WebSession]:
    """Check the password; open a session; return the cookie's secret and the session row.

    Raises :class:`~baton.errors.Unauthorized` with one message for an unknown email, a wrong
    password or a disabled login, so the answer does not tell which emails exist.
    """
    login = session.scalar(select(t.WebLogin).where(t.WebLogin.email == email.strip().lower()))
    refused = Unauthorized("that email and password do not match a login")
    try:
        _hasher.verify(login.password_hash if login else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise refused from None
    if login is None or login.disabled_at is not None:
        raise refused
    now = clock()
    if _hasher.check_needs_rehash(login.password_hash):
        login.password_hash = _hasher.hash(password)
    login.last_login_at = now
    secret = secrets.token_urlsafe(32)
    row = t.WebSession(
        id=_digest(secret),
        login_id=login.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + dt.timedelta(hours=hours),
    )
    session.add(row)
    session.execute(delete(t.WebSession).where(t.WebSession.expires_at < now))
    return secret, row


def find_session(session: Session, secret: str, *, now: dt.datetime) -> Viewer | None:
    """The signed-in person of a cookie's secret, or None when it names no live session."""
    row = session.execute(
        select(t.WebSession, t.WebLogin, t.User)
        .join(t.WebLogin, t.WebLogin.id == t.WebSession.login_id)
        .join(t.User, t.User.id == t.WebLogin.user_id)
        .where(t.WebSession.id == _digest(secret))
    ).first()
    if row is None:
        return None
    web, login, user = row
    if web.expires_at <= now or login.disabled_at is not None:
        return None
    return Viewer(
        login.id, user.id, login.email, user.name, login.role, user.team_id, web.csrf_token
    )


def sign_out(session: Session, secret: str) -> None:
    session.execute(delete(t.WebSession).where(t.WebSession.id == _digest(secret)))
