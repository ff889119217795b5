"""Bulk reads and writes for event ingestion: events, profiles, identities, and the stitching
updates that move earlier events onto a person's lead.

Everything here runs inside the caller's transaction. On SQLite, concurrent ingestion is kept
apart by the write lock taken when the transaction begins (``make_engine(url,
immediate=True)``). On PostgreSQL, processes ingest side by side and the database's
constraints settle races: two transactions storing the same message id, identifier, email
lead or group account collide on a unique index, the later one fails and the caller tries it
again (it then finds the row stored); the profiles a transaction reads are held with
``FOR SHARE`` so none gets a lead behind its back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    Integer,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType, String

from baton.store import tables as t
from baton.store.types import JSONDict, JSONList, UTCDateTime

EVENTS: Table = t.Event.__table__  # type: ignore[assignment]
PROFILES: Table = t.Profile.__table__  # type: ignore[assignment]
IDENTITIES: Table = t.Identity.__table__  # type: ignore[assignment]
TOUCHPOINTS: Table = t.Touchpoint.__table__  # type: ignore[assignment]
STAGE_CHANGES: Table = t.StageChangeRow.__table__  # type: ignore[assignment]
LEADS: Table = t.Lead.__table__  # type: ignore[assignment]
CONTACTS: Table = t.Contact.__table__  # type: ignore[assignment]
#: The ``source`` of every record ingestion creates (touchpoints, leads, contacts, accounts).
SOURCE = "events"


def one_of(session: Session, column: Any, values: Iterable[Any]) -> Any:
    """``column IN values``: on PostgreSQL as ``column = ANY(array)``, one parameter, so the
    statement text stays the same whatever the count and psycopg can prepare it once."""
    wanted = sorted(set(values))
    if dialect_of(session) == "postgresql":
        return column == any_(literal(wanted, _array_of(column)))
    return column.in_(wanted)


def _array_of(column: Any) -> ARRAY[Any]:
    """A PostgreSQL array of ``column``'s type (text for an untyped one, like ``lower(...)``)."""
    return ARRAY(String() if isinstance(column.type, NullType) else column.type)


