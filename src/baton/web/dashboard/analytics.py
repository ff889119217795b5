"""The dashboard's analytics: computed through Ibis on one connection, cached per pickers.

A scoreboard or an attribution over the demo data takes from a third of a second to many
seconds to compute, over the 300 ms a page may take, while its numbers change only when data
arrives. So each section is cached under its parameters (page, period, breakdown, ...) for
``BATON_WEB_CACHE_SECONDS``, and made cheaper to compute again:

- The connection keeps the SQL of each query it compiled and the dashboard the queries it
  built (:mod:`baton.analytics.memo`): a section computed again only runs its SQL.
- An action taken in the dashboard says what it changed (:data:`TOPICS`: a lead's stage, its
  handoff, a rejection) and at once drops the sections that read it, so the person who acted
  sees its effect; the others stay (a logged call changes no scoreboard, an accepted lead no
  attribution of won deals and no rejection).
- Then the sections it dropped that were shown lately are computed again in the background,
  most recently shown first, so that going back to the page finds them ready. A request never
  waits behind that work (requests go first) and never gets a value older than the last
  action: a section computed while an action ran is not kept, and one asked for before it is
  ready is computed (or waited for) then. That work starts :data:`AFTER_ACTION` seconds after
  the action, and :data:`AFTER_REQUEST` after any section a request asked for: a job cannot
  be stopped once started, and the page a person opens after acting asks for its sections one
  after another at once; each would otherwise wait for one background job. Nor does any start
  while a page or an action is being answered (:meth:`Analytics.serving`).

On a SQLite store the sections are computed on a copy of its analytics tables in an in-memory
DuckDB (:mod:`baton.analytics.replica`; ``BATON_WEB_ANALYTICS_COPY``), several times faster
than SQLite. Before each computation the copy takes in the rows added since and the leads the
dashboard's actions named (:meth:`Analytics.changed`); once older than the cache time, with
the store changed, it is copied whole again in the background, after requests and refreshes.
There, pages also have the choices a person is likely to pick next computed ahead
(:meth:`Analytics.ahead`) on a second thread, so that they are ready, or, after an action
dropped them, need only their SQL run again: every other choice of the Attribution and Feedback
pages, the other breakdowns of the period shown on the Scoreboard and Handoff pages, the
attribution summary and wins of the week before the weekly report shown. (Computing every
choice of every page ahead was tried: on two cores it slowed the requests it shared the
processor with more than it saved.) A section computed ahead that an action makes useless
(it reads what the action changed) stops at its next :func:`checkpoint`, rather than share
the processor with the page asked for after the action: the weekly report's numbers,
computed ahead for the week before, ran on beside that week's request for 0.6-0.8 s.
Queries can also be compiled ahead without running them (:meth:`Analytics.prepare`): the
Scoreboard has the breakdown it shows compiled for every other period (the period picker's
choices; about 5 s of one core on the demo, yielding to requests), so that a choice asked for
later, or again after an action, only runs its SQL (~0.1 s, against ~0.5 s to build and
compile it). (Compiling every choice at start took 20 s of a core in every server started,
whether anyone opened the dashboard or not.)

The Ibis connection is opened once and used by one thread of its own, which runs one section at
a time, requests before refreshes: a SQLite connection may be used only by the thread that
opened it. Two requests for the same section wait for the one computation.
"""

from __future__ import annotations

import functools
import itertools
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from concurrent.futures import CancelledError, Future
from contextlib import ExitStack, contextmanager
from typing import Any, TypeVar

from baton.analytics.memo import Built, compile_ahead, remember_sql
from baton.analytics.replica import Replica, Snapshot, sqlite_path
from baton.analytics.source import Tables, open_source

T = TypeVar("T")
log = logging.getLogger("baton.web")

