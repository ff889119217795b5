"""API tokens: create (the secret is shown once), list, revoke, and check a presented token.

A token is ``bt_`` followed by 32 random bytes (URL-safe base64). The store keeps only its
SHA-256. A fast hash is the right tool here, unlike for passwords: the secret has 256 bits of
entropy, so no amount of guessing speed makes recovering it from the hash feasible, while a
slow password hash (bcrypt, argon2) would cost milliseconds on every API call. Hashing without
a salt lets the token be found by its hash through a unique index.

Scopes: ``ingest`` (send events and lead forms; a Segment write key is an ingest token),
``read`` (read leads), ``write`` (change them: forms, sales actions) and ``admin`` (everything).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.domain.model import Clock
from baton.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from baton.store.tables import ApiToken

SCOPES = ("ingest", "read", "write", "admin")
PREFIX = "bt_"


@dataclass(frozen=True)
class TokenInfo:
    """A token as the API sees it once checked: never its secret."""

    id: int
    name: str
    scopes: frozenset[str]

    def allows(self, *needed: str) -> bool:
        """True when the token has one of ``needed`` (or ``admin``)."""
        return "admin" in self.scopes or bool(self.scopes & set(needed))

    def refusal(self, needed: Iterable[str]) -> str:
        return (
            f'token "{self.name}" has the scopes {", ".join(sorted(self.scopes))}; this needs '
            f"{' or '.join(needed)}"
        )


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(values: Iterable[str]) -> list[str]:
    """Scopes from ``--scope`` values (repeated or comma-separated), checked and in order."""
    wanted = {s.strip().lower() for v in values for s in v.split(",") if s.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidInput(
            f"unknown scope {', '.join(unknown)}; scopes are {', '.join(SCOPES)}", field="scope"
        )
    if not wanted:
        raise InvalidInput(f"a token needs at least one scope: {', '.join(SCOPES)}", field="scope")
    return [s for s in SCOPES if s in wanted]


def create_token(
    session: Session, name: str, scopes: Iterable[str], *, clock: Clock
) -> tuple[ApiToken, str]:
    """Store a new token; return its row and its secret, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise InvalidInput('a token needs a name, e.g. --name "website"', field="name")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name[:200],
        prefix=secret[:10],
        token_hash=token_hash(secret),
        scopes=" ".join(parse_scopes(scopes)),
        created_at=clock(),
    )
    session.add(row)
    session.flush()
    return row, secret


def list_tokens(session: Session, *, include_revoked: bool = False) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_token(session: Session, which: str, *, clock: Clock) -> ApiToken:
    """Revoke the token with this id, or the one active token with this name."""
    which = which.strip()
    row: ApiToken | None = None
    if which.isdigit():
        row = session.get(ApiToken, int(which))
    else:
        found = list(
            session.scalars(
                select(ApiToken).where(ApiToken.name == which, ApiToken.revoked_at.is_(None))
            )
        )
        if len(found) > 1:
            ids = ", ".join(str(r.id) for r in found)
            raise InvalidInput(
                f'{len(found)} active tokens are named "{which}" (ids {ids}); revoke one by its id'
            )
        row = found[0] if found else None
    if row is None:
        raise NotFound(f'no token "{which}"; `baton token list` shows the ids and names')
    if row.revoked_at is None:
        row.revoked_at = clock()
    return row


def authenticate(session: Session, secret: str | None, *needed: str) -> TokenInfo:
    """The active token whose secret this is, if it has one of the ``needed`` scopes.

    Raises
    ------
    Unauthorized
        No secret, or one that names no active token.
    Forbidden
        The token lacks every scope in ``needed``.
    """
    if not secret:
        raise Unauthorized(
            "no API token; send it as the basic-auth user (Segment's write key) or as "
            "'Authorization: Bearer <token>'; create one with `baton token create`"
        )
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(secret))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized(
            "unknown or revoked API token (write key); check it, or create one with "
            "`baton token create --scope ingest`"
        )
    info = TokenInfo(row.id, row.name, frozenset(row.scopes.split()))
    if needed and not info.allows(*needed):
        raise Forbidden(info.refusal(needed))
    return info
