"""The store on a real SQLite file and a real PostgreSQL database (each test runs on both)."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, select

from baton.contract import default_contract_text
from baton.errors import Conflict, NotFound
from baton.service.contracts import apply_contract, contract_in_force, list_versions
from baton.store import tables as t
from baton.store.engine import BACKSTOP_PAGES, Checkpointer, make_engine, translate_errors
from baton.store.migrate import current_revision, head_revision, upgrade
from baton.store.uow import UnitOfWork

EXPECTED_TABLES = {
    "accounts", "activities", "campaigns", "contacts", "contract_versions", "import_runs",
    "leads", "opportunities", "stage_changes", "teams", "touchpoints", "users",
}


def test_the_migration_creates_the_schema_on_an_empty_database(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    names = set(sa.inspect(engine).get_table_names())
    assert names >= EXPECTED_TABLES
    assert upgrade(engine) == head_revision()  # running it again is harmless
    engine.dispose()


def test_times_come_back_in_utc_and_money_as_decimal(engine: Engine) -> None:
    berlin = dt.timezone(dt.timedelta(hours=2))
    created = dt.datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=berlin)
    with UnitOfWork(engine) as uow:
        uow.session.add(t.Lead(source="test", external_id="L1", created_at=created, properties={"a": [1, 2]}))
        uow.session.add(t.Opportunity(source="test", external_id="O1", stage="won", amount=Decimal("1234.56"), properties={}))
        uow.commit()
    with UnitOfWork(engine) as uow:
        lead = uow.session.scalars(select(t.Lead)).one()
        deal = uow.session.scalars(select(t.Opportunity)).one()
        assert lead.created_at == created and lead.created_at.tzinfo == dt.UTC
        assert lead.created_at.hour == 7
        assert lead.properties == {"a": [1, 2]}
        assert deal.amount == Decimal("1234.56") and isinstance(deal.amount, Decimal)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.session.add(t.Lead(source="test", external_id="L1", created_at=dt.datetime(2026, 1, 1), properties={}))
        with pytest.raises(Exception, match="no time zone"):
            uow.session.flush()


def test_source_and_external_id_are_unique_and_the_error_is_ours(engine: Engine) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with UnitOfWork(engine) as uow:
        for _ in range(2):
            uow.session.add(t.Lead(source="test", external_id="same", created_at=now, properties={}))
        with pytest.raises(Conflict, match="saving to the database"):
            uow.commit()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with UnitOfWork(engine) as uow:
        uow.session.add(t.Lead(source="test", external_id="x", created_at=now, account_id=999, properties={}))
        with pytest.raises(Conflict):
            uow.commit()


def test_the_stage_log_is_append_only(engine: Engine) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(t.StageChangeRow), [{
            "subject": "lead", "subject_id": 1, "from_stage": None, "to_stage": "mql",
            "at": now, "actor": "test", "recorded_at": now,
        }])
    for statement in (
        sa.update(t.StageChangeRow).values(to_stage="sql"),
        sa.delete(t.StageChangeRow),
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            engine.begin() as conn,
            translate_errors("changing the stage log"),
        ):
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(select(t.StageChangeRow.to_stage)).scalars().all() == ["mql"]


def test_contract_versions_are_stored_once_per_text_with_an_effective_date(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    text = default_contract_text()
    with UnitOfWork(engine) as uow:
        first = apply_contract(uow.session, text, clock=clock)
        again = apply_contract(uow.session, text, clock=clock)
        changed = text.replace("min_score = 50", "min_score = 60").replace(
            "# effective_from = 2026-01-01", "effective_from = 2027-01-01"
        )
        second = apply_contract(uow.session, changed, clock=clock)
        uow.commit()
    assert (first.version, first.created) == (1, True)
    assert (again.version, again.created) == (1, False)
    assert second.version == 2
    # midnight in the contract's business-hours zone (New York, UTC-5 in January)
    assert second.effective_at == dt.datetime(2027, 1, 1, 5, 0, tzinfo=dt.UTC)
    with UnitOfWork(engine) as uow:
        assert [v.version for v in list_versions(uow.session)] == [1, 2]
        now_in_force = contract_in_force(uow.session, clock())
        later = contract_in_force(uow.session, dt.datetime(2027, 6, 1, tzinfo=dt.UTC))
        assert now_in_force.version == 1 and now_in_force.contract.qualification.mql.min_score == 50
        assert later.version == 2 and later.contract.qualification.mql.min_score == 60
        with pytest.raises(NotFound, match="baton contract apply"):
            contract_in_force(uow.session, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))


def test_a_background_checkpointer_copies_the_log_so_commits_never_do(tmp_path: Path) -> None:
    """Commits on a ``background_checkpoints`` engine leave the write-ahead log alone (up to the
    backstop); the checkpointer's thread copies it into the database file while they go on."""
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}", immediate=True, background_checkpoints=True)
    with engine.begin() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == BACKSTOP_PAGES
        connection.exec_driver_sql("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)")
    size = path.stat().st_size
    for _ in range(40):  # ~4 MB in 40 commits: past SQLite's own 1,000-page checkpoint
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO blobs (body) VALUES (randomblob(100000))")
    assert path.stat().st_size == size, "a commit checkpointed: the backstop is not in force"
    checkpointer = Checkpointer.for_engine(engine, every=0.02)
    assert checkpointer is not None
    checkpointer.start()
    try:
        deadline = time.monotonic() + 10
        while path.stat().st_size < 4_000_000 and time.monotonic() < deadline:
            with engine.begin() as connection:  # writers go on while it copies
                connection.exec_driver_sql("INSERT INTO blobs (body) VALUES (x'00')")
            time.sleep(0.02)
    finally:
        checkpointer.stop()
    assert path.stat().st_size >= 4_000_000
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM blobs").scalar() >= 41
    engine.dispose()