#: A lead's stage changed (accept, reject): its ``leads.stage`` and a ``stage_changes`` row.
STAGES = "stages"
#: A lead's handoff changed: its assignment, SLA timers or sales activities (accept, reject,
#: a logged call).
HANDOFF = "handoff"
#: A lead was sent back to marketing (reject): a move into a recycled or disqualified stage,
#: with its reason. Only the Feedback page reads it alone: an accepted lead changes no
#: rejection.
REJECTIONS = "rejections"
#: What the dashboard's actions can change. A section that does not say what it reads reads
#: all of them, and an action that does not say what it changed changed all of them and
#: anything else (a new contract): then every section is dropped and none computed ahead.
TOPICS: tuple[str, ...] = (STAGES, HANDOFF, REJECTIONS)
#: Sections recomputed in the background after an action: the most recently shown ones that
#: took at most :data:`REFRESH_SECONDS` to compute (a slow one would hold the connection), as
#: long as together they took at most :data:`REFRESH_BUDGET`. A request that comes while one
#: runs waits for it to end, so the fewer the better: the page shown last comes first, and
#: pages shown before it only while the work stays short.
REFRESH_SECTIONS = 8
REFRESH_SECONDS = 2.0
REFRESH_BUDGET = 1.0

REQUEST, REFRESH, RELOAD, PREPARE = 0, 1, 2, 3  # job priorities: a smaller number runs first
#: Seconds the background jobs (refreshes, reloads) wait after an action, and after each
#: section a request computed: a page asks for its sections one after another, and the page a
#: person opens after an action comes at once; a background job started meanwhile would run
#: to its end first (a job cannot be stopped), making each section wait for one.
AFTER_ACTION = 0.3
AFTER_REQUEST = 0.05


class _GaveWay(Exception):
    """A section computed ahead stopped at a :func:`checkpoint`: an action changed what it
    reads since it began, so what it would give could not be kept."""


_ahead_job = threading.local()  # on the thread computing ahead: whether its job is still of use


def checkpoint(_done: int = 0) -> None:
    """A place where a long computation may stop (it takes the steps done, as a progress
    callback does). Computed ahead, a section whose topics an action changed since it began
    stops here: its value would not be kept, and the request the action came before would
    share the processor with it. Computed for a request, it never stops."""
    check = getattr(_ahead_job, "check", None)
    if check is not None and not check():
        raise _GaveWay


