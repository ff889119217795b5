"""The dashboard's analytics: computed through Ibis on one connection, cached per pickers.

A scoreboard or an attribution over the demo data takes from half a second to two seconds to
compute, far over the 300 ms a page may take, while its numbers change only when data
arrives. So each section is cached under its parameters (page, period, breakdown, ...) for
``BATON_WEB_CACHE_SECONDS``; an action taken in the dashboard (accept, reject, a contract
edit) clears the cache at once, so the person who acted sees its effect. The Ibis connection
is opened once and used by one thread at a time (a lock), which also keeps two requests from
computing the same section twice. All of it runs in one thread of its own: a SQLite
connection may be used only by the thread that opened it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from baton.analytics.source import Tables, open_source

T = TypeVar("T")


class Analytics:
    """Cached analytics over the store at ``database_url``."""

    def __init__(self, database_url: str, ttl: float) -> None:
        self.database_url = database_url
        self.ttl = ttl
        self._lock = threading.RLock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baton-analytics")
        self._tables: Tables | None = None
        self._cache: dict[Hashable, tuple[float, int, Any]] = {}
        self._generation = 0
        self.closed = False

    def tables(self) -> Tables:
        if self._tables is None:
            self._tables = open_source("store", self.database_url)
        return self._tables

    def get(self, key: Hashable, compute: Callable[[Tables], T]) -> T:
        """The cached value of ``key``, or ``compute(tables)`` stored under it."""
        now = time.monotonic()
        found = self._cache.get(key)
        if found and found[0] > now and found[1] == self._generation:
            return found[2]  # type: ignore[no-any-return]
        with self._lock:
            found = self._cache.get(key)
            if found and found[0] > time.monotonic() and found[1] == self._generation:
                return found[2]  # type: ignore[no-any-return]
            generation = self._generation
            value = self._worker.submit(lambda: compute(self.tables())).result()
            if self.ttl > 0:
                if len(self._cache) > 500:
                    self._cache.clear()
                self._cache[key] = (time.monotonic() + self.ttl, generation, value)
            return value

    def changed(self) -> None:
        """Data changed through the dashboard: nothing cached before now is shown again."""
        self._generation += 1
        self._cache.clear()

    def close(self) -> None:
        def work() -> None:
            if self._tables is not None:
                self._tables.close()
                self._tables = None

        with self._lock:
            self.closed = True
            self._worker.submit(work).result()
            self._worker.shutdown()
