"""A copy of a SQLite store's analytics tables in an in-memory DuckDB, for the dashboard.

SQLite answers analytical queries (scans, joins, window functions over every lead and touch)
one row at a time: over the demo's 20,000 leads a scoreboard took 150-450 ms there and an
attribution of seven models 3 s. DuckDB runs the same Ibis expressions several times faster,
so the dashboard computes on a copy (:class:`Replica`) and keeps it close to the store:

- :meth:`Replica.load` copies the analytics tables (:meth:`Tables.names`) in one read
  transaction, so the copy is one moment of the store, typed by the store's Arrow schema
  (:func:`baton.store.arrow.arrow_schema`) as ``baton export duckdb`` types them.
- :meth:`Replica.catch_up` runs before each computation once the store changed: it brings in
  the rows added to every table since (ids above the copy's largest; SQLite writes one
  transaction at a time, so ids arrive in order) and reads again the rows :meth:`touch` named,
  the leads the dashboard's own actions changed. Whoever acts sees the effect at once.
- Rows changed in place elsewhere (an event that moves a lead's stage, an import, the worker
  reassigning a lead) reach the copy with the next whole copy: :meth:`due` says when one is
  due, the copy being older than the dashboard's cache time and the store changed since.

The thread that made a replica owns its SQLite connection and is the one to catch it up and
install a new copy (the one that runs the dashboard's analytics); other threads read the copy
through DuckDB cursors of their own (:class:`_PerThread`), and :meth:`Replica.snapshot` runs on
any thread, on a connection of its own.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend
from sqlalchemy.engine import make_url

from baton.analytics.source import Tables, from_backend
from baton.errors import StoreError
from baton.store.arrow import arrow_schema


class Replica:
    """An in-memory DuckDB copy of the SQLite store at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._store: sqlite3.Connection | None = None
        self._backend: BaseBackend | None = None
        self._tables: Tables | None = None
        self._largest: dict[str, int] = {}
        self._touched: set[int] = set()
        self._lock = threading.Lock()
        self._seen = -1  # the store's data_version when last read
        self._loaded_version = -1
        #: ``time.monotonic()`` when the whole copy was last made.
        self.loaded_at = 0.0

    # -- the copy --------------------------------------------------------------------------------
    def tables(self) -> Tables:
        """The copy's tables, made on first use."""
        if self._tables is None:
            self._backend = ibis.duckdb.connect()
            self._backend.con = _PerThread(self._backend.con)
            # Ibis registers an in-memory table once per backend, as a view of the connection
            # it runs on; here each thread runs on a cursor of its own, so once per thread
            self._backend._memtables = _PerThreadSet()
            self._copy_now()
            self._tables = from_backend(self._backend)
        return self._tables

    def load(self) -> None:
        """Copy every table again, as one moment of the store, here and now."""
        self.tables()
        self._copy_now()

    def _copy_now(self) -> None:
        version = self.version()
        self.install(self.snapshot(), version)

    def version(self) -> int:
        """The store's change counter as this thread's connection sees it; pass it, taken
        before :meth:`snapshot`, to :meth:`install`."""
        return self._version(self._connection())

    def snapshot(self) -> Snapshot:
        """Copy every table of the store, as one moment of it, beside the tables in use.

        Any thread may run it (on a connection of its own), while the owner thread keeps
        computing on the copy; :meth:`install` then puts it in place.
        """
        with self._lock:
            touched = frozenset(self._touched)
        store = sqlite3.connect(self.path, isolation_level=None)
        try:
            with _Reading(store):
                copies = {name: self._read(store, name, "") for name in Tables.names()}
        finally:
            store.close()
        cursor = self._raw().fresh()  # another connection to the same database
        try:
            for name, rows in copies.items():
                staged = f"_baton_next_{name}"
                # typed by the store's schema; DuckDB casts what SQLite gave on the way in
                cursor.register("_baton_incoming", arrow_schema(name).empty_table())
                cursor.execute(f'CREATE OR REPLACE TABLE "{staged}" AS FROM _baton_incoming')
                cursor.unregister("_baton_incoming")
                _insert(cursor, staged, rows)
        finally:
            cursor.close()
        return Snapshot({name: _largest(rows) for name, rows in copies.items()}, touched)

    def install(self, snapshot: Snapshot, version: int) -> None:
        """Put a :meth:`snapshot` in place of the tables; ``version`` was taken before it."""
        raw = self._raw()
        raw.begin()
        try:
            for name in Tables.names():
                raw.execute(f'DROP TABLE IF EXISTS "{name}"')  # none before the first
                raw.execute(f'ALTER TABLE "_baton_next_{name}" RENAME TO "{name}"')
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        self._largest = dict(snapshot.largest)
        # the snapshot holds all that ``version`` counts; anything later changes the counter,
        # and the next catch-up takes it in
        self._seen = self._loaded_version = version
        self.loaded_at = time.monotonic()
        with self._lock:
            self._touched -= snapshot.touched  # those named since are read again

    def touch(self, leads: Iterable[int]) -> None:
        """Say that the rows of ``leads`` changed in the store (any thread may call it)."""
        with self._lock:
            self._touched.update(int(x) for x in leads)

    def catch_up(self) -> bool:
        """Bring in what the store gained since it was last read; whether anything was read."""
        if self._tables is None:
            return False
        store = self._connection()
        if self._version(store) == self._seen:
            return False
        with self._lock:
            touched = sorted(self._touched)
        # the touched leads already in the copy are read again; new ones come with the rest
        again = f"WHERE id IN ({_ids(touched)}) AND id <= {self._largest.get('leads', 0):d}"
        with self._reading() as store:
            version = self._version(store)
            added = {
                name: self._read(store, name, f"WHERE id > {self._largest.get(name, 0):d}")
                for name in Tables.names()
            }
            leads = self._read(store, "leads", again) if touched else None
        raw = self._raw()
        raw.begin()
        try:
            if leads is not None:
                raw.execute(f"DELETE FROM leads {again}")
                self._insert("leads", leads)
            for name, rows in added.items():
                self._insert(name, rows)
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        for name, rows in added.items():
            self._largest[name] = max(self._largest.get(name, 0), _largest(rows))
        self._seen = version
        return True

    def due(self, ttl: float) -> bool:
        """Whether a whole copy is due: older than ``ttl`` seconds, and the store changed."""
        if self._tables is None or time.monotonic() - self.loaded_at < ttl:
            return False
        return self._version(self._connection()) != self._loaded_version

    def close(self) -> None:
        if self._backend is not None:
            self._backend.disconnect()
            self._backend = self._tables = None
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- reading the store -----------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._store is None:
            if not self.path.is_file():
                raise StoreError(f"{self.path}: the SQLite store is not there any more")
            # autocommit: each read below opens its own transaction, and closes it
            self._store = sqlite3.connect(self.path, isolation_level=None)
        return self._store

    def _reading(self) -> _Reading:
        return _Reading(self._connection())

    @staticmethod
    def _version(store: sqlite3.Connection) -> int:
        return int(store.execute("PRAGMA data_version").fetchone()[0])

    @staticmethod
    def _read(store: sqlite3.Connection, name: str, where: str) -> pa.Table:
        schema = arrow_schema(name)
        columns = ", ".join(f'"{c}"' for c in schema.names)
        try:
            rows = store.execute(f'SELECT {columns} FROM "{name}" {where} ORDER BY id').fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"could not copy {name} from the store: {exc}") from exc
        values: Sequence[Sequence[Any]] = (
            list(zip(*rows, strict=True)) if rows else [[]] * len(schema)
        )
        return pa.Table.from_arrays(
            [_column(v, f.type) for v, f in zip(values, schema, strict=True)], names=schema.names
        )

    # -- writing the copy ------------------------------------------------------------------------
    def _raw(self) -> Any:
        assert self._backend is not None
        return self._backend.con

    def _insert(self, name: str, rows: pa.Table) -> None:
        _insert(self._raw(), name, rows)