def test_none_and_bool_bind_in_sqlite_as_they_always_did(tmp_path: Path) -> None:
    """The adapters the store registers for None and bool (a shortcut past sqlite3's failed
    attribute lookups) bind NULL and 0/1, and other types are adapted as before."""
    import sqlite3

    import baton.store.engine  # noqa: F401  (registers the adapters)

    connection = sqlite3.connect(tmp_path / "bind.db")
    row = connection.execute(
        "SELECT typeof(?), ?, typeof(?), ?, ?, typeof(?), ?",
        (None, None, True, True, False, 7, "x"),
    ).fetchone()
    assert row == ("null", None, "integer", 1, 0, "integer", "x")
    with pytest.raises(sqlite3.ProgrammingError):  # a type with no adapter is still refused
        connection.execute("SELECT ?", (object(),))
    connection.close()


def test_only_a_sqlite_file_gets_a_checkpointer(database_url: str) -> None:
    engine = make_engine(database_url)
    expected = engine.dialect.name == "sqlite"
    assert (Checkpointer.for_engine(engine) is not None) == expected
    assert Checkpointer.for_engine(make_engine("sqlite://")) is None
    engine.dispose()


@pytest.mark.parametrize("count", [1, 3, 40])
def test_bulk_writes_store_every_value_and_hand_back_ids_in_order(engine: Engine, count: int) -> None:
    """Ingestion's bulk inserts: on PostgreSQL, from a few rows on, a COPY with ids taken from
    the table's sequence; below that, and on SQLite, statements. Each must store the same."""
    from baton.store import events as bulk

    at = dt.datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    rows = [
        {
            "source": "test",
            "external_id": f"L{n}",
            "email": f"p{n}@example.com" if n % 2 else None,
            "created_at": at + dt.timedelta(minutes=n),
            # text a COPY must escape, and JSON of every shape
            "first_name": "Tab\there, new\nline, back\\slash" if n == 0 else f"N{n}",
            "properties": {"n": n, "list": [1, "two", None], "quote": 'say "hi"', "é": "ü"},
        }
        for n in range(count)
    ]
    with UnitOfWork(engine) as uow:
        ids = bulk.insert_returning_ids(uow.session, bulk.LEADS, rows)
        bulk.insert_many(
            uow.session,
            bulk.TOUCHPOINTS,
            [
                {"source": "test", "external_id": f"T{n}", "lead_id": lead_id, "channel": "direct", "properties": {"n": n}, "occurred_at": at}
                for n, lead_id in enumerate(ids)
            ],
        )
        uow.commit()
    assert len(set(ids)) == count
    with UnitOfWork(engine) as uow:
        stored = {lead.id: lead for lead in uow.session.scalars(select(t.Lead))}
        touches = {touch.external_id: touch for touch in uow.session.scalars(select(t.Touchpoint))}
        for n, lead_id in enumerate(ids):
            lead = stored[lead_id]
            assert lead.external_id == f"L{n}" and lead.email == rows[n]["email"]
            assert lead.first_name == rows[n]["first_name"]
            assert lead.created_at == rows[n]["created_at"] and lead.created_at.tzinfo == dt.UTC
            assert lead.properties == rows[n]["properties"]
            assert lead.stage is None  # a column the rows leave out keeps its default
            assert touches[f"T{n}"].lead_id == lead_id and touches[f"T{n}"].properties == {"n": n}
    # a row that breaks a unique index fails like a statement does: our Conflict, nothing kept
    with UnitOfWork(engine) as uow, pytest.raises(Conflict, match="storing"), translate_errors("storing"):
        bulk.insert_many(uow.session, bulk.TOUCHPOINTS, [{**r, "external_id": "T0"} for r in [
            {"source": "test", "lead_id": ids[0], "channel": "direct", "properties": {}, "occurred_at": at}
        ] * max(count, bulk.COPY_FROM)])
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.session.scalar(select(sa.func.count()).select_from(t.Touchpoint)) == count


