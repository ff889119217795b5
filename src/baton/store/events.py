"""Bulk reads and writes for event ingestion: events, profiles, identities, and the stitching
updates that move earlier events onto a person's lead.

Everything here runs inside the caller's transaction. Concurrent ingestion is kept apart by
:func:`lock_keys` on PostgreSQL (one advisory lock per message id, identifier and email) and
by the write lock SQLite takes when the transaction begins (``make_engine(url,
immediate=True)``), so the reads below stay true until the caller commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Table,
    and_,
    any_,
    bindparam,
    delete,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType, String

from baton.store import tables as t
from baton.store.types import UTCDateTime

EVENTS: Table = t.Event.__table__  # type: ignore[assignment]
PROFILES: Table = t.Profile.__table__  # type: ignore[assignment]
IDENTITIES: Table = t.Identity.__table__  # type: ignore[assignment]
TOUCHPOINTS: Table = t.Touchpoint.__table__  # type: ignore[assignment]
STAGE_CHANGES: Table = t.StageChangeRow.__table__  # type: ignore[assignment]
LEADS: Table = t.Lead.__table__  # type: ignore[assignment]
CONTACTS: Table = t.Contact.__table__  # type: ignore[assignment]
#: The ``source`` of every record ingestion creates (touchpoints, leads, contacts, accounts).
SOURCE = "events"


def _key64(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def one_of(session: Session, column: Any, values: Iterable[Any]) -> Any:
    """``column IN values``: on PostgreSQL as ``column = ANY(array)``, one parameter, so the
    statement text stays the same whatever the count and psycopg can prepare it once."""
    wanted = sorted(set(values))
    if session.get_bind().dialect.name == "postgresql":
        kind = (
            String() if isinstance(column.type, NullType) else column.type
        )  # lower(...) is untyped
        return column == any_(literal(wanted, ARRAY(kind)))
    return column.in_(wanted)


def needs_locks(session: Session) -> bool:
    """Whether :func:`lock_keys` does anything on this database (PostgreSQL)."""
    return session.get_bind().dialect.name == "postgresql"


def lock_keys(session: Session, keys: Iterable[str]) -> None:
    """On PostgreSQL, take a transaction-scoped advisory lock for each key, in ascending order.

    Two requests that share no key proceed side by side; two that share one (the same
    visitor, email or message id) run one after the other, so neither inserts what the other
    is about to insert. Ascending order means two requests never wait on each other in a
    circle. Elsewhere this does nothing: SQLite lets one writer in at a time.
    """
    if not needs_locks(session):
        return
    numbers = sorted({_key64(k) for k in keys})
    if numbers:
        session.connection().execute(
            text(
                "SELECT count(pg_advisory_xact_lock(k)) FROM "
                "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS ordered"
            ),
            {"keys": numbers},
        )


def stored_message_ids(session: Session, message_ids: Sequence[str]) -> set[str]:
    """Which of these message ids are already stored."""
    if not message_ids:
        return set()
    rows = session.connection().execute(
        select(EVENTS.c.message_id).where(one_of(session, EVENTS.c.message_id, message_ids))
    )
    return {row[0] for row in rows}


ProfileRow = tuple[int | None, int | None, int | None]


def identities(
    session: Session, keys: Iterable[tuple[str, str]]
) -> tuple[dict[tuple[str, str], int], dict[int, ProfileRow]]:
    """For the stored ``(kind, value)`` among ``keys``: the profile id of each, and
    ``(lead_id, contact_id, account_id)`` of each of those profiles (one query)."""
    by_kind: dict[str, set[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, set()).add(value)
    if not by_kind:
        return {}, {}
    where = or_(
        *(
            and_(IDENTITIES.c.kind == kind, one_of(session, IDENTITIES.c.value, values))
            for kind, values in sorted(by_kind.items())
        )
    )
    query = (
        select(
            IDENTITIES.c.kind,
            IDENTITIES.c.value,
            PROFILES.c.id,
            PROFILES.c.lead_id,
            PROFILES.c.contact_id,
            PROFILES.c.account_id,
        )
        .join_from(IDENTITIES, PROFILES, PROFILES.c.id == IDENTITIES.c.profile_id)
        .where(where)
    )
    found: dict[tuple[str, str], int] = {}
    rows: dict[int, ProfileRow] = {}
    for kind, value, profile, lead, contact, account in session.connection().execute(query):
        found[(kind, value)] = profile
        rows[profile] = (lead, contact, account)
    return found, rows


def insert_returning_ids(
    session: Session, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert ``rows`` in one batch; their new ids, in the order of ``rows``."""
    if not rows:
        return []
    result = session.connection().execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows)
    )
    return [row[0] for row in result]


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one ``executemany``.

    Values go through each column type's own bind processor, exactly as SQLAlchemy would send
    them, but without its per-row machinery: ingestion writes several rows per event and this
    is its hottest path.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    preparer = dialect.identifier_preparer
    sql = (
        f"INSERT INTO {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(n) for n in names)}) "
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    columns = []
    for name, process in zip(names, processors, strict=True):
        column = [row[name] for row in rows]
        if process is not None:
            memo: dict[
                Any, Any
            ] = {}  # a batch's times repeat (received_at, sentAt): convert each once
            hashable = isinstance(table.c[name].type, UTCDateTime)
            column = [
                None
                if v is None
                else (memo[v] if v in memo else memo.setdefault(v, process(v)))
                if hashable
                else process(v)
                for v in column
            ]
        columns.append(column)
    connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))


