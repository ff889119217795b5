"""Build and compile an analytics query once, then only run it.

A KPI table is an Ibis expression of a thousand nodes: building it takes a quarter of a
second, compiling it to SQL half a second more, while the database answers it in about as
long again. Neither the expression nor its SQL depends on the data, only on what is asked
(the tables, the contract, the period, the breakdown), so a process that asks the same
question again, like the dashboard after an action, keeps both:

- :func:`remember_sql` makes a backend compile each distinct expression once (Ibis
  expressions compare by structure, so an equal expression built again finds its SQL);
- :class:`Built` keeps expressions by what they were built from, so they are not built again.

What comes back from the database is never kept here: every run reads the data as it is.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

T = TypeVar("T")

#: Compiled statements a backend keeps (the longest, a KPI table, is about 25,000 characters).
SQL_KEPT = 512


class Lru(OrderedDict[Hashable, Any]):
    """A mapping that forgets its least recently used entry past ``size`` entries."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def find(self, key: Hashable) -> Any:
        with self.lock:
            found = self.get(key)
            if found is not None:
                self.move_to_end(key)
            return found

    def keep(self, key: Hashable, value: Any) -> None:
        with self.lock:
            self[key] = value
            self.move_to_end(key)
            while len(self) > self.size:
                self.popitem(last=False)


def remember_sql(backend: BaseBackend, size: int = SQL_KEPT) -> BaseBackend:
    """``backend``, made to compile each distinct expression to SQL only once.

    Ibis's ``execute`` (and ``to_pyarrow`` and the rest) compile through the backend's
    ``compile``; this replaces it on this one backend object with one that keeps the SQL of
    each expression, keyed by the expression's operation (a structural key: an equal
    expression built again finds it). Calls with ``pretty`` or other options compile as
    before.

    - The SQL of an expression still held somewhere (by :class:`Built`, say) is kept as long
      as it is: queries compiled ahead for choices nobody asked for yet are not pushed out by
      expressions built for one use. Beyond those, the SQL of the last ``size`` is kept.
    - An expression with parameters of naive times (``ibis.param("timestamp")``) is compiled
      once for all their values: with a stand-in for each (:data:`STAND_IN`), whose literal
      in the SQL is then replaced by the value's. A query "as of now" that takes its time as a
      parameter thus keeps its SQL; with the time built in, it is new at every call. (It is
      compiled with other moments too, the first time: if more than the literals differ, it
      is compiled for each call's values instead.)
    """
    compile_ = backend.compile
    kept = Lru(size)
    # operation -> {(limit, parameters): SQL}, for as long as the operation is alive
    held: weakref.WeakKeyDictionary[Any, dict[Hashable, str]] = weakref.WeakKeyDictionary()
    literals = Lru(64)

    def sql_of(expr: ir.Expr, limit: int | str | None, params: dict[Any, Any] | None = None) -> str:
        """The SQL of ``expr``, compiled once; with ``params`` (stand-ins), the template
        :func:`template` makes, or "" when their literals cannot simply be replaced."""
        op = expr.op()
        variant = (limit, tuple(_op(k) for k in params) if params else ())
        with kept.lock:
            sql = held.get(op, {}).get(variant)
        if sql is None:
            sql = kept.find((op, variant))
        if sql is None:
            sql = template(expr, limit, params) if params else compile_(expr, limit=limit)
            with kept.lock:
                held.setdefault(op, {})[variant] = sql
        kept.keep((op, variant), sql)
        return sql

    def template(expr: ir.Expr, limit: int | str | None, stand_ins: dict[Any, Any]) -> str:
        # compiled with the stand-ins and with other moments: the literals must be all that
        # differs (a compiler that folded a moment into another value would show here)
        sql = compile_(expr, limit=limit, params=stand_ins)
        others = {k: v + dt.timedelta(days=1) for k, v in stand_ins.items()}
        expected = compile_(expr, limit=limit, params=others)
        swapped = sql
        for key, stand_in in stand_ins.items():
            if literal(stand_in) not in sql:
                return ""
            swapped = swapped.replace(literal(stand_in), literal(others[key]))
        return sql if swapped == expected else ""

    def literal(value: dt.datetime) -> str:
        found: str | None = literals.find(value)
        if found is None:
            sql = compile_(ibis.literal(value, "timestamp").name("v"))
            head, tail = "SELECT ", ' AS "v"'
            if not (sql.startswith(head) and sql.endswith(tail)):  # pragma: no cover
                raise ValueError(f"cannot read a time's literal in {sql!r}")
            found = sql[len(head) : -len(tail)]
            literals.keep(value, found)
        return found

    def compile(
        expr: ir.Expr,
        /,
        *,
        limit: int | str | None = None,
        params: Mapping[ir.Expr, Any] | None = None,
        pretty: bool = False,
        **kwargs: Any,
    ) -> str:
        times = bool(params) and all(
            isinstance(v, dt.datetime) and v.tzinfo is None for v in (params or {}).values()
        )
        if pretty or kwargs or (params and not times):
            return compile_(expr, limit=limit, params=params, pretty=pretty, **kwargs)  # type: ignore[no-any-return]
        if not params:
            return sql_of(expr, limit)
        # the parameters in the order of their creation, each with its own stand-in
        ordered = sorted(params.items(), key=lambda kv: getattr(_op(kv[0]), "counter", 0))
        stand_ins = {k: STAND_IN + dt.timedelta(seconds=i) for i, (k, _) in enumerate(ordered)}
        sql = sql_of(expr, limit, stand_ins)
        if not sql:  # pragma: no cover  (no query of ours)
            return compile_(expr, limit=limit, params=params)  # type: ignore[no-any-return]
        for key, value in ordered:
            sql = sql.replace(literal(stand_ins[key]), literal(value))
        return sql

    backend.compile = compile
    return backend


