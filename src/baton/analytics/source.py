"""Where analytics read from: the operational store, or a DuckDB file / Parquet export of it.

Every metric takes Ibis tables and returns Ibis tables, so the same expression runs on
SQLite, PostgreSQL and DuckDB. :class:`Tables` bundles the store's tables from one backend.
Timestamps are naive UTC on every backend (SQLite stores them so; PostgreSQL sessions opened
by :func:`baton.analytics.engine.connect` run in UTC and Parquet exports are written so), so
period bounds are passed as naive UTC datetimes (see :mod:`baton.analytics.period`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import duckdb
import ibis
from ibis.backends import BaseBackend

from baton.analytics.engine import connect
from baton.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class Tables:
    """The store's tables as Ibis tables on one backend."""

    backend: BaseBackend
    leads: ibis.Table
    stage_changes: ibis.Table
    touchpoints: ibis.Table
    activities: ibis.Table
    opportunities: ibis.Table
    users: ibis.Table
    teams: ibis.Table
    accounts: ibis.Table
    contacts: ibis.Table
    campaigns: ibis.Table
    campaign_spend: ibis.Table

    @classmethod
    def names(cls) -> list[str]:
        """The table names, in the order of the fields."""
        return [f.name for f in fields(cls) if f.name != "backend"]

    def close(self) -> None:
        self.backend.disconnect()


def from_backend(backend: BaseBackend) -> Tables:
    """The store's tables on an open Ibis backend that holds them under their own names."""
    present = set(backend.list_tables())
    missing = [name for name in Tables.names() if name not in present]
    if missing:
        raise NotFound(
            f"the analytics source lacks the tables {', '.join(missing)}; "
            "run `baton db upgrade` on the store, or export it again with `baton export parquet`"
        )
    return Tables(backend, **{name: backend.table(name) for name in Tables.names()})


def from_store(database_url: str) -> Tables:
    """The tables of the operational store (SQLite or PostgreSQL) at ``database_url``."""
    return from_backend(connect(database_url))


def from_parquet(folder: Path) -> Tables:
    """The tables of a Parquet export (one ``<table>.parquet`` per table), read by DuckDB."""
    if not folder.is_dir():
        raise NotFound(f"{folder}: no such folder; run `baton export parquet {folder}` first")
    backend = ibis.duckdb.connect()
    for name in Tables.names():
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise NotFound(f"{path}: missing from the export; run `baton export parquet` again")
        backend.read_parquet(path, table_name=name)
    return from_backend(backend)


def from_duckdb(path: Path) -> Tables:
    """The tables of a DuckDB database file holding the store's tables."""
    if not path.is_file():
        raise NotFound(f"{path}: no such DuckDB file")
    return from_backend(ibis.duckdb.connect(str(path)))


#: The ``--source`` that means the operational store itself.
STORE = "store"


def open_source(spec: str | None, database_url: str) -> Tables:
    """The tables an analytics command reads, from its ``--source`` option.

    Parameters
    ----------
    spec
        ``"store"`` (or nothing) for the operational store at ``database_url``; the path of a
        DuckDB file (``*.duckdb``, ``*.db`` written by ``baton export duckdb``, or any
        existing file); or the folder of a Parquet export (``baton export parquet``).
    database_url
        The store's URL (``BATON_DATABASE_URL``), used when ``spec`` names the store.

    Returns
    -------
    Tables
        The store's tables on the matching backend; close them with :meth:`Tables.close`.

    Raises
    ------
    NotFound
        When the file or folder does not exist, or lacks a table.
    InvalidInput
        For a store URL Baton cannot read analytics from.
    """
    if spec is None or spec.strip() in ("", STORE):
        return from_store(database_url)
    path = Path(spec).expanduser()
    if path.is_dir():
        return from_parquet(path)
    if path.is_file() or path.suffix == ".duckdb":
        try:
            return from_duckdb(path)
        except duckdb.Error as exc:
            raise InvalidInput(
                f"--source {path}: not a DuckDB file ({str(exc).splitlines()[0]}); give a file "
                "written by `baton export duckdb`, or a folder written by `baton export parquet`"
            ) from exc
    raise NotFound(
        f'--source "{spec}": no such file or folder; give "store", a DuckDB file written by '
        "`baton export duckdb FILE`, or a folder written by `baton export parquet FOLDER`"
    )
