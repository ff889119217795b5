"""Build the SQLAlchemy engine for a database URL and translate driver errors into ours."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from baton.errors import Conflict, InvalidInput, StoreError


def normalize_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, immediate: bool = False, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and a busy timeout on every connection.

    With ``immediate``, every SQLite transaction begins with ``BEGIN IMMEDIATE``: it takes the
    write lock at once (waiting up to the busy timeout) instead of at its first write, so a
    transaction that reads and then writes never fails because another process wrote in
    between. Ingestion uses it; it changes nothing on PostgreSQL.
    """
    url = normalize_url(url)
    is_sqlite = url.startswith("sqlite")
    if is_sqlite:
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
    engine = create_engine(url, future=True, **kwargs)
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
        if immediate:
            event.listen(engine, "connect", _sqlite_manual_transactions)
            event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    # the sqlite3 module would otherwise issue its own deferred BEGIN before the first write
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    if not _is_memory(dbapi_connection):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _is_memory(dbapi_connection: Any) -> bool:
    rows = dbapi_connection.execute("PRAGMA database_list").fetchall()
    return any(row[1] == "main" and not row[2] for row in rows)


@contextmanager
def translate_errors(what: str) -> Iterator[None]:
    """Map driver errors raised inside the block to Baton's, keeping the original as cause."""
    try:
        yield
    except sa_exc.IntegrityError as exc:
        raise Conflict(f"{what}: {_first_line(exc.orig)}") from exc
    except sa_exc.DataError as exc:
        raise InvalidInput(f"{what}: {_first_line(exc.orig)}") from exc
    except sa_exc.OperationalError as exc:
        raise StoreError(
            f"{what}: the database failed ({_first_line(exc.orig)}); check BATON_DATABASE_URL "
            "and that the database is reachable"
        ) from exc
    except sa_exc.ProgrammingError as exc:
        raise StoreError(
            f"{what}: {_first_line(exc.orig)}; run `baton db upgrade` if the schema is missing"
        ) from exc


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
