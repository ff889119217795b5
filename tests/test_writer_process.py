"""The writer process of ``baton serve``: a real child process over a real SQLite file and a
real PostgreSQL database. Requests are written and answered in the order of their commits, a
bad one fails alone with its own error, a writer that dies is started again, and one that is
stopped writes what it was sent first."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from baton.contract import default_contract_text
from baton.domain.model import system_clock
from baton.errors import InvalidInput, StoreError
from baton.ingest.messages import Message
from baton.service.contracts import apply_contract
from baton.store import tables as t
from baton.store.engine import WriteLock, make_engine
from baton.store.migrate import upgrade
from baton.store.uow import UnitOfWork
from baton.web.writer_process import WriterProcess


@pytest.fixture
def store(database_url: str) -> str:
    url = database_url
    engine = make_engine(url)
    upgrade(engine)
    with UnitOfWork(engine) as uow:
        apply_contract(uow.session, default_contract_text(), clock=system_clock, source="test")
        uow.commit()
    engine.dispose()
    return url


def lock_of(url: str) -> str | None:
    """The lock file beside a SQLite file; none on PostgreSQL (the database settles writers)."""
    return url.removeprefix("sqlite:///") + ".write-lock" if url.startswith("sqlite") else None


def page(message_id: str, visitor: str) -> Message:
    now = dt.datetime.now(dt.UTC)
    return Message(
        type="page", message_id=message_id, received_at=now, timestamp=now, anonymous_id=visitor
    )


def form(message_id: str, email: str, stage: str | None = None) -> Message:
    now = dt.datetime.now(dt.UTC)
    return Message(
        type="lead",
        message_id=message_id,
        received_at=now,
        timestamp=now,
        anonymous_id=f"v-{message_id}",
        properties={"email": email},
        traits={"email": email},
        entry_stage=stage,
    )


def stored_events(url: str) -> int:
    engine = make_engine(url)
    try:
        with UnitOfWork(engine) as uow:
            return int(uow.session.scalar(select(func.count()).select_from(t.Event)) or 0)
    finally:
        engine.dispose()


def test_requests_from_many_threads_are_written_once_each(store: str) -> None:
    writer = WriterProcess(store, lock_of(store))
    try:
        results = {}

        def send(n: int) -> None:
            batch = [page(f"m{n}-{i}", f"visitor-{n}") for i in range(20)]
            results[n] = writer.submit([*batch, batch[0]], token_id=None)  # one sent twice

        threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {n: (r.received, r.stored, r.duplicates) for n, r in results.items()} == {
            n: (21, 20, 1) for n in range(8)
        }
        again = writer.submit([page("m0-0", "visitor-0")], token_id=None)  # a retry
        assert (again.stored, again.duplicates) == (0, 1)
        created = writer.submit([form("f1", "ana@example.com")], token_id=None)
        assert created.created_leads and created.lead_of["f1"] == created.created_leads[0]
    finally:
        writer.stop()
    assert stored_events(store) == 161


def test_a_bad_request_fails_alone_with_its_own_error(store: str) -> None:
    writer = WriterProcess(store, lock_of(store))
    try:
        outcomes: dict[str, object] = {}

        def send(name: str, messages: list[Message]) -> None:
            try:
                outcomes[name] = writer.submit(messages, token_id=None)
            except Exception as exc:
                outcomes[name] = exc

        requests = {f"good{n}": [page(f"g{n}-{i}", f"v{n}") for i in range(50)] for n in range(4)}
        requests["bad"] = [form("b1", "bo@example.com", stage="no-such-stage")]
        threads = [threading.Thread(target=send, args=item) for item in requests.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert isinstance(outcomes["bad"], InvalidInput)
        assert "no-such-stage" in str(outcomes["bad"]) and outcomes["bad"].field == "stage"
        assert all(getattr(outcomes[f"good{n}"], "stored", None) == 50 for n in range(4))
    finally:
        writer.stop()
    assert stored_events(store) == 200


def test_a_writer_that_died_is_started_again_and_a_stopped_one_refuses(store: str) -> None:
    writer = WriterProcess(store, lock_of(store))
    try:
        assert writer.submit([page("a1", "v1")], token_id=None).stored == 1
        writer._process.kill()
        writer._process.join()
        writer._reader.join(timeout=10)  # it has seen the pipe close
        assert writer.submit([page("a2", "v1")], token_id=None).stored == 1
    finally:
        writer.stop()
    with pytest.raises(StoreError, match="stopping"):
        writer.submit([page("a3", "v1")], token_id=None)
    assert stored_events(store) == 2


def test_the_write_lock_is_held_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "baton.db.write-lock")
    probe = [
        sys.executable,
        "-c",
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError: sys.exit(3)",
        path,
    ]
    lock = WriteLock(path)
    try:
        with lock:
            assert subprocess.run(probe, check=False).returncode == 3  # held: the other waits
        assert subprocess.run(probe, check=False).returncode == 0  # released
    finally:
        lock.close()
