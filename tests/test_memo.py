"""Queries built and compiled once (baton.analytics.memo), on DuckDB, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pandas as pd

from baton.analytics.memo import STAND_IN, Built, remember_sql, same_table

MOMENTS = [dt.datetime(2026, 11, d, 12, 0) for d in range(1, 11)]


def _counted(backend: Any) -> list[str]:
    """``backend`` made to keep SQL, with the compilations it really does noted."""
    compiled: list[str] = []
    real = backend.compile

    def compile(expr: Any, /, **options: Any) -> str:
        sql = real(expr, **options)
        compiled.append(sql)
        return sql  # type: ignore[no-any-return]

    backend.compile = compile
    remember_sql(backend, size=4)
    return compiled


def _moves(backend: Any) -> Any:
    backend.create_table("moves", schema=ibis.schema({"at": "timestamp", "n": "int64"}))
    backend.insert("moves", pd.DataFrame({"at": MOMENTS, "n": list(range(10))}))
    return backend.table("moves")


def test_a_query_still_held_keeps_its_sql_past_the_last_ones_kept(backend: Any) -> None:
    moves = _moves(backend)
    compiled = _counted(backend)
    built = Built()
    held = built.get(("held",), lambda: moves.filter(moves.n > 2))
    assert len(held.execute()) == 7
    for n in range(10):  # more than the four kept by their order: each used once, then dropped
        assert len(moves.filter(moves.n < n).execute()) == n
    assert len(compiled) == 11
    again = built.get(("held",), lambda: moves.filter(moves.n > 2))
    assert len(again.execute()) == 7
    assert len(moves.filter(moves.n > 2).execute()) == 7  # an equal one built again too
    assert len(compiled) == 11  # neither was compiled again


def test_a_query_with_a_time_parameter_is_compiled_once_for_every_moment(backend: Any) -> None:
    moves = _moves(backend)
    compiled = _counted(backend)
    as_of, stop = ibis.param("timestamp"), ibis.param("timestamp")
    query = moves.filter((moves.at <= as_of) & (moves.at < stop)).count()
    end = dt.datetime(2026, 11, 5)
    for day in range(1, 11):
        moment = dt.datetime(2026, 11, day, 13, 0)
        written = moves.filter((moves.at <= moment) & (moves.at < end)).count()
        assert query.execute(params={as_of: moment, stop: end}) == written.execute()
    # compiled the first time only: with a stand-in for each parameter, and with other moments
    # to check that only their literals differ (the other queries have the times written in)
    assert len([sql for sql in compiled if str(STAND_IN.year) in sql and "moves" in sql]) == 2
    # what the stand-ins were replaced with is what compiling with the values gives
    real = type(backend).compile
    moment = {as_of: dt.datetime(2026, 11, 3, 8, 30, 15, 250), stop: dt.datetime(2026, 11, 9)}
    assert backend.compile(query, params=moment) == real(backend, query, params=moment)


def test_a_table_of_the_same_contents_is_the_same_table_and_its_query_compiled_once(
    backend: Any,
) -> None:
    moves = _moves(backend)
    compiled = _counted(backend)
    for _ in range(3):  # the same small table computed again for each query
        days = same_table(pd.DataFrame({"n": [1, 2, 3], "w": [10, 20, 30]}))
        joined = moves.join(days, moves.n == days.n)
        assert sorted(joined.execute()["w"]) == [10, 20, 30]
    assert len([sql for sql in compiled if "moves" in sql]) == 1
    other = same_table(pd.DataFrame({"n": [1, 2, 40], "w": [10, 20, 30]}))
    assert other is not days
    assert len(moves.join(other, moves.n == other.n).execute()) == 2