def one_of_param(dialect: str, column: Any, name: str) -> Any:
    """:func:`one_of` with the values left as parameter ``name`` (a list, given at execution),
    for statements built once per dialect."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=_array_of(column)))
    return column.in_(bindparam(name, expanding=True))


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


@contextmanager
def planned_for_its_values(session: Session) -> Iterator[None]:
    """On PostgreSQL, run the statements inside unprepared, so each is planned for its values.

    psycopg prepares a statement on the server after a few runs, and PostgreSQL may then keep a
    generic plan costed on the table sizes of that moment. For "identities of these kinds with
    one of these 100 values" (or "events with one of these message ids", "leads with one of
    these addresses") on a store that starts empty, that plan was a scan of a nearly empty
    table, kept as the table grew: 10-20 ms a request after a few thousand visitors instead of
    ~1 ms through the unique index. Statements whose plan is the same at any size (inserts,
    lookups by one key) stay prepared.
    """
    if dialect_of(session) != "postgresql":
        yield
        return
    driver: Any = session.connection().connection.driver_connection
    threshold = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = threshold


@lru_cache(maxsize=8)
def _stored_ids_query(dialect: str) -> Any:
    return select(EVENTS.c.message_id).where(one_of_param(dialect, EVENTS.c.message_id, "ids"))


def stored_message_ids(session: Session, message_ids: Sequence[str]) -> set[str]:
    """Which of these message ids are already stored."""
    if not message_ids:
        return set()
    query = _stored_ids_query(dialect_of(session))
    with planned_for_its_values(session):
        rows = session.connection().execute(query, {"ids": sorted(set(message_ids))})
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
    kinds = tuple(sorted(by_kind))
    values = {f"values{n}": sorted(by_kind[kind]) for n, kind in enumerate(kinds)}
    query = _identities_query(dialect_of(session), kinds)
    found: dict[tuple[str, str], int] = {}
    rows: dict[int, ProfileRow] = {}
    with planned_for_its_values(session):
        result = list(session.connection().execute(query, values))
    for kind, value, profile, lead, contact, account in result:
        found[(kind, value)] = profile
        rows[profile] = (lead, contact, account)
    return found, rows


@lru_cache(maxsize=64)
def _identities_query(dialect: str, kinds: tuple[str, ...]) -> Any:
    """Identities of ``kinds`` (the values of kind ``n`` in parameter ``values<n>``) with
    their profiles."""
    where = or_(
        *(
            and_(IDENTITIES.c.kind == kind, one_of_param(dialect, IDENTITIES.c.value, f"values{n}"))
            for n, kind in enumerate(kinds)
        )
    )
    return (
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
        # PostgreSQL: hold the profiles until commit, so another process cannot give one a
        # lead (and stitch its events) between this read and this transaction's own writes
        .with_for_update(read=True, of=PROFILES)
    )


def insert_returning_ids(
    session: Session, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert ``rows`` in one batch; their new ids, in the order of ``rows``."""
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        # the ids first, from the table's sequence, then the rows with them in one COPY
        ids = _next_ids(connection, table, len(rows))
        names, values = _bound(connection.dialect, table, rows, json_text=True)
        _copy(
            connection, table, ["id", *names], [(i, *v) for i, v in zip(ids, values, strict=True)]
        )
        return ids
    if connection.dialect.name == "sqlite":
        # One executemany. SQLite gives a new row the largest id so far plus one (the ids are
        # plain rowids, no AUTOINCREMENT), and from its first write on this transaction holds
        # the database's write lock, so the rows' ids are the run ending at the last one.
        # (SQLAlchemy's RETURNING in parameter order runs one statement per row here.)
        sql, values = _driver_insert(connection.dialect, table, rows)
        connection.exec_driver_sql(sql, values)
        last = int(connection.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())
        return list(range(last - len(rows) + 1, last + 1))
    if len(rows) == 1:  # a form's decision, assignment, ...: the driver's statement, as below
        sql, values = _driver_insert(connection.dialect, table, rows)
        quoted = connection.dialect.identifier_preparer.quote("id")
        return [connection.exec_driver_sql(f"{sql} RETURNING {quoted}", values[0]).scalar_one()]
    result = connection.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows)
    )
    return [row[0] for row in result]


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a value orjson does not know: the standard library's rules
        return json.dumps(value)