def test_bulk_ids_stay_right_after_rows_are_deleted_and_between_writers(engine: Engine) -> None:
    """The ids a bulk insert hands back are its rows' (on SQLite, the run ending at the last id
    written): also after the newest row was deleted (SQLite gives its id again) and with
    another writer between two transactions."""
    from baton.store import events as bulk

    at = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)

    def leads(*names: str) -> list[dict[str, object]]:
        return [{"source": "test", "external_id": n, "created_at": at, "properties": {}} for n in names]

    with UnitOfWork(engine) as uow:
        first = bulk.insert_returning_ids(uow.session, bulk.LEADS, leads("a", "b", "c"))
        uow.session.execute(sa.delete(t.Lead).where(t.Lead.id == first[-1]))
        uow.commit()
    with UnitOfWork(engine) as uow:  # another writer's row in between
        uow.session.add(t.Lead(source="test", external_id="other", created_at=at, properties={}))
        uow.commit()
    with UnitOfWork(engine) as uow:
        second = bulk.insert_returning_ids(uow.session, bulk.LEADS, leads("d", "e"))
        uow.commit()
    with UnitOfWork(engine) as uow:
        names = {i: n for i, n in uow.session.execute(select(t.Lead.id, t.Lead.external_id))}
    assert [names[i] for i in [*first[:2], *second]] == ["a", "b", "d", "e"]


@pytest.mark.postgres
def test_a_copy_whose_connection_is_lost_fails_as_a_store_error_and_the_pool_moves_on(postgres_url: str) -> None:
    from baton.errors import StoreError
    from baton.store import events as bulk

    engine = make_engine(postgres_url)
    upgrade(engine)
    at = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    rows = [{"source": "test", "external_id": f"L{n}", "created_at": at, "properties": {}} for n in range(bulk.COPY_FROM)]
    with UnitOfWork(engine) as uow, pytest.raises(StoreError, match="the database failed"), translate_errors("storing"):
        pid = uow.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with engine.connect() as other:  # the server ends this session's connection
            other.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        bulk.insert_many(uow.session, bulk.LEADS, rows)
    with UnitOfWork(engine) as uow:  # the next transaction gets a working connection
        bulk.insert_many(uow.session, bulk.LEADS, rows)
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.session.scalar(select(sa.func.count()).select_from(t.Lead)) == bulk.COPY_FROM
    engine.dispose()


@pytest.mark.postgres
def test_the_statistics_keeper_analyzes_a_young_table_once_it_has_grown_by_half(postgres_url: str) -> None:
    from baton.store import events as bulk
    from baton.store.engine import StatisticsKeeper

    engine = make_engine(postgres_url)
    upgrade(engine)
    keeper = StatisticsKeeper.for_engine(engine)
    assert keeper is not None and StatisticsKeeper.for_engine(make_engine("sqlite://")) is None
    at = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)

    def add(first: int, count: int) -> None:
        rows = [{"source": "test", "external_id": f"L{n}", "created_at": at, "properties": {}} for n in range(first, first + count)]
        with UnitOfWork(engine) as uow:
            bulk.insert_many(uow.session, bulk.LEADS, rows)
            uow.commit()

    def stale_within(seconds: float) -> list[str]:
        # the server counts changes a moment after each transaction ends
        deadline = time.monotonic() + seconds
        with engine.connect() as conn:
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            while True:
                found = keeper.stale(auto)
                if found or time.monotonic() > deadline:
                    return found
                time.sleep(0.2)

    add(0, 400)
    assert stale_within(2) == []  # fewer changes than MIN_CHANGES: left to autovacuum
    add(400, 1_600)
    assert stale_within(10) == ["leads"]
    with engine.connect() as conn:
        assert keeper.analyze_stale(conn.execution_options(isolation_level="AUTOCOMMIT")) == ["leads"]
        assert conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE relname = 'leads'").scalar_one() == 2_000
    add(2_000, 600)  # 2,000 analyzed, 600 more: not yet half again
    assert stale_within(2) == []
    engine.dispose()


def test_json_columns_of_the_growing_tables_get_no_planner_statistics(postgres_url: str) -> None:
    from alembic import command

    from baton.store.engine import StatisticsKeeper
    from baton.store.migrate import alembic_config
    from baton.store.types import JSONDict, JSONList

    engine = make_engine(postgres_url)
    upgrade(engine)
    query = (
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relname = ANY(%(tables)s) AND a.attnum > 0 AND a.attstattarget = 0"
    )
    with engine.connect() as conn:
        skipped = set(conn.exec_driver_sql(query, {"tables": list(StatisticsKeeper.TABLES)}).all())
    json_columns = {
        (name, column.name)
        for name in StatisticsKeeper.TABLES
        for column in t.Base.metadata.tables[name].c
        if isinstance(column.type, JSONDict | JSONList)
    }
    assert skipped == json_columns  # every JSON column of them, and nothing else
    config = alembic_config()
    with engine.begin() as conn:  # and downgrading gives them the server's default again
        config.attributes["connection"] = conn
        command.downgrade(config, "0007_web_users")
    with engine.connect() as conn:
        assert conn.exec_driver_sql(query, {"tables": list(StatisticsKeeper.TABLES)}).all() == []
    engine.dispose()
