"""The worker: claims due SLA timers and outbox messages in small batches and runs them.

A batch is claimed in one short transaction (:func:`baton.store.handoff.claim`: ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, one atomic ``UPDATE`` on SQLite), which marks the rows with the
worker's name. Timers then run in one transaction per batch, each inside a savepoint: a
timer's effects (notifications queued, a lead handed on) and its new status commit together,
and only rows still claimed by this worker are run, so a timer is never run twice even when a
claim is taken over. A timer whose handler fails is retried later with backoff.

Messages are sent outside any transaction (a slow SMTP server holds no lock), and their
outcome is recorded afterwards: sent, skipped (channel not configured), or a retry after
``BATON_OUTBOX_BACKOFF_SECONDS`` doubling per failure up to ``BATON_OUTBOX_BACKOFF_MAX_SECONDS``,
failed after ``BATON_OUTBOX_MAX_ATTEMPTS``; every error is kept in ``last_error``.

Timers that fell due while no worker ran are due all the same: the next run fires them.

On SQLite the worker writes through an engine whose transactions begin with ``BEGIN
IMMEDIATE``: a batch of timers reads its rows, then writes, and so it reads them inside the
transaction that holds the write lock (the driver's own deferred ``BEGIN`` would come only
before the first write, after the reads). Inside ``baton serve`` it also writes under the app's
write lock, so it and the request handlers take turns, each woken when the other is done,
instead of polling SQLite's lock. Reading the outbox and sending take neither.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, select, update
from sqlalchemy.orm import Session

from baton.config import Settings
from baton.domain.model import Clock, system_clock
from baton.service.contracts import AppliedContract, contract_in_force
from baton.service.escalation import fire_timer, preload
from baton.store import tables as t
from baton.store.engine import WriteLock, make_engine, translate_errors
from baton.store.handoff import claim
from baton.store.uow import UnitOfWork
from baton.worker.delivery import DeliveryFailed, NotConfigured, deliver

log = logging.getLogger("baton.worker")
#: Tries of a timer whose handler fails before it is marked failed.
TIMER_MAX_ATTEMPTS = 5


@dataclass
class WorkerStats:
    """What a worker did; ``timers_run`` lists the ids of timers it ran, in order."""

    timers_run: list[int] = field(default_factory=list)
    timers_failed: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, other: WorkerStats) -> None:
        self.timers_run += other.timers_run
        self.timers_failed += other.timers_failed
        self.sent += other.sent
        self.skipped += other.skipped
        self.retried += other.retried
        self.failed += other.failed

    def as_dict(self) -> dict[str, int]:
        return {
            "timers_run": len(self.timers_run), "timers_failed": self.timers_failed,
            "sent": self.sent, "skipped": self.skipped, "retried": self.retried,
            "failed": self.failed,
        }  # fmt: skip


def worker_name() -> str:
    """``host:pid:random``, unique per worker, stored on the rows it claims."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """One worker loop over one engine.

    Parameters
    ----------
    engine
        The store (each worker thread or process should have its own connections; a shared
        engine's pool gives each its own).
    settings
        Batch size, lease, outbox retries and the notification channels.
    clock
        What time it is; timers due at or before it run.
    name
        Stored on claimed rows; unique per worker (default: host, pid and a random part).
    writer
        The engine the worker writes through (default: ``engine``); on SQLite, one made with
        ``make_engine(url, immediate=True)``, so a batch holds the write lock from its start.
    write_lock
        Held around every writing transaction: the lock of the process's other writers (the
        web app's :class:`~baton.web.context.AppContext` on SQLite), so they take turns.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        name: str | None = None,
        writer: Engine | None = None,
        write_lock: threading.Lock | WriteLock | None = None,
    ) -> None:
        self.engine = engine
        self.writer = writer or engine
        self.write_lock = write_lock
        self.settings = settings
        self.clock = clock
        self.name = name or worker_name()
        self.stats = WorkerStats()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        if self.write_lock is None:
            yield
            return
        with self.write_lock:
            yield

    @property
    def _lease(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.worker_lease_seconds)

    # -- timers -------------------------------------------------------------------------------
    def run_timers(self) -> int:
        """Claim one batch of due timers and run it; return how many were claimed."""
        now = self.clock()
        with self._writing():
            ids = claim(
                self.writer, t.SlaTimer, worker=self.name, now=now,
                limit=self.settings.worker_batch, lease=self._lease,
            )  # fmt: skip
        if not ids:
            return 0
        failed = 0
        with self._writing(), UnitOfWork(self.writer) as uow:
            session = uow.session
            rows = session.scalars(
                select(t.SlaTimer)
                .where(
                    t.SlaTimer.id.in_(ids),
                    t.SlaTimer.locked_by == self.name,
                    t.SlaTimer.status == "running",
                )
                .order_by(t.SlaTimer.due_at, t.SlaTimer.id)
                .with_for_update()
            ).all()
            applied = contract_in_force(session, now)
            try:  # the fast way: the whole batch in one go
                ran = self._fire(session, rows, now, applied, isolate=False)
                uow.commit()
            except Exception as exc:  # then timer by timer, so one failure stops no other
                log.info("a timer of batch %s failed (%s); running them one by one", ids[0], exc)
                session.rollback()
                rows = session.scalars(
                    select(t.SlaTimer)
                    .where(t.SlaTimer.id.in_([r.id for r in rows]))
                    .order_by(t.SlaTimer.due_at, t.SlaTimer.id)
                    .with_for_update()
                ).all()
                ran = self._fire(session, rows, now, applied, isolate=True)
                failed = sum(1 for r in rows if r.status == "failed")
                uow.commit()
        self.stats.timers_run += ran
        self.stats.timers_failed += failed
        return len(ids)

    def _fire(
        self,
        session: Session,
        rows: Sequence[t.SlaTimer],
        now: dt.datetime,
        applied: AppliedContract,
        *,
        isolate: bool,
    ) -> list[int]:
        """Run ``rows``; with ``isolate`` each in a savepoint, a failure recorded on its row."""
        held = preload(session, rows)  # noqa: F841  (keeps the rows in the session)
        ran: list[int] = []
        for row in rows:
            if not isolate:
                status, result = fire_timer(session, row, now, applied)
            else:
                savepoint = session.begin_nested()
                try:
                    status, result = fire_timer(session, row, now, applied)
                    savepoint.commit()
                except Exception as exc:  # recorded on the timer, retried later
                    savepoint.rollback()
                    log.warning("timer %s (%s) failed: %s", row.id, row.kind, exc)
                    row.attempts += 1
                    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if row.attempts >= TIMER_MAX_ATTEMPTS:
                        row.status, row.done_at = "failed", now
                    else:
                        row.status = "pending"
                        row.due_at = now + self._backoff(row.attempts)
                    continue
            row.status, row.result, row.done_at = status, result, now
            ran.append(row.id)
        return ran

    # -- outbox -------------------------------------------------------------------------------
    def run_outbox(self) -> int:
        """Claim one batch of due messages, send them, record each outcome; return the count."""
        now = self.clock()
        with self._writing():
            ids = claim(
                self.writer, t.OutboxMessage, worker=self.name, now=now,
                limit=self.settings.worker_batch, lease=self._lease,
            )  # fmt: skip
        if not ids:
            return 0
        with translate_errors("reading the outbox"), self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    t.OutboxMessage.id, t.OutboxMessage.kind, t.OutboxMessage.recipient,
                    t.OutboxMessage.payload, t.OutboxMessage.attempts,
                ).where(t.OutboxMessage.id.in_(ids), t.OutboxMessage.locked_by == self.name)
            ).all()  # fmt: skip
        outcomes: list[tuple[int, dict[str, Any]]] = []
        for row in rows:
            outcomes.append(
                (row.id, self._send(row.kind, row.recipient, row.payload, row.attempts))
            )
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for message_id, values in outcomes:
            groups.setdefault(tuple(sorted(values)), []).append(
                {"message_id": message_id, **values}
            )
        with (
            self._writing(),
            translate_errors("recording sent notifications"),
            self.writer.begin() as connection,
        ):
            for keys, params in groups.items():  # one statement per shape, sent as a batch
                connection.execute(
                    update(t.OutboxMessage)
                    .where(
                        t.OutboxMessage.id == bindparam("message_id"),
                        t.OutboxMessage.locked_by == self.name,
                        t.OutboxMessage.status == "sending",
                    )
                    .values({k: bindparam(k) for k in keys}),
                    params,
                )
        return len(ids)

    def _send(
        self, kind: str, recipient: str | None, payload: dict[str, Any], attempts: int
    ) -> dict[str, Any]:
        tries = attempts + 1
        try:
            deliver(self.settings, kind, recipient, payload)
        except NotConfigured as exc:
            self.stats.skipped += 1
            return {"status": "skipped", "attempts": tries, "last_error": str(exc)}
        except DeliveryFailed as exc:
            now = self.clock()
            if tries >= self.settings.outbox_max_attempts:
                self.stats.failed += 1
                return {"status": "failed", "attempts": tries, "last_error": str(exc)[:2000]}
            self.stats.retried += 1
            return {
                "status": "pending", "attempts": tries, "last_error": str(exc)[:2000],
                "next_try_at": now + self._backoff(tries),
            }  # fmt: skip
        self.stats.sent += 1
        return {"status": "sent", "attempts": tries, "sent_at": self.clock()}

    def _backoff(self, tries: int) -> dt.timedelta:
        """Wait after the ``tries``-th failure: the base, doubled per further failure, capped."""
        seconds = self.settings.outbox_backoff_seconds * 2 ** (tries - 1)
        return dt.timedelta(seconds=min(seconds, self.settings.outbox_backoff_max_seconds))

    # -- loops --------------------------------------------------------------------------------
    def step(self) -> int:
        """One batch of timers and one of messages; how many rows were claimed."""
        return self.run_timers() + self.run_outbox()

    def drain(self) -> WorkerStats:
        """Run until nothing is due (``baton worker --once``)."""
        while self.step():
            pass
        return self.stats

    def run(self, stop: threading.Event) -> WorkerStats:
        """Run until ``stop`` is set, sleeping ``worker_poll_seconds`` when nothing is due."""
        while not stop.is_set():
            try:
                busy = self.step()
            except Exception as exc:  # a lost database must not end the loop; try again later
                log.warning("worker %s: %s", self.name, exc)
                busy = 0
            if not busy:
                stop.wait(self.settings.worker_poll_seconds)
        return self.stats