def insert_many(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one ``executemany``, or on PostgreSQL,
    from :data:`COPY_FROM` rows on, in one ``COPY``.

    Values go through each column type's own bind processor, exactly as SQLAlchemy would send
    them, but without its per-row machinery: ingestion writes several rows per event and this
    is its hottest path.
    """
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        names, values = _bound(connection.dialect, table, rows, json_text=True)
        _copy(connection, table, names, values)
        return
    sql, values = _driver_insert(connection.dialect, table, rows)
    connection.exec_driver_sql(sql, values)


#: From how many rows :func:`insert_many` and :func:`insert_returning_ids` write with
#: ``COPY`` on PostgreSQL. One ``COPY`` costs the server a fraction of what as many
#: ``INSERT`` executions do (a batch of 100 events writes ~200 rows), and the client sends
#: rows instead of a statement per row; below this, the statement is the cheaper way.
COPY_FROM = 8


def _copy(
    connection: Any, table: Table, names: Sequence[str], values: Sequence[tuple[Any, ...]]
) -> None:
    """``COPY table (names) FROM STDIN`` with ``values``, on the connection's transaction.
    Driver errors come out as SQLAlchemy's, like any statement's, and a lost connection is
    dropped from the pool."""
    dialect = connection.dialect
    preparer = dialect.identifier_preparer
    sql = (
        f"COPY {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(n) for n in names)}) FROM STDIN"
    )
    driver = connection.connection.driver_connection
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, driver, None)
        if lost:  # as for a statement: the pool must not hand out this connection again
            connection.invalidate(exc)
        raise sa_exc.DBAPIError.instance(
            sql, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from exc


def _next_ids(connection: Any, table: Table, count: int) -> list[int]:
    """``count`` new ids from the sequence behind ``table.id`` (PostgreSQL)."""
    return [row[0] for row in connection.execute(_NEXT_IDS, {"table": table.name, "n": count})]


_NEXT_IDS = select(
    func.nextval(func.pg_get_serial_sequence(bindparam("table", type_=String()), "id"))
).select_from(func.generate_series(1, bindparam("n", type_=Integer())))


def _driver_insert(
    dialect: Any, table: Table, rows: Sequence[dict[str, Any]]
) -> tuple[str, list[tuple[Any, ...]]]:
    """The driver's ``INSERT`` of ``rows`` into ``table`` and each row's values, bound."""
    names, values = _bound(dialect, table, rows)
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    preparer = dialect.identifier_preparer
    sql = (
        f"INSERT INTO {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(n) for n in names)}) "
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    return sql, values


def _bound(
    dialect: Any, table: Table, rows: Sequence[dict[str, Any]], *, json_text: bool = False
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The column names of ``rows`` and each row's values, bound for the driver; JSON values
    as JSON text on SQLite, and with ``json_text`` (``COPY`` reads text) on PostgreSQL too.

    Columns the rows leave out get their Python-side defaults, as ``insert(table)`` would."""
    names, columns = _bound_columns(dialect, table, rows, json_text=json_text, defaults=True)
    return names, list(zip(*columns, strict=True))


def _bound_columns(
    dialect: Any,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    json_text: bool = False,
    defaults: bool = False,
) -> tuple[list[str], list[list[Any]]]:
    """:func:`_bound` by column: the names, and each column's values in row order; the
    Python-side defaults of the columns left out only with ``defaults``."""
    missing = [col for col in table.c if col.default is not None and col.name not in rows[0]]
    if missing and defaults:
        extra = {}
        for col in missing:
            default: Any = col.default
            if not (default.is_scalar or default.is_callable):
                raise ValueError(f"{table.name}.{col.name}: give its value")  # pragma: no cover
            extra[col.name] = default.arg(None) if default.is_callable else default.arg
        rows = [{**extra, **row} for row in rows]
    names = list(rows[0])
    processors = [table.c[name].type._cached_bind_processor(dialect) for name in names]
    columns = []
    for name, process in zip(names, processors, strict=True):
        column = [row[name] for row in rows]
        if isinstance(table.c[name].type, JSONDict | JSONList) and (
            json_text or dialect.name == "sqlite"
        ):
            column = [None if v is None else _json_text(v) for v in column]  # JSON text, faster
        elif process is not None:
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
    return names, columns


def execute_many(session: Session, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Run ``statement`` (an ``INSERT`` or ``UPDATE`` with named parameters, built once and
    kept) for each of ``rows`` in one driver ``executemany``.

    The values go through each parameter's bind processor, as SQLAlchemy would send them,
    but without its per-row bookkeeping, which costs more than the statement for the few
    dozen rows a batch of events updates.
    """
    if not rows:
        return
    connection = session.connection()
    sql, names, fixed, processors = _driver_statement(connection.dialect, statement)
    values: list[Any] = []
    for row in rows:
        given = {**fixed, **row} if fixed else row
        bound = {
            k: (p(v) if v is not None and (p := processors.get(k)) is not None else v)
            for k, v in given.items()
        }
        values.append(bound if names is None else tuple(bound[n] for n in names))
    connection.exec_driver_sql(sql, values)


@lru_cache(maxsize=64)
def _driver_statement(
    dialect: Any, statement: Any
) -> tuple[str, tuple[str, ...] | None, dict[str, Any], dict[str, Any]]:
    """``statement`` as the driver's SQL; the order of its parameters (``None`` when the
    driver takes them by name); the values fixed in the statement (``source = 'events'``);
    and each parameter's bind processor."""
    compiled = statement.compile(dialect=dialect)
    positional = dialect.paramstyle in ("qmark", "format", "numeric")
    names = tuple(compiled.positiontup or ()) if positional else None
    sql = compiled.string
    fixed = {
        key: bind.effective_value
        for key, bind in compiled.binds.items()
        if not bind.required and (key in names if names is not None else f"%({key})s" in sql)
    }
    processors = {
        key: process
        for key, bind in compiled.binds.items()
        if (process := bind.type._cached_bind_processor(dialect)) is not None
    }
    return sql, names, fixed, processors


def update_profiles(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Set ``lead_id``, ``contact_id`` and ``account_id`` of profiles, by ``id``."""
    update_rows(session, PROFILES, rows)


def update_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], key: tuple[str, ...] = ("id",)
) -> None:
    """Set columns of ``table``'s rows found by ``key`` (unique columns): each of ``rows``
    holds the key's columns and the same others, each key at most once. On PostgreSQL one
    statement joins the table to the values sent as one array per column (``unnest``), rather
    than an execution per row; elsewhere, one ``executemany``."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql":
        statement = _update_rows_statement(table, key, tuple(k for k in rows[0] if k not in key))
        execute_many(session, statement, [{f"v_{k}": v for k, v in row.items()} for row in rows])
        return
    names, columns = _bound_columns(dialect, table, rows)
    connection.exec_driver_sql(_unnest_update(dialect, table, tuple(names), key), tuple(columns))


@lru_cache(maxsize=16)
def _update_rows_statement(table: Table, key: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    return (
        update(table)
        .where(*(table.c[name] == bindparam(f"v_{name}") for name in key))
        .values({name: bindparam(f"v_{name}") for name in columns})  # column names are taken
    )


@lru_cache(maxsize=16)
def _unnest_update(dialect: Any, table: Table, names: tuple[str, ...], key: tuple[str, ...]) -> str:
    """PostgreSQL's ``UPDATE table SET ... FROM unnest(arrays)`` for :func:`update_rows`, the
    arrays of the columns ``names`` in that order. The values' row count is unknown to the
    planner (it assumes a few), so each row is found through the key's unique index."""
    preparer = dialect.identifier_preparer
    target = preparer.format_table(table)
    arrays = ", ".join(f"%s::{table.c[n].type.compile(dialect=dialect)}[]" for n in names)
    aliases = ", ".join(f"v{n}" for n in range(len(names)))
    sets = [f"{preparer.quote(name)} = v.v{n}" for n, name in enumerate(names) if name not in key]
    matches = [
        f"{target}.{preparer.quote(name)} = v.v{n}" for n, name in enumerate(names) if name in key
    ]
    return (
        f"UPDATE {target} SET {', '.join(sets)} FROM unnest({arrays}) AS v({aliases}) "
        f"WHERE {' AND '.join(matches)}"
    )


def move_identities(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Point identities (``kind``, ``value``) at another profile (``profile_id``)."""
    update_rows(session, IDENTITIES, rows, key=("kind", "value"))


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
    lookup, where a filter on "no lead yet" could scan every anonymous row (one ``UPDATE``
    joining the profiles to their events was tried on PostgreSQL: on a new store, before
    ``ANALYZE`` had run, it scanned whole tables, up to 110 ms a batch). Three statements for
    the whole batch (:func:`update_rows`).
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
    touchpoints = [
        {"source": SOURCE, "external_id": m, "lead_id": lead, "contact_id": contact,
         "account_id": account}
        for m, (lead, contact, account) in moves
    ]  # fmt: skip
    update_rows(session, TOUCHPOINTS, touchpoints, key=("source", "external_id"))
    events = [{"message_id": m, "lead_id": lead} for m, (lead, _, _) in moves]
    update_rows(session, EVENTS, events, key=("message_id",))


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