class _PerThread:
    """A DuckDB connection that each thread uses through a cursor of its own.

    DuckDB connections are not to be shared between threads; the cursors of one connection are
    connections of their own to the same database. So the thread that made the copy uses the
    connection, and any other thread (the dashboard computing ahead) gets a cursor the first
    time it asks: the Ibis backend and its tables, its kept expressions and compiled SQL are
    the same for every thread, each thread's queries and temporary tables its own.
    """

    def __init__(self, connection: Any) -> None:
        self._main = connection
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._cursors: list[Any] = []
        self._lock = threading.Lock()

    def _mine(self) -> Any:
        found = getattr(self._local, "connection", None)
        if found is None:
            if threading.get_ident() == self._owner:
                found = self._main
            else:
                found = self._main.cursor()
                with self._lock:
                    self._cursors.append(found)
            self._local.connection = found
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mine(), name)

    def fresh(self) -> Any:
        """A cursor for one piece of work, for the caller to close."""
        return self._main.cursor()

    def close(self) -> None:
        with self._lock:
            cursors, self._cursors = self._cursors, []
        for cursor in cursors:
            cursor.close()
        self._main.close()


class _PerThreadSet:
    """The in-memory tables registered, as Ibis asks (``in``, ``add``), per thread: a view
    registered on one thread's cursor is not seen by the others."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _mine(self) -> weakref.WeakSet[Any]:
        found: weakref.WeakSet[Any] | None = getattr(self._local, "tables", None)
        if found is None:
            found = self._local.tables = weakref.WeakSet()
        return found

    def __contains__(self, table: object) -> bool:
        return table in self._mine()

    def add(self, table: Any) -> None:
        self._mine().add(table)


@dataclass(frozen=True)
class Snapshot:
    """A whole copy made beside the tables in use: each table's largest id, and the leads
    named by :meth:`Replica.touch` when it began (it holds their rows as they were then)."""

    largest: dict[str, int]
    touched: frozenset[int]


def _insert(connection: Any, name: str, rows: pa.Table) -> None:
    if not rows.num_rows:
        return
    connection.register("_baton_incoming", rows)
    try:
        # DuckDB casts on the way in: times written as text, flags as 0/1, money as REAL
        connection.execute(f'INSERT INTO "{name}" SELECT * FROM _baton_incoming')
    finally:
        connection.unregister("_baton_incoming")


class _Reading:
    """One read transaction on the store: what is read inside it is one moment of it."""

    def __init__(self, store: sqlite3.Connection) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store.execute("BEGIN")
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.execute("COMMIT")


def _column(values: Sequence[Any], kind: pa.DataType) -> pa.Array:
    """A column as read from SQLite: strings, whole numbers and reals typed as the store's
    schema says; times (text), dates, flags and money as they come, for DuckDB to cast."""
    if pa.types.is_string(kind) or pa.types.is_int64(kind) or pa.types.is_float64(kind):
        try:
            return pa.array(values, kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # SQLite keeps any value in any column
            pass
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _largest(rows: pa.Table) -> int:
    if not rows.num_rows:
        return 0
    return int(pc.max(rows["id"]).as_py())


def _ids(ids: Collection[int]) -> str:
    return ", ".join(str(int(x)) for x in ids) or "NULL"


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite store's URL; ``None`` for another database or an in-memory one."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)