def update_profiles(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Set ``lead_id``, ``contact_id`` and ``account_id`` of profiles, by ``pid``."""
    if rows:
        session.connection().execute(
            update(PROFILES)
            .where(PROFILES.c.id == bindparam("pid"))
            .values(
                lead_id=bindparam("lead"),
                contact_id=bindparam("contact"),
                account_id=bindparam("account"),
            ),
            list(rows),
        )


def move_identities(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Point identities (``kind``, ``value``) at another profile (``pid``)."""
    if rows:
        session.connection().execute(
            update(IDENTITIES)
            .where(IDENTITIES.c.kind == bindparam("k"), IDENTITIES.c.value == bindparam("v"))
            .values(profile_id=bindparam("pid")),
            list(rows),
        )


def merge_profile(session: Session, drop: int, keep: int) -> None:
    """Fold profile ``drop`` into ``keep``: its identities and events move, then it is deleted."""
    session.connection().execute(
        update(IDENTITIES).where(IDENTITIES.c.profile_id == drop).values(profile_id=keep)
    )
    session.connection().execute(
        update(EVENTS).where(EVENTS.c.profile_id == drop).values(profile_id=keep)
    )
    session.connection().execute(delete(PROFILES).where(PROFILES.c.id == drop))


def stitch(session: Session, people: Sequence[tuple[int, int, int | None, int | None]]) -> None:
    """Put each profile's earlier events that had no lead, and their touchpoints, on its lead.

    ``people`` holds ``(profile_id, lead_id, contact_id, account_id)``. The events are found by
    profile, then changed by message id: the profile and unique indexes make every step a
    lookup, where a filter on "no lead yet" could scan every anonymous row. Three statements
    for the whole batch.
    """
    if not people:
        return
    connection = session.connection()
    by_profile = {profile: (lead, contact, account) for profile, lead, contact, account in people}
    rows = connection.execute(
        select(EVENTS.c.message_id, EVENTS.c.profile_id, EVENTS.c.lead_id).where(
            one_of(session, EVENTS.c.profile_id, by_profile)
        )
    )
    moves = [
        (message_id, by_profile[profile]) for message_id, profile, lead in rows if lead is None
    ]
    if not moves:
        return
    connection.execute(
        update(TOUCHPOINTS)
        .where(TOUCHPOINTS.c.source == SOURCE, TOUCHPOINTS.c.external_id == bindparam("m"))
        .values(
            lead_id=bindparam("lead"),
            contact_id=bindparam("contact"),
            account_id=bindparam("account"),
        ),
        [
            {"m": m, "lead": lead, "contact": contact, "account": account}
            for m, (lead, contact, account) in moves
        ],
    )
    connection.execute(
        update(EVENTS)
        .where(EVENTS.c.message_id == bindparam("m"))
        .values(lead_id=bindparam("lead")),
        [{"m": m, "lead": lead} for m, (lead, _, _) in moves],
    )


def first_touch_channels(session: Session, lead_ids: Sequence[int]) -> None:
    """Give leads without a channel the channel of their earliest touchpoint."""
    if not lead_ids:
        return
    leads: Table = t.Lead.__table__  # type: ignore[assignment]
    first = (
        select(TOUCHPOINTS.c.channel)
        .where(TOUCHPOINTS.c.lead_id == leads.c.id)
        .order_by(TOUCHPOINTS.c.occurred_at, TOUCHPOINTS.c.id)
        .limit(1)
        .scalar_subquery()
    )
    session.connection().execute(
        update(leads)
        .where(one_of(session, leads.c.id, lead_ids), leads.c.channel.is_(None))
        .values(channel=first)
    )
