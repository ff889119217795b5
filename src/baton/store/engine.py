"""Build the SQLAlchemy engine for a database URL and translate driver errors into ours."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from baton.errors import Conflict, InvalidInput, StoreError

log = logging.getLogger(__name__)

#: Pages SQLite's write-ahead log may reach before the connection that commits copies them back
#: into the database file itself (SQLite's default is 1,000). With :class:`Checkpointer`
#: running this is only a backstop: the commit that pays for a checkpoint waits for the copy
#: and its fsync, tens of milliseconds, which a request must not pay.
BACKSTOP_PAGES = 20_000


def _null(_value: None) -> None:
    return None


# Python's sqlite3 binds an int, float, str or bytes parameter as it is; any other value, None
# and bool included, it first "adapts": it looks up an adapter for the value's type and, finding
# none, asks the protocol for ``__adapt__`` and the value for ``__conform__``, two failed
# attribute lookups that each format an AttributeError message. Ingestion binds a dozen None
# per event; that was 8% of its instructions. Adapters for both make the first lookup succeed
# and bind exactly what was bound before (NULL; 0 or 1).
sqlite3.register_adapter(type(None), _null)
sqlite3.register_adapter(bool, int)


def normalize_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(
    url: str, *, immediate: bool = False, background_checkpoints: bool = False, **kwargs: Any
) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and a busy timeout on every connection.

    With ``immediate``, every SQLite transaction begins with ``BEGIN IMMEDIATE``: it takes the
    write lock at once (waiting up to the busy timeout) instead of at its first write, so a
    transaction that reads and then writes never fails because another process wrote in
    between. Ingestion uses it; it changes nothing on PostgreSQL.

    With ``background_checkpoints``, SQLite connections leave copying the write-ahead log back
    into the database file to a :class:`Checkpointer` (up to :data:`BACKSTOP_PAGES`), so their
    commits never wait for it.
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
        if background_checkpoints:
            event.listen(engine, "connect", _sqlite_backstop_checkpoints)
    return engine


def _sqlite_backstop_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")


class WriteLock:
    """One writer at a time: among this process's threads and, given ``path``, among the
    processes that lock the same file (``flock``; the file holds nothing).

    SQLite's own lock lets a waiting writer only poll, sleeping longer each time: a process
    that writes transaction after transaction (``baton serve``'s event writer) keeps it nearly
    always, and a form posted meanwhile in the other process waited up to a second. A waiter
    on this lock is woken as soon as it is released, and gets it: the writer takes a few
    milliseconds before it asks again."""

    def __init__(self, path: str | None = None) -> None:
        self._threads = threading.Lock()
        self._fd: int | None = None
        if path is not None:
            import fcntl  # POSIX only: the writer process is for `baton serve` there

            self._flock = fcntl.flock
            self._exclusive, self._unlock = fcntl.LOCK_EX, fcntl.LOCK_UN
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> Self:
        self._threads.acquire()
        if self._fd is not None:
            try:
                self._flock(self._fd, self._exclusive)
            except BaseException:
                self._threads.release()
                raise
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._fd is not None:
            self._flock(self._fd, self._unlock)
        self._threads.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def sqlite_file(engine: Engine) -> str | None:
    """The path of ``engine``'s SQLite database file; ``None`` for another database, an
    in-memory one or a ``file:`` URI."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None
    return None if path.startswith("file:") else path


def lock_path(engine: Engine) -> str | None:
    """The file :class:`WriteLock` locks for ``engine``'s SQLite file; ``None`` for others."""
    path = sqlite_file(engine)
    return f"{path}.write-lock" if path is not None else None


class Housekeeper:
    """A store's upkeep: ``target`` runs on a daemon thread of its own from :meth:`start`, and
    is told to finish by :meth:`stop` (it waits on ``self._stop`` ``every`` seconds)."""

    def __init__(self, *, name: str, every: float, target: Callable[[], None]) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=target, name=name, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


class Checkpointer(Housekeeper):
    """Copies a SQLite database's write-ahead log back into its file, from a thread of its own.

    In WAL mode every commit appends to the log, and the commit that takes the log past
    ``wal_autocheckpoint`` pages copies it back and syncs the file: one request in a few
    hundred waits tens of milliseconds (on this machine, the slowest 1% of lead forms). This
    thread instead runs a PASSIVE checkpoint every ``every`` seconds on a connection of its
    own: it never takes the write lock, so writers go on while it copies, and SQLite starts the
    log over at the next write once every page is copied. Connections made with
    ``make_engine(..., background_checkpoints=True)`` leave checkpoints to it.
    """

    def __init__(self, path: str, *, every: float = 0.5) -> None:
        super().__init__(name="baton-sqlite-checkpoint", every=every, target=self._run)
        self.path = path

    @classmethod
    def for_engine(cls, engine: Engine, *, every: float = 0.5) -> Checkpointer | None:
        """A checkpointer for ``engine``'s database file; ``None`` unless it is a SQLite file."""
        path = sqlite_file(engine)
        return cls(path, every=every) if path is not None else None

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA busy_timeout=1000")
            while not self._stop.wait(self.every):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # a busy or failing disk: the backstop still holds
                    log.warning("checkpoint of %s failed: %s", self.path, exc)
        finally:
            connection.close()


class StatisticsKeeper(Housekeeper):
    """Keeps PostgreSQL's statistics of young, fast-growing tables current, from a thread.

    The planner picks plans by the table sizes its statistics give. Autovacuum refreshes
    them once a minute at best, after a tenth of a table has changed; a new store taking
    events grows from nothing to tens of thousands of rows in that time, and meanwhile every
    lookup is planned for the empty tables it saw last (scans of "a few rows" that are
    thousands, 3-7 ms a request and growing, where the index takes well under one). This
    thread looks at the ingestion tables every ``every`` seconds and runs ``ANALYZE`` on each
    that has changed by half its size since its statistics were taken (and by at least
    :data:`MIN_CHANGES` rows): often while a table is young, about never once it is large,
    when autovacuum's own rule comes first. ``baton serve`` runs one on PostgreSQL.
    """

    #: The tables ingestion writes on every request.
    TABLES = (
        "events", "touchpoints", "identities", "profiles", "leads", "contacts", "lead_scores",
        "stage_changes", "accounts",
    )  # fmt: skip
    MIN_CHANGES = 1_000
    SHARE = 0.5

    def __init__(self, engine: Engine, *, every: float = 3.0) -> None:
        super().__init__(name="baton-postgres-statistics", every=every, target=self._run)
        self.engine = engine

    @classmethod
    def for_engine(cls, engine: Engine, *, every: float = 3.0) -> StatisticsKeeper | None:
        """A keeper for ``engine``'s database; ``None`` unless it is PostgreSQL."""
        return cls(engine, every=every) if engine.dialect.name == "postgresql" else None

    def stale(self, connection: Connection) -> list[str]:
        """The tables whose statistics are behind by the rule above."""
        rows = connection.execute(
            text(
                "SELECT relname, n_live_tup, n_mod_since_analyze FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema() AND relname = ANY(:tables)"
            ),
            {"tables": list(self.TABLES)},
        )
        return sorted(
            name
            for name, live, changed in rows
            if changed >= max(self.MIN_CHANGES, self.SHARE * max(live - changed, 0))
        )

    def analyze_stale(self, connection: Connection) -> list[str]:
        """Analyze the stale tables (one statement each); their names."""
        tables = self.stale(connection)
        preparer = self.engine.dialect.identifier_preparer
        for table in tables:
            connection.exec_driver_sql(f"ANALYZE {preparer.quote(table)}")
        return tables

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.engine.connect() as connection:
                    self.analyze_stale(connection.execution_options(isolation_level="AUTOCOMMIT"))
            except sa_exc.DBAPIError as exc:  # not the tables' owner, or the server is away
                log.warning("keeping the planner's statistics failed: %s", _first_line(exc.orig))
                if not isinstance(exc, sa_exc.OperationalError):
                    return  # a lasting refusal: autovacuum alone keeps them, as without us


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
