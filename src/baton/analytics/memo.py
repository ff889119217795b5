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

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

import ibis.expr.types as ir
from ibis.backends import BaseBackend

T = TypeVar("T")

#: Compiled statements a backend keeps (the longest, a KPI table, is about 25,000 characters).
SQL_KEPT = 512


class _Lru(OrderedDict[Hashable, Any]):
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
    ``compile``; this replaces it on this one backend object with one that keeps the SQL of the
    last ``size`` expressions, keyed by the expression's operation (a structural key: an equal
    expression built again finds it). Calls with ``params`` or ``pretty`` compile as before.
    """
    compile_ = backend.compile
    kept = _Lru(size)

    def compile(
        expr: ir.Expr,
        /,
        *,
        limit: int | str | None = None,
        params: Mapping[ir.Expr, Any] | None = None,
        pretty: bool = False,
        **kwargs: Any,
    ) -> str:
        if params or pretty or kwargs:
            return compile_(expr, limit=limit, params=params, pretty=pretty, **kwargs)  # type: ignore[no-any-return]
        key = (expr.op(), limit)
        sql: str | None = kept.find(key)
        if sql is None:
            sql = compile_(expr, limit=limit)
            kept.keep(key, sql)
        return sql

    backend.compile = compile
    return backend


class Built:
    """Expressions kept by what they were built from.

    ``get(key, build, *owners)`` gives the expression built earlier under ``key`` or builds it.
    ``owners`` are the objects the key names by identity (a contract, the tables): the entry
    holds them, so their ``id`` cannot be reused by another object while it is kept.
    """

    def __init__(self, size: int = 128) -> None:
        self._kept = _Lru(size)

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
