"""Connect Ibis to the operational store, so metrics run inside the database that holds the data.

Analytics are Ibis expressions over the store's tables; :func:`connect` opens the same database
the store uses (its SQLAlchemy URL) with the matching Ibis backend. Only small results come
back to Python.

Timestamps: the store keeps moments in UTC. PostgreSQL columns are ``timestamptz``; SQLite has
no time zone type, so there they are naive UTC text (``2026-07-01 13:00:00.000000``), which
Ibis reads as naive timestamps. Expressions that compare or bucket times must treat naive
values as UTC on both backends.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import ibis
import psycopg
from ibis.backends import BaseBackend
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from baton.errors import InvalidInput, StoreError


def connect(database_url: str) -> BaseBackend:
    """An Ibis connection to the store at ``database_url`` (SQLite file or PostgreSQL).

    Parameters
    ----------
    database_url
        The store's SQLAlchemy URL, as in ``BATON_DATABASE_URL``: ``sqlite:///baton.db`` or
        ``postgresql://user:password@host:5432/db`` (any PostgreSQL driver suffix).

    Returns
    -------
    ibis.backends.BaseBackend
        A connection; close it with ``disconnect()``.

    Raises
    ------
    InvalidInput
        For a URL that is not SQLite or PostgreSQL, or an in-memory SQLite database (another
        connection cannot see it).
    StoreError
        When the database cannot be reached.
    """
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise InvalidInput(
            f'"{database_url}" is not a database URL; use e.g. sqlite:///baton.db'
        ) from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise InvalidInput(
                "analytics cannot read an in-memory SQLite database; point BATON_DATABASE_URL at a "
                "file, e.g. sqlite:///baton.db"
            )
        return _open("sqlite", database=url.database)
    if backend == "postgresql":
        options: dict[str, Any] = {
            "host": url.host,
            "port": url.port,
            "user": url.username,
            "password": url.password,
            "database": url.database,
            # analytics treat every timestamp as naive UTC, on PostgreSQL as on SQLite
            "options": "-c TimeZone=UTC",
            **url.query,
        }
        return _open("postgres", **{k: v for k, v in options.items() if v is not None})
    raise InvalidInput(
        f'analytics read SQLite or PostgreSQL stores, not "{backend}"; check BATON_DATABASE_URL'
    )


def _open(backend: str, **options: Any) -> BaseBackend:
    try:
        connection: BaseBackend = getattr(ibis, backend).connect(**options)
    except (sqlite3.Error, psycopg.Error) as exc:
        raise StoreError(
            f"analytics could not open the {backend} store: {str(exc).strip().splitlines()[0]}"
        ) from exc
    return connection