def run_workers(
    engine: Engine,
    settings: Settings,
    *,
    concurrency: int = 1,
    once: bool = False,
    clock: Clock = system_clock,
    stop: threading.Event | None = None,
) -> WorkerStats:
    """Run ``concurrency`` workers in threads until nothing is due (``once``) or ``stop`` is set.

    SQLite has one writer at a time, so it gets one worker whatever ``concurrency`` says, and
    that worker writes with ``BEGIN IMMEDIATE`` transactions, so it waits its turn beside a
    ``baton serve`` on the same file instead of failing.
    """
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        concurrency = 1
    on_file = sqlite and engine.url.database not in (None, "", ":memory:")
    writer = (
        make_engine(engine.url.render_as_string(hide_password=False), immediate=True)
        if on_file  # an in-memory database is private to its engine: keep that one
        else engine
    )
    stop = stop or threading.Event()
    workers = [
        Worker(engine, settings, clock=clock, writer=writer) for _ in range(max(1, concurrency))
    ]
    try:
        if len(workers) == 1:
            return workers[0].drain() if once else workers[0].run(stop)
        threads = [
            threading.Thread(
                target=w.drain if once else w.run, args=() if once else (stop,), daemon=True
            )
            for w in workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        if writer is not engine:
            writer.dispose()
    total = WorkerStats()
    for w in workers:
        total.add(w.stats)
    return total


class BackgroundWorker:
    """A worker running in a daemon thread of this process, for ``baton serve`` on SQLite.

    Call :meth:`stop` on shutdown; it sets the stop event and waits for the current batch.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        writer: Engine | None = None,
        write_lock: threading.Lock | WriteLock | None = None,
    ) -> None:
        self.worker = Worker(engine, settings, clock=clock, writer=writer, write_lock=write_lock)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=self.worker.run, args=(self.stop_event,), name="baton-worker", daemon=True
        )

    def start(self) -> BackgroundWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> WorkerStats:
        self.stop_event.set()
        self.thread.join(timeout)
        return self.worker.stats


def start_in_process(
    engine: Engine,
    settings: Settings,
    *,
    clock: Clock = system_clock,
    writer: Engine | None = None,
    write_lock: threading.Lock | WriteLock | None = None,
) -> BackgroundWorker:
    """Start one worker in a background thread; the web app calls this on startup with SQLite
    and :meth:`BackgroundWorker.stop` on shutdown.

    ``writer`` and ``write_lock`` are the app's own (see :class:`Worker`): the worker then
    writes as one more of the app's writers, in turn with the requests.
    """
    return BackgroundWorker(
        engine, settings, clock=clock, writer=writer, write_lock=write_lock
    ).start()
