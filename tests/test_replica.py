"""The dashboard's copy of a SQLite store in DuckDB (:mod:`baton.analytics.replica`): the same
rows and types as an export, what the dashboard's actions change at once, the rest with the
next whole copy."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis.expr.operations as ops
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, update
from tests.fixtures import ten_leads

from baton.analytics.export import export_duckdb
from baton.analytics.memo import Built, remember_sql, same_table
from baton.analytics.replica import Replica, sqlite_path
from baton.analytics.source import Tables, from_store
from baton.analytics.timing import AS_OF
from baton.store import tables as t
from baton.store.uow import UnitOfWork
from baton.web.dashboard import analytics as analytics_module
from baton.web.dashboard.analytics import REJECTIONS, STAGES, Analytics, checkpoint

AT = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(sqlite_engine: Engine, sqlite_url: str, clock: object) -> str:
    ten_leads.load(sqlite_engine, clock)
    return sqlite_url


@contextmanager
def _analytics(store: str, ttl: float, *, copy: bool) -> Iterator[Analytics]:
    made = Analytics(store, ttl, copy=copy)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def replica(store: str) -> Iterator[Replica]:
    made = Replica(sqlite_path(store))  # type: ignore[arg-type]
    yield made
    made.close()


def _move(engine: Engine, lead: int, stage: str, *, log: bool = True) -> None:
    """Move ``lead`` to ``stage`` in the store, logging the move (as an action does) or not."""
    with UnitOfWork(engine) as uow:
        before = uow.session.scalar(select(t.Lead.stage).where(t.Lead.id == lead))
        uow.session.execute(update(t.Lead).where(t.Lead.id == lead).values(stage=stage))
        if log:
            uow.session.add(
                t.StageChangeRow(
                    subject="lead",
                    subject_id=lead,
                    from_stage=before,
                    to_stage=stage,
                    at=AT,
                    actor="test",
                    recorded_at=AT,
                )
            )
        uow.commit()


def _stage(tables: Tables, lead: int) -> str:
    return str(tables.leads.filter(tables.leads.id == lead).stage.execute().iloc[0])


def _counting_recycled(threads: list[str]) -> Callable[[Tables], int]:
    """A section counting recycled leads that notes the thread computing it in ``threads``."""

    def recycled(tables: Tables) -> int:
        threads.append(threading.current_thread().name)
        leads = tables.leads
        return int(leads.filter(leads.stage == "recycled").count().execute())

    return recycled


def _noting(ran: list[str], name: str, pause: float = 0.0) -> Callable[[Tables], int]:
    """A section counting recycled leads that notes ``name`` in ``ran`` when it runs, taking
    ``pause`` seconds more (a slower section)."""

    def section(tables: Tables) -> int:
        ran.append(name)
        time.sleep(pause)
        leads = tables.leads
        return int(leads.filter(leads.stage == "recycled").count().execute())

    return section


def _wait_for(condition: Callable[[], bool], failure: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.02)
    time.sleep(0.1)  # what follows it (keeping the value) is done too


def _first_lead(engine: Engine) -> int:
    with UnitOfWork(engine) as uow:
        return int(uow.session.scalar(select(func.min(t.Lead.id))) or 0)


def test_the_copy_holds_every_row_of_every_table_typed_as_an_export_types_it(
    store: str, replica: Replica, tmp_path: Path
) -> None:
    copy = replica.tables().backend.con
    source = from_store(store)
    export_duckdb(source, tmp_path / "export.duckdb")
    source.close()
    with duckdb.connect(str(tmp_path / "export.duckdb"), read_only=True) as exported:
        for name in Tables.names():
            query = f'SELECT * FROM "{name}" ORDER BY id'
            assert (
                copy.execute(f'DESCRIBE "{name}"').fetchall()
                == exported.execute(f'DESCRIBE "{name}"').fetchall()
            ), name
            assert copy.execute(query).fetchall() == exported.execute(query).fetchall(), name


def test_a_query_over_an_in_memory_table_runs_on_every_thread_that_reads_the_copy(
    replica: Replica,
) -> None:
    tables = replica.tables()
    small = same_table(pd.DataFrame({"lead_id": [1, 2, 3], "weight": [1.0, 2.0, 3.0]}))
    query = tables.leads.join(small, tables.leads.id == small.lead_id).weight.sum()
    answers: list[object] = [query.execute()]  # registered here, on the owner's connection

    def elsewhere() -> None:
        try:
            answers.append(query.execute())  # on a cursor of its own
        except Exception as exc:  # the assertion below shows it
            answers.append(exc)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert answers == [6.0, 6.0]


def test_catching_up_brings_new_rows_and_the_rows_of_the_leads_said_to_have_changed(
    replica: Replica, sqlite_engine: Engine
) -> None:
    tables = replica.tables()
    lead = _first_lead(sqlite_engine)
    moves = int(tables.stage_changes.count().execute())
    assert not replica.catch_up()  # nothing changed: nothing read

    _move(sqlite_engine, lead, "recycled")
    replica.touch([lead])
    assert replica.catch_up()
    assert _stage(tables, lead) == "recycled"
    assert tables.stage_changes.count().execute() == moves + 1
    assert tables.leads.count().execute() == 10  # the lead read again is there once
    assert not replica.catch_up()


def test_a_row_changed_elsewhere_arrives_with_the_next_whole_copy_once_it_is_due(
    replica: Replica, sqlite_engine: Engine
) -> None:
    tables = replica.tables()
    lead = _first_lead(sqlite_engine)
    before = _stage(tables, lead)
    assert not replica.due(0)  # nothing changed since the copy

    _move(sqlite_engine, lead, "disqualified", log=False)  # as an import or event would
    replica.catch_up()
    assert _stage(tables, lead) == before  # not said to have changed: not read again
    assert not replica.due(3600)  # the copy is younger than the cache time
    assert replica.due(0)
    replica.load()
    assert _stage(tables, lead) == "disqualified"
    assert not replica.due(0)


def test_the_dashboards_analytics_compute_on_the_copy_and_see_an_action_at_once(
    store: str, sqlite_engine: Engine
) -> None:
    lead = _first_lead(sqlite_engine)

    def recycled(tables: Tables) -> tuple[str, int]:
        leads = tables.leads
        return tables.backend.name, int(leads.filter(leads.stage == "recycled").count().execute())

    with _analytics(store, 300, copy=True) as analytics:
        engine_name, before = analytics.get(("recycled",), recycled, (STAGES,))
        assert engine_name == "duckdb"
        _move(sqlite_engine, lead, "recycled")
        analytics.changed([STAGES], leads=[lead])
        assert analytics.get(("recycled",), recycled, (STAGES,)) == ("duckdb", before + 1)


def test_without_a_cache_or_on_postgresql_the_analytics_read_the_store(store: str) -> None:
    assert sqlite_path("postgresql://u@localhost/baton") is None
    assert sqlite_path("sqlite://") is None
    # nothing kept: every request reads the store
    with _analytics(store, 0, copy=True) as analytics:
        assert analytics.get(("engine",), lambda tables: tables.backend.name) == "sqlite"


def test_the_dashboard_copies_the_store_again_beside_the_copy_in_use_once_it_is_due(
    store: str, sqlite_engine: Engine
) -> None:
    lead = _first_lead(sqlite_engine)

    def stage(tables: Tables) -> str:
        return _stage(tables, lead)

    with _analytics(store, 0.2, copy=True) as analytics:
        before = analytics.get(("stage",), stage)
        copied = analytics._replica.loaded_at  # type: ignore[union-attr]
        _move(sqlite_engine, lead, "disqualified", log=False)  # changed in place, unannounced
        time.sleep(0.3)
        # computed on the copy in use, which is then copied again in the background
        assert analytics.get(("stage",), stage) == before
        replica = analytics._replica
        assert replica is not None
        _wait_for(lambda: replica.loaded_at != copied, "the copy was not made again")
        time.sleep(0.3)  # older than the cache time: the section is computed again
        assert analytics.get(("stage",), stage) == "disqualified"


def test_sections_are_computed_ahead_beside_the_requests_and_again_after_an_action(
    store: str, sqlite_engine: Engine
) -> None:
    lead = _first_lead(sqlite_engine)
    threads: list[str] = []
    recycled = _counting_recycled(threads)

    with _analytics(store, 300, copy=True) as analytics:
        before = analytics.get(("shown",), recycled, (STAGES,))
        analytics.ahead([(("next",), recycled, (STAGES,))])
        _wait_for(lambda: len(threads) == 2, "nothing was computed ahead")
        assert analytics.get(("next",), recycled, (STAGES,)) == before  # kept: not computed again
        assert threads == ["baton-analytics", "baton-analytics-ahead"]

        # an action drops both; the one shown is computed again at once, in the background
        _move(sqlite_engine, lead, "recycled")
        analytics.changed([STAGES], leads=[lead])
        _wait_for(lambda: len(threads) == 3, "the section shown was not computed again")
        assert analytics.get(("shown",), recycled, (STAGES,)) == before + 1
        assert len(threads) == 3  # kept: the request did not compute it
        assert analytics.get(("next",), recycled, (STAGES,)) == before + 1  # asked: computed


def test_a_section_under_way_ahead_is_waited_for_not_computed_twice(
    store: str, sqlite_engine: Engine
) -> None:
    lead = _first_lead(sqlite_engine)
    threads: list[str] = []
    started = threading.Event()
    go_on = threading.Event()

    def slow(tables: Tables) -> int:
        threads.append(threading.current_thread().name)
        started.set()
        go_on.wait(30)
        leads = tables.leads
        return int(leads.filter(leads.stage == "recycled").count().execute())

    with _analytics(store, 300, copy=True) as analytics:
        analytics.ahead([(("next",), slow, (STAGES,))])
        assert started.wait(30), "nothing was computed ahead"
        threading.Timer(0.3, go_on.set).start()
        before = analytics.get(("next",), slow, (STAGES,))  # asked while under way there
        assert threads == ["baton-analytics-ahead"]  # waited for, not computed again

        # an action while it is under way: what it computes is not kept, and the request
        # computes the section itself once it is done
        started.clear()
        go_on.clear()
        analytics.changed([STAGES], leads=[lead])  # drops it
        analytics.ahead([(("next",), slow, (STAGES,))])
        assert started.wait(30)
        _move(sqlite_engine, lead, "recycled")
        analytics.changed([STAGES], leads=[lead])
        go_on.set()
        assert analytics.get(("next",), slow, (STAGES,)) == before + 1
        assert threads == ["baton-analytics-ahead", "baton-analytics-ahead", "baton-analytics"]


def test_a_section_computed_ahead_stops_at_a_checkpoint_once_an_action_changed_what_it_reads(
    store: str, sqlite_engine: Engine
) -> None:
    lead = _first_lead(sqlite_engine)
    started = threading.Event()
    go_on = threading.Event()
    parts: list[str] = []

    def two_parts(tables: Tables) -> int:
        parts.append("first")
        started.set()
        go_on.wait(30)
        checkpoint(1)  # an action came meanwhile: computed ahead, it stops here
        parts.append("second")
        leads = tables.leads
        return int(leads.filter(leads.stage == "recycled").count().execute())

    with _analytics(store, 300, copy=True) as analytics:
        analytics.ahead([(("next",), two_parts, (STAGES,))])
        assert started.wait(30), "nothing was computed ahead"
        _move(sqlite_engine, lead, "recycled")
        analytics.changed([STAGES], leads=[lead])
        go_on.set()
        _wait_for(lambda: not analytics._computing, "the section ahead did not end")
        assert parts == ["first"]
        # asked for, it is computed whole: a request's computation never stops
        started.clear()
        assert analytics.get(("next",), two_parts, (STAGES,)) >= 1
        assert parts == ["first", "first", "second"]
        # an action that changed nothing it reads does not stop it
        go_on.clear()
        analytics.ahead([(("other",), two_parts, (STAGES,))])
        assert started.wait(30)
        analytics.changed([REJECTIONS])
        go_on.set()
        _wait_for(lambda: len(parts) == 5, "the section ahead stopped")
        assert analytics.get(("other",), two_parts, (STAGES,)) >= 1
        assert len(parts) == 5  # kept: not computed again


def test_the_page_asked_for_after_an_action_comes_before_the_sections_computed_again(
    store: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the background waits this long after an action and after each section a request asked
    # for (longer than shipped, so that a slow machine cannot fail the test)
    monkeypatch.setattr(analytics_module, "AFTER_ACTION", 1.0)
    monkeypatch.setattr(analytics_module, "AFTER_REQUEST", 1.0)
    # and every section shown is computed again, however long they take together
    monkeypatch.setattr(analytics_module, "REFRESH_BUDGET", 60.0)
    lead = _first_lead(sqlite_engine)
    ran: list[str] = []

    def slow(name: str) -> Callable[[Tables], int]:
        return _noting(ran, name, 0.1)

    with _analytics(store, 300, copy=True) as analytics:
        for n in range(3):  # shown: computed again in the background after an action
            analytics.get(("shown", n), slow(f"shown {n}"), (STAGES,))
        ran.clear()
        _move(sqlite_engine, lead, "recycled")
        analytics.changed([STAGES], leads=[lead])
        # the page opened next asks for two sections, one after the other
        first = analytics.get(("page", 1), slow("page 1"), (STAGES,))
        second = analytics.get(("page", 2), slow("page 2"), (STAGES,))
        assert ran[:2] == ["page 1", "page 2"]  # neither waited for a background job
        assert first == second
        _wait_for(lambda: len(ran) == 5, "the sections shown were not computed again")
        assert sorted(ran[2:]) == ["shown 0", "shown 1", "shown 2"]


def test_after_an_action_the_page_shown_last_is_computed_again_first_within_a_budget(
    store: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no budget: only the section shown last is computed again (the first one always is)
    monkeypatch.setattr(analytics_module, "REFRESH_BUDGET", 0.0)
    monkeypatch.setattr(analytics_module, "AFTER_ACTION", 0.0)
    lead = _first_lead(sqlite_engine)
    ran: list[str] = []

    def counted(name: str) -> Callable[[Tables], int]:
        return _noting(ran, name)

    with _analytics(store, 300, copy=True) as analytics:
        for n in range(3):
            analytics.get(("shown", n), counted(f"shown {n}"), (STAGES,))
        analytics.get(("shown", 0), counted("shown 0"), (STAGES,))  # kept, and shown again
        assert ran == ["shown 0", "shown 1", "shown 2"]
        _move(sqlite_engine, lead, "recycled")
        analytics.changed([STAGES], leads=[lead])
        _wait_for(lambda: len(ran) == 4, "the section shown last was not computed again")
        assert ran[3] == "shown 0"
        time.sleep(0.5)
        assert len(ran) == 4  # the others wait until they are asked for

        # with room for all: the most recently shown first
        monkeypatch.setattr(analytics_module, "REFRESH_BUDGET", 60.0)
        analytics.changed([STAGES], leads=[lead])
        _wait_for(lambda: len(ran) == 7, "the sections shown were not computed again")
        assert ran[4:] == ["shown 0", "shown 2", "shown 1"]
        # being computed again in the background is not being shown: the order stays
        monkeypatch.setattr(analytics_module, "REFRESH_BUDGET", 0.0)
        analytics.changed([STAGES], leads=[lead])
        _wait_for(lambda: len(ran) == 8, "the section shown last was not computed again")
        assert ran[7] == "shown 0"


def test_while_a_page_is_answered_no_background_work_starts_but_its_sections_are_computed(
    store: str, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analytics_module, "AFTER_ACTION", 0.0)
    lead = _first_lead(sqlite_engine)
    ran: list[str] = []

    with _analytics(store, 300, copy=True) as analytics:
        analytics.get(("shown",), _noting(ran, "shown"), (STAGES,))
        with analytics.serving():  # a page (or an action) being answered
            _move(sqlite_engine, lead, "recycled")
            analytics.changed([STAGES], leads=[lead])  # the shown one: computed again later
            analytics.ahead([(("next",), _noting(ran, "next"), (STAGES,))])  # later too
            assert analytics.get(("page",), _noting(ran, "page"), (STAGES,)) >= 1  # at once
            time.sleep(0.5)
            assert ran == ["shown", "page"]  # the background waited
        _wait_for(lambda: len(ran) == 4, "the background work did not run afterwards")
        assert sorted(ran[2:]) == ["next", "shown"]


def test_the_sections_the_page_shown_last_asks_for_ahead_come_before_older_ones(
    store: str,
) -> None:
    ran: list[str] = []
    go_on = threading.Event()

    def holding(tables: Tables) -> int:
        ran.append("holding")
        go_on.wait(30)
        return 0

    with _analytics(store, 300, copy=True) as analytics:
        analytics.ahead([(("holding",), holding, (STAGES,))])
        _wait_for(lambda: ran == ["holding"], "nothing was computed ahead")
        # a page left since asked for these, then the page shown now for its own
        analytics.ahead([(("old", n), _noting(ran, f"old {n}"), (STAGES,)) for n in (1, 2)])
        analytics.ahead([(("new", n), _noting(ran, f"new {n}"), (STAGES,)) for n in (1, 2)])
        go_on.set()
        _wait_for(lambda: len(ran) == 5, "the sections were not computed ahead")
        assert ran == ["holding", "new 1", "new 2", "old 1", "old 2"]


def test_queries_are_compiled_ahead_on_the_second_thread_and_not_compiled_again(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[str] = []
    built: list[str] = []

    def spying(backend: Any) -> Any:  # count the compilations under the kept SQL
        real = backend.compile

        def compile(expr: Any, /, **options: Any) -> str:
            compiled.append(threading.current_thread().name)
            return real(expr, **options)  # type: ignore[no-any-return]

        backend.compile = compile
        return remember_sql(backend)

    monkeypatch.setattr(analytics_module, "remember_sql", spying)

    def query(tables: Tables) -> Any:
        built.append(threading.current_thread().name)
        leads = tables.leads
        return leads.filter(leads.stage == "recycled").count()

    with _analytics(store, 300, copy=True) as analytics:
        analytics.prepare([(("count",), query), (("count",), query)])  # the second: kept
        _wait_for(lambda: bool(compiled), "nothing was compiled ahead")
        assert built == compiled == ["baton-analytics-ahead"]
        count = analytics.get(("count",), lambda t: int(t.backend.execute(query(t))), (STAGES,))
        assert count >= 0
        assert compiled == ["baton-analytics-ahead"]  # its SQL was kept: only run


def test_a_query_taking_a_time_is_compiled_ahead_once_for_every_time(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[str] = []

    def spying(backend: Any) -> Any:  # count the compilations of queries over the tables
        real = backend.compile

        def compile(expr: Any, /, **options: Any) -> str:
            if expr.op().find(ops.DatabaseTable):  # not a time's literal, compiled alone
                compiled.append(threading.current_thread().name)
            return real(expr, **options)  # type: ignore[no-any-return]

        backend.compile = compile
        return remember_sql(backend)

    monkeypatch.setattr(analytics_module, "remember_sql", spying)
    kept = Built()

    def query(tables: Tables) -> Any:
        def build() -> Any:
            changes = tables.stage_changes
            return changes.filter(changes.at <= AS_OF).count()

        return kept.get("until", build, tables)

    with _analytics(store, 300, copy=True) as analytics:
        analytics.prepare([(("until",), query)])
        _wait_for(lambda: bool(compiled), "nothing was compiled ahead")
        _wait_for(lambda: not analytics._ahead.busy(), "the compiling did not end")
        ahead = list(compiled)
        assert set(ahead) == {"baton-analytics-ahead"}
        counts = [
            analytics.get(
                ("until", at),
                lambda t, at=at: int(t.backend.execute(query(t), params={AS_OF: at})),
                (STAGES,),
            )
            for at in (dt.datetime(2026, 1, 1), dt.datetime(2027, 1, 1))
        ]
        assert counts[0] <= counts[1]
        assert compiled == ahead  # its SQL was kept for every time: only run


def test_a_copy_that_cannot_be_made_leaves_the_dashboard_on_the_store(
    store: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Replica) -> Tables:
        raise OSError("no memory left for the copy")

    monkeypatch.setattr(Replica, "tables", broken)
    with _analytics(store, 300, copy=True) as analytics:
        assert analytics.get(("engine",), lambda tables: tables.backend.name) == "sqlite"
        assert "computes on the store itself" in caplog.text
        analytics.ahead([(("other",), lambda tables: tables.backend.name, ())])  # not there
        assert analytics.get(("other",), lambda tables: tables.backend.name) == "sqlite"