class _Worker:
    """The one thread that uses the connection, running jobs by priority, then in order.

    Jobs of priority ``background`` or more wait while it is held (:meth:`hold`,
    :meth:`paused`); the others (requests) run at once. Jobs given a ``batch``
    (:meth:`submit`) run newest batch first, each batch in its own order, before the jobs of
    the same priority given none."""

    def __init__(self, name: str = "baton-analytics", *, background: int = REFRESH) -> None:
        self._background = background
        self._jobs: queue.PriorityQueue[
            tuple[int, tuple[int, int], Callable[[], Any] | None, Future[Any]]
        ]
        self._jobs = queue.PriorityQueue()
        self._order = itertools.count()
        self._stopped = False
        self._running = False
        self._quiet_at = 0.0  # background jobs wait until then (time.monotonic)
        self._paused = 0  # and while requests wait for work done elsewhere (see paused)
        self._pausing = threading.Lock()
        self._arrived = threading.Event()  # a request came while one waited
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, priority: int, job: Callable[[], T], *, batch: int | None = None) -> Future[T]:
        """Run ``job`` after those of a smaller ``priority`` number; among those of the same, a
        job of a later ``batch`` (a positive number) runs first, and those given no batch
        last, in the order they came."""
        future: Future[T] = Future()
        if self._stopped:
            future.cancel()
        else:
            order = (-batch, next(self._order)) if batch is not None else (0, next(self._order))
            self._jobs.put((priority, order, job, future))
            if priority <= REQUEST:
                self._arrived.set()
        return future

    def hold(self, seconds: float) -> None:
        """Keep background jobs from starting for ``seconds`` (requests still run)."""
        self._quiet_at = max(self._quiet_at, time.monotonic() + seconds)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Keep background jobs from starting while the block runs (a request being answered,
        or waiting for a section computed on another thread), and for :data:`AFTER_REQUEST`
        after it."""
        with self._pausing:
            self._paused += 1
        try:
            yield
        finally:
            self.hold(AFTER_REQUEST)
            with self._pausing:
                self._paused -= 1

    def busy(self) -> bool:
        """Whether a job is running or waiting."""
        return self._running or not self._jobs.empty()

    def _run(self) -> None:
        while True:
            priority, order, job, future = self._jobs.get()
            if job is None:
                break
            wait = self._quiet_at - time.monotonic()
            if priority >= self._background and (wait > 0 or self._paused):  # back in line
                self._jobs.put((priority, order, job, future))  # or a request comes
                self._arrived.wait(wait if wait > 0 else AFTER_REQUEST)
                self._arrived.clear()  # a request that came is in the queue, ahead of it
                continue
            if not future.set_running_or_notify_cancel():
                continue
            self._running = True
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)
            finally:
                self._running = False
            if priority <= REQUEST:
                self.hold(AFTER_REQUEST)
        while not self._jobs.empty():  # closed: what still waits will not run
            self._jobs.get_nowait()[3].cancel()

    def shutdown(self, last: Callable[[], Any]) -> None:
        """Run ``last`` before anything still waiting, then stop."""
        self.submit(-2, last)
        self._stopped = True  # what is asked from now on is cancelled, not queued
        self._jobs.put((-1, (0, next(self._order)), None, Future()))
        self._thread.join()


class Analytics:
    """Cached analytics over the store at ``database_url``."""

    def __init__(self, database_url: str, ttl: float, *, copy: bool = False) -> None:
        self.database_url = database_url
        self.ttl = ttl
        # computing on a copy only pays when sections are kept: with no cache, read the store
        path = sqlite_path(database_url) if copy and ttl > 0 else None
        self._replica = Replica(path) if path is not None else None
        self._reloading = False
        self._lock = threading.RLock()
        self._worker = _Worker()
        self._tables: Tables | None = None
        # key -> (expires, topics read, their versions when computing began, value)
        self._cache: dict[Hashable, tuple[float, tuple[str, ...], tuple[int, ...], Any]] = {}
        # key -> (the computation under way, the versions it began from)
        self._pending: dict[Hashable, tuple[Future[Any], tuple[int, ...]]] = {}
        # key -> (how to compute it, topics read, seconds it took), most recently shown last
        self._recent: OrderedDict[Hashable, tuple[Callable[[Tables], Any], tuple[str, ...], float]]
        self._recent = OrderedDict()
        self._versions = dict.fromkeys(TOPICS, 0)
        self._everything = 0  # changes beyond the topics (a new contract)
        #: Queries built once and kept (their SQL is kept by the connection).
        self.built = Built()
        self.closed = False
        # computing ahead: a second thread, on the copy only (its connection serves threads)
        self._ahead = (
            _Worker("baton-analytics-ahead", background=REQUEST)  # all of it is background
            if self._replica is not None
            else None
        )
        self._queued: set[Hashable] = set()  # keys waiting or under way there
        # each call of ahead() is a batch there: the page shown last has its choices first
        self._batches = itertools.count(1)
        # keys under way there: set when done, and the versions the computation began from
        self._computing: dict[Hashable, tuple[threading.Event, tuple[int, ...]]] = {}
        self._prepared: set[Hashable] = set()  # queries compiled ahead, or queued for it

    @contextmanager
    def serving(self) -> Iterator[None]:
        """While a page or an action is being answered: no background work starts (sections
        computed again, ahead or a copy installed; queries compiled ahead), and none for
        :data:`AFTER_REQUEST` after; the sections the page asks for are computed at once.

        A page does more than compute its sections (it reads the store, renders its template),
        and on two cores a background job started meanwhile took the processor from it:
        the Handoff page, its section ready, waited 0.3-0.6 s for the other breakdown's being
        computed ahead and for the refreshes after the action before it.
        """
        with ExitStack() as stack:
            for worker in (self._worker, self._ahead):
                if worker is not None:
                    stack.enter_context(worker.paused())
            yield

    def tables(self) -> Tables:
        if self._tables is None:
            if self._replica is not None:
                try:
                    self._tables = self._replica.tables()
                except Exception:  # the store's own connection still serves every page
                    log.warning(
                        "the dashboard could not copy the store into DuckDB; it computes on "
                        "the store itself",
                        exc_info=True,
                    )
                    self._replica.close()
                    self._replica = None
            if self._tables is None:
                self._tables = open_source("store", self.database_url)
            remember_sql(self._tables.backend)
        elif self._replica is not None:
            self._replica.catch_up()
        return self._tables

    def _maybe_reload(self) -> None:
        """Start copying the store whole again when the copy is due for it (in the analytics
        thread, after a computation): a thread of its own reads the store and builds the new
        tables beside the ones in use, then this thread swaps them in between two jobs."""
        replica = self._replica
        if replica is None or self._reloading or self.closed or not replica.due(self.ttl):
            return
        self._reloading = True
        version = replica.version()

        def install(snapshot: Snapshot) -> None:
            try:
                replica.install(snapshot, version)
            finally:
                self._reloading = False

        def copy() -> None:
            try:
                snapshot = replica.snapshot()
            except Exception:
                self._reloading = False
                if not self.closed:  # the copy in use stays; the next computation tries again
                    log.warning("the dashboard could not copy the store again", exc_info=True)
                return
            self._worker.submit(RELOAD, lambda: install(snapshot))

        threading.Thread(target=copy, name="baton-analytics-copy", daemon=True).start()

    def ahead(
        self, sections: Iterable[tuple[Hashable, Callable[[Tables], Any], Collection[str]]]
    ) -> None:
        """Compute ``sections`` (key, how, topics read, as for :meth:`get`) in the background,
        on a thread of their own beside the one requests use, and keep them as :meth:`get`
        would: the other choices of a page's pickers, which a person is likely to pick next.

        Only over the copy of a SQLite store, and only those not kept or under way already.
        The sections of the latest call come first, in their order: those of a page left
        since wait. (In one order for all, on the dashboard benchmark the weekly report of the
        week before the one shown, asked for ahead, waited behind 20 attributions the pages
        visited before had asked for, and each week took 0.58 s after an action.)
        Each is computed after the copy has taken in what changed, and not kept if an action
        changed what it reads meanwhile. A request never waits behind this work (it has a
        thread of its own), but shares the processor with it; a request for a section under
        way here waits for it, rather than computing it a second time beside it.
        """
        if self._ahead is None or self._replica is None or self.closed:
            return
        batch = next(self._batches)
        for key, compute, reads in sections:
            topics = tuple(t for t in TOPICS if t in reads)
            with self._lock:
                if key in self._queued or key in self._pending or self._fresh(key)[0]:
                    continue
                self._queued.add(key)
            job = functools.partial(self._early, key, compute, topics)
            self._ahead.submit(REQUEST, job, batch=batch)

    def prepare(self, queries: Iterable[tuple[Hashable, Callable[[Tables], Any]]]) -> None:
        """Build and compile ``queries`` (each a key and how to make its Ibis expression from
        the tables) in the background, without running them, so that a picker choice first
        asked for later, or asked for again after an action, only runs its SQL.

        On the thread that computes ahead, after anything it has to compute: one query at a
        time, each waiting while a request is being computed; a key prepared before is not
        prepared again. Only over the copy of a SQLite store (as :meth:`ahead`); what was
        built is kept as any page's queries are (:attr:`built` and the connection's SQL).
        """
        if self._ahead is None or self._replica is None or self.closed:
            return
        for key, build in queries:
            with self._lock:
                if key in self._prepared:
                    continue
                if len(self._prepared) > 500:
                    self._prepared.clear()
                self._prepared.add(key)
            self._ahead.submit(PREPARE, functools.partial(self._prepare, build))

    def _prepare(self, build: Callable[[Tables], Any]) -> None:
        try:
            while self._worker.busy() and not self.closed:  # requests first
                time.sleep(0.05)
            if self.closed:
                return
            tables = self._tables or self._worker.submit(REQUEST, self.tables).result()
            compile_ahead(tables.backend, build(tables).as_table())
        except CancelledError:
            pass
        except Exception:  # the page builds it when asked, and says what went wrong then
            log.debug("could not compile a query ahead", exc_info=True)

    def _early(
        self, key: Hashable, compute: Callable[[Tables], Any], topics: tuple[str, ...]
    ) -> None:
        done = threading.Event()
        try:
            with self._lock:
                if self._fresh(key)[0] or self.closed:
                    return
                stamp = self._stamp(topics)
                self._computing[key] = (done, stamp)  # a request for it waits (see get)
            # the copy takes in what changed on the requests' thread (it owns the store's
            # connection); what this computes is then at least as new as that
            self._worker.submit(REQUEST, self.tables).result()
            assert self._tables is not None
            _ahead_job.check = lambda: stamp == self._stamp(topics)
            try:
                value = compute(self._tables)
            finally:
                _ahead_job.check = None
            with self._lock:
                if stamp == self._stamp(topics) and not self._fresh(key)[0]:
                    self._keep(key, compute, topics, stamp, value, shown=None)
        except (CancelledError, _GaveWay):
            pass
        except Exception:  # the page computes it when asked, and says what went wrong then
            log.debug("could not compute %r ahead", key, exc_info=True)
        finally:
            with self._lock:
                self._queued.discard(key)
                if self._computing.get(key, (None,))[0] is done:
                    del self._computing[key]
            done.set()

    def _stamp(self, reads: tuple[str, ...]) -> tuple[int, ...]:
        return (self._everything, *(self._versions[topic] for topic in reads))

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        found = self._cache.get(key)
        if found and found[0] > time.monotonic() and found[2] == self._stamp(found[1]):
            return True, found[3]
        return False, None

    def get(
        self, key: Hashable, compute: Callable[[Tables], T], reads: Collection[str] = TOPICS
    ) -> T:
        """The cached value of ``key``, or ``compute(tables)`` stored under it.

        ``reads`` are the :data:`TOPICS` the value depends on: an action that changes one of
        them drops it. ``compute`` must read the time (for sections "as of now") when it runs:
        it may run again in the background after an action.
        """
        topics = tuple(t for t in TOPICS if t in reads)
        with self._lock:
            if key in self._recent:  # shown again: among the first computed after an action
                self._recent.move_to_end(key)
        while True:
            ok, value = self._fresh(key)
            if ok:
                return value  # type: ignore[no-any-return]
            with self._lock:
                ok, value = self._fresh(key)
                if ok:
                    return value  # type: ignore[no-any-return]
                stamp = self._stamp(topics)
                ahead = self._computing.get(key)
                pending = self._pending.get(key)
                if ahead is not None and ahead[1] == stamp and pending is None:
                    future = None
                elif pending is None or pending[1] != stamp or not pending[0].running():
                    # none under way since the last action (or one queued behind requests)
                    future = self._submit(REQUEST, key, compute, topics, stamp)
                else:
                    future = pending[0]
            if future is None:
                # under way on the thread computing ahead: wait for it rather than compute it
                # a second time beside it; if it was not kept (an action came meanwhile, or it
                # failed), the next turn computes it here
                assert ahead is not None
                with self._worker.paused():  # nor does this thread start background work
                    ahead[0].wait()
                if self.closed:
                    raise CancelledError
                continue
            try:
                result = future.result()
            except CancelledError:
                if self.closed:
                    raise
                continue
            if result is not None:  # sections are never None: None is a refresh that gave way
                return result  # to a newer action; then it is computed now

    def _submit(
        self,
        priority: int,
        key: Hashable,
        compute: Callable[[Tables], T],
        topics: tuple[str, ...],
        stamp: tuple[int, ...],
    ) -> Future[T | None]:
        def job() -> T | None:
            ok, value = self._fresh(key)
            if ok:  # a request or refresh before this one got there first
                return value  # type: ignore[no-any-return]
            if priority == REFRESH and stamp != self._stamp(topics):
                return None  # another action since: its own refresh comes after this one
            started = time.monotonic()
            value = compute(self.tables())
            took = time.monotonic() - started
            self._maybe_reload()
            with self._lock:
                # computed for a request: shown (a refresh leaves its place as it was)
                shown = took if priority == REQUEST else None
                self._keep(key, compute, topics, stamp, value, shown=shown)
                if self._pending.get(key, (None,))[0] is future:
                    del self._pending[key]
            return value

        future = self._worker.submit(priority, job)
        self._pending[key] = (future, stamp)
        return future

    def _keep(
        self,
        key: Hashable,
        compute: Callable[[Tables], Any],
        topics: tuple[str, ...],
        stamp: tuple[int, ...],
        value: Any,
        *,
        shown: float | None,
    ) -> None:
        """Keep a computed section (under ``self._lock``). ``shown``: the seconds it took when a
        page asked for it (it is then the first of those computed again after an action),
        ``None`` when computed ahead or again in the background."""
        if self.ttl <= 0:
            return
        if len(self._cache) > 500:
            self._cache.clear()
        self._cache[key] = (time.monotonic() + self.ttl, topics, stamp, value)
        if shown is not None:
            self._recent[key] = (compute, topics, shown)
            self._recent.move_to_end(key)
            while len(self._recent) > 4 * REFRESH_SECTIONS:
                self._recent.popitem(last=False)

    def changed(self, topics: Collection[str] | None = None, leads: Collection[int] = ()) -> None:
        """Data changed through the dashboard: no section reading ``topics`` (``None``:
        anything) that was cached before now is shown again; the recently shown ones are
        computed again in the background. ``leads`` are the leads whose rows changed (the copy
        reads them again)."""
        if self._replica is not None and leads:
            self._replica.touch(leads)
        with self._lock:
            if topics is None:
                self._everything += 1
                self._cache.clear()
                self._recent.clear()  # computed with the contract of their time
                self._prepared.clear()  # so were those
                return
            for topic in topics:
                self._versions[topic] += 1
            dropped = set(topics)
            for key, entry in list(self._cache.items()):
                if dropped & set(entry[1]):
                    del self._cache[key]
            if self.closed or self.ttl <= 0:
                return
            again = [
                (key, compute, reads, took)
                for key, (compute, reads, took) in reversed(self._recent.items())
                if dropped & set(reads) and took <= REFRESH_SECONDS
            ]
            # on this thread, not the one computing ahead: that one may be busy compiling a
            # choice not asked for yet, and going back to the page would find nothing ready;
            # after the page the person opens next has asked for its sections
            self._worker.hold(AFTER_ACTION)
            spent = 0.0
            for key, compute, reads, took in again[:REFRESH_SECTIONS]:
                spent += took
                if spent > REFRESH_BUDGET and spent > took:  # the first one always
                    break
                self._submit(REFRESH, key, compute, reads, self._stamp(reads))

    def close(self) -> None:
        def work() -> None:
            if self._replica is not None:
                self._replica.close()
            elif self._tables is not None:
                self._tables.close()
            self._tables = None

        with self._lock:
            self.closed = True
        if self._ahead is not None:
            self._ahead.shutdown(lambda: None)
        self._worker.shutdown(work)