#: What stands in for the first parameter of a time when an expression is compiled once for
#: all values (:func:`remember_sql`); the second is a second later, and so on. No query asks
#: for this moment of 1901.
STAND_IN = dt.datetime(1901, 2, 3, 4, 5, 6, 7081)


def _op(key: Any) -> Any:
    return key.op() if hasattr(key, "op") else key


def compile_ahead(backend: BaseBackend, expr: ir.Expr) -> str:
    """Compile ``expr`` as running it compiles it, so that running it later on ``backend``
    (made by :func:`remember_sql`) finds its SQL: a query taking times as parameters is
    compiled once for all their values, so any value serves here."""
    times = {p.to_expr(): STAND_IN for p in expr.op().find(ops.ScalarParameter)}
    return backend.compile(expr, params=times or None)  # type: ignore[no-any-return]


#: In-memory tables made by :func:`same_table`, by their contents.
_TABLES = Lru(32)


def same_table(frame: pd.DataFrame) -> ibis.Table:
    """``frame`` as an in-memory table (``ibis.memtable``), the same table for the same contents.

    Each new in-memory table has a name of its own, so a query over one is a new query at
    every call, compiled again (:func:`remember_sql` never finds it). A table of a few hundred
    rows computed for a query (the SLA's attempt windows, say) thus keeps the query's SQL.
    """
    key = (
        tuple(frame.columns),
        tuple(str(d) for d in frame.dtypes),
        tuple(frame.itertuples(index=False, name=None)),
    )
    found = _TABLES.find(key)
    if found is None:
        found = ibis.memtable(frame)
        _TABLES.keep(key, found)
    return found


class Built:
    """Expressions kept by what they were built from.

    ``get(key, build, *owners)`` gives the expression built earlier under ``key`` or builds it.
    ``owners`` are the objects the key names by identity (a contract, the tables): the entry
    holds them, so their ``id`` cannot be reused by another object while it is kept.
    """

    def __init__(self, size: int = 128) -> None:
        self._kept = Lru(size)

    def get(self, key: Hashable, build: Callable[[], T], *owners: object) -> T:
        full = (key, *(id(o) for o in owners))
        found = self._kept.find(full)
        if found is not None:
            return found[0]  # type: ignore[no-any-return]
        value = build()
        self._kept.keep(full, (value, owners))
        return value

    def clear(self) -> None:
        with self._kept.lock:
            self._kept.clear()
