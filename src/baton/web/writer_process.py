"""Events written by a process of their own (``baton serve``, one process).

Python runs one thread of a process at a time. A server that both parses requests and writes
events keeps one core busy whatever the machine has: measured with ``benchmarks/service.py``
on 2 cores, the server kept 1.0 core busy while the machine sat 45% idle, and the one
transaction at a time that writes events waited for the request threads' parsing. On
PostgreSQL the writing transaction also waited for the interpreter after each of its
statements while the request threads parsed. With a writer process there, the server kept
0.80 cores busy instead of 0.64; events per second rose in 5 of 8 alternating pairs of runs,
by 7% on average, which is within this machine's noise between runs.

With a writer process, each request thread of the server parses its messages and reads them
(:func:`baton.service.events.read_messages`), then sends them through a pipe to this process
and waits. Here the requests are grouped as in a single process (:class:`WriteQueue`): the
requests that arrive while a transaction is written are written together in the next, with the
event hook, and each request's result (or error) is sent back once its transaction is
committed. The server answers only then, so nothing is answered that is not stored.

On a SQLite file, both processes write to the same file. Each transaction, here or in the
server (forms, sales actions, its worker), holds a :class:`~baton.store.engine.WriteLock` on a
file beside the database first, so they take turns without polling SQLite's own lock. On
PostgreSQL there is no such lock: the database settles concurrent writers, as it does between
server processes (see :mod:`baton.store.events`).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import multiprocessing
import pickle
import queue
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from multiprocessing.connection import Connection

from baton.errors import BatonError, StoreError
from baton.ingest.messages import Message
from baton.service.events import IngestResult, read_messages
from baton.web.batching import WriteQueue

log = logging.getLogger(__name__)

#: Requests the writer process writes together, at most (a Segment batch is ~100 events).
MOST_REQUESTS = 20


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives the pipe, else an error of the same kind with its message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        if isinstance(exc, BatonError):
            return (StoreError if isinstance(exc, StoreError) else BatonError)(str(exc))
        return RuntimeError(repr(exc))


def _serve(conn: Connection, database_url: str, lock_file: str | None) -> None:
    """The writer process: write what the server sends, and send back each request's result.

    A thread receives the requests' bytes (waiting on the pipe without the interpreter lock);
    this one takes every request received so far, writes them together, answers each, and
    goes back for more, so nothing else here competes with the writing for the lock."""
    from baton.config import Settings
    from baton.domain.model import system_clock
    from baton.service.accounts import AccountDirectory
    from baton.store.engine import WriteLock, make_engine
    from baton.web.context import AppContext

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the server stops this in turn
    settings = Settings(database_url=database_url)
    engine = make_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    # the server's checkpointer copies the log back: commits here never wait for it
    writer = (
        make_engine(database_url, immediate=True, background_checkpoints=True) if sqlite else engine
    )
    # SQLite: taken in turn with the server's own writers
    lock = WriteLock(lock_file) if lock_file is not None else None
    ctx = AppContext(settings, engine, writer, system_clock, AccountDirectory(), lock)
    assert isinstance(ctx.events, WriteQueue)
    inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def receive() -> None:
        while True:
            try:
                inbox.put(conn.recv_bytes())
            except (EOFError, OSError):  # the server is gone, or stopping
                inbox.put(None)
                return

    threading.Thread(target=receive, name="baton-writer-inbox", daemon=True).start()
    # as in the server (see create_app): start-up's objects out of the collector's passes, and
    # a collection every 10,000 allocations rather than 700
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
    conn.send((0, "ready", None))
    try:
        stopping = False
        while not stopping:
            received = [inbox.get()]
            while not inbox.empty() and len(received) < MOST_REQUESTS:
                received.append(inbox.get())
            requests = []
            for data in received:
                request = pickle.loads(data) if data is not None else None
                if request is None:
                    stopping = True  # what came before it is still written and answered
                else:
                    requests.append(request)
            if not requests:
                continue
            outcomes = ctx.events.write_together([r[1:] for r in requests])
            try:
                for (number, *_), outcome in zip(requests, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        conn.send((number, "error", _portable(outcome)))
                    else:
                        conn.send((number, "ok", outcome))
            except OSError:  # the server is gone: what it sent is written, nobody to answer
                return
    finally:
        writer.dispose()
        engine.dispose()
        if lock is not None:
            lock.close()


class WriterProcess:
    """The writer process and the pipe to it; :meth:`submit` as :class:`WriteQueue`'s."""

    def __init__(self, database_url: str, lock_file: str | None) -> None:
        self.database_url = database_url
        self.lock_file = lock_file
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()  # the pipe's sending end, and the waiting requests
        self._stopped = False
        self._start()

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # the server has threads: never fork
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(child, self.database_url, self.lock_file),
            name="baton-writer",
            daemon=True,
        )
        self._process.start()
        child.close()
        try:
            _, kind, _ = self._conn.recv()
        except EOFError:
            kind = None
        if kind != "ready":
            self._process.join(timeout=10)
            raise StoreError("the process that writes events did not start; see the server's log")
        self._waiting: dict[int, Future[IngestResult]] = {}
        self._gone: BaseException | None = None
        self._reader = threading.Thread(
            target=self._read, args=(self._conn,), name="baton-writer-answers", daemon=True
        )
        self._reader.start()

    def submit(self, messages: Sequence[Message], token_id: int | None) -> IngestResult:
        """Write ``messages`` (sent with ``token_id``) in the writer process; what it stored."""
        readings = read_messages(messages)  # on this thread, not the writer's
        number = next(self._numbers)
        data = pickle.dumps((number, list(messages), token_id, readings), pickle.HIGHEST_PROTOCOL)
        future: Future[IngestResult] = Future()
        with self._lock:
            if self._stopped:
                raise StoreError("the server is stopping; send the events again")
            if self._gone is not None:  # it died (it is never stopped while serving)
                log.warning("the process that writes events stopped; starting it again")
                self._start()
            self._waiting[number] = future
            try:
                self._conn.send_bytes(data)
            except (OSError, ValueError) as exc:
                del self._waiting[number]
                raise StoreError("the process that writes events stopped") from exc
        return future.result()

    def _read(self, conn: Connection) -> None:
        while True:
            try:
                number, kind, value = conn.recv()
            except (EOFError, OSError) as exc:
                with self._lock:
                    self._gone = exc
                    waiting, self._waiting = self._waiting, {}
                for future in waiting.values():
                    future.set_exception(StoreError("the process that writes events stopped"))
                return
            with self._lock:
                found = self._waiting.pop(number, None)
            if found is None:  # pragma: no cover  (every request is answered once)
                log.error("the process that writes events answered an unknown request")
            elif kind == "ok":
                found.set_result(value)
            else:
                found.set_exception(value)

    def stop(self) -> None:
        """Let the writer process finish what it was sent, then stop it."""
        with self._lock, contextlib.suppress(OSError, ValueError):  # it stopped already
            self._stopped = True
            self._conn.send(None)
        self._process.join(timeout=30)
        if self._process.is_alive():  # pragma: no cover
            self._process.kill()
            self._process.join()
        self._reader.join(timeout=5)
        self._conn.close()
