"""Shared fixtures: real SQLite always, real PostgreSQL when BATON_TEST_DATABASE_URL is set,
and the public datasets in ../shared/data."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import ibis
import pytest
from ibis.backends import BaseBackend
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from tests.fixtures.receivers import Hook, Mailbox, smtp_server, webhook_receiver

from baton.analytics.engine import connect
from baton.analytics.source import Tables
from baton.store.engine import make_engine, normalize_url
from baton.store.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


def shared_data_dir() -> Path:
    return Path(os.environ.get("BATON_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skipped when absent unless BATON_REQUIRE_SHARED_DATA=1 (CI)."""
    path = shared_data_dir()
    if not path.is_dir():
        reason = f"the public datasets are not at {path} (set BATON_SHARED_DATA to their folder)"
        if os.environ.get("BATON_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(reason + "; BATON_REQUIRE_SHARED_DATA=1 requires them")
        pytest.skip(reason)
    return path


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on loopback (aiosmtpd): its mailbox and its port."""
    with smtp_server() as found:
        yield found


@pytest.fixture
def webhook() -> Iterator[tuple[Hook, str]]:
    """A Slack-style webhook receiver on loopback: what it got and its URL."""
    with webhook_receiver() as found:
        yield found


@pytest.fixture
def clock() -> object:
    """A clock frozen at NOW, passed to services instead of reading global time."""
    return lambda: NOW


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("BATON_TEST_DATABASE_URL")
    if not url:
        pytest.skip(
            "no PostgreSQL configured: set BATON_TEST_DATABASE_URL to run the PostgreSQL tests"
        )
    return normalize_url(url)


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped after it."""
    name = f"baton_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'baton.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on SQLite and on PostgreSQL (the test runs on both)."""
    yield from _engine(database_url)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite engine, for tests that are about something other than the store."""
    yield from _engine(sqlite_url)


@pytest.fixture
def ten_lead_tables(engine: Engine, database_url: str, clock: object) -> Iterator[Tables]:
    """The ten-lead history (``tests/fixtures/ten_leads.py``) in the store, read as analytics
    tables; on SQLite and PostgreSQL like ``engine``."""
    from tests.fixtures import ten_leads

    from baton.analytics.source import from_store

    ten_leads.load(engine, clock)
    tables = from_store(database_url)
    try:
        yield tables
    finally:
        tables.close()


@pytest.fixture
def ten_lead_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: object) -> Path:
    """A working folder whose SQLite store (``BATON_DATABASE_URL``) holds the ten-lead history,
    for running the command line as a user does; the default contract is in force."""
    from tests.fixtures import ten_leads

    url = f"sqlite:///{tmp_path / 'baton.db'}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_DATABASE_URL", url)
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    engine = make_engine(url)
    upgrade(engine)
    ten_leads.load(engine, clock)
    engine.dispose()
    return tmp_path


@pytest.fixture(params=["duckdb", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[BaseBackend]:
    """An empty Ibis backend of each engine: DuckDB and SQLite in memory, a fresh PostgreSQL."""
    if request.param == "duckdb":
        con: BaseBackend = ibis.duckdb.connect()
    elif request.param == "sqlite":
        con = ibis.sqlite.connect()
    else:
        con = connect(request.getfixturevalue("postgres_url"))
    yield con
    con.disconnect()
