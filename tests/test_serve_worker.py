"""The worker ``baton serve`` runs in its own process: on by default with SQLite, off with
PostgreSQL, as ``BATON_SERVE_WORKER`` says; and on SQLite it writes in turn with the requests,
so forms posted while a thousand timers fire all get their answer and every timer runs once."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from tests.fixtures.handoff import contract_text, many_due_timers, seed
from tests.fixtures.live import make_keys, thread_server

from baton.config import Settings
from baton.store import tables as t
from baton.store.uow import UnitOfWork

#: Monday 2026-11-30, noon in New York: the load's reminders (due Friday 22:00 UTC) are overdue.
MONDAY_NOON = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)
TIMERS, FORMS, SENDERS = 1_000, 120, 4


def _timer_statuses(engine: Engine) -> dict[str, int]:
    with UnitOfWork(engine) as uow:
        rows = uow.session.execute(
            select(t.SlaTimer.status, func.count())
            .where(t.SlaTimer.kind == "reminder", t.SlaTimer.due_at <= MONDAY_NOON)
            .group_by(t.SlaTimer.status)
        ).all()
    return {status: int(n) for status, n in rows}


def _contract_file(tmp_path: Path) -> Path:
    path = tmp_path / "baton.toml"
    path.write_text(contract_text(), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("choice", "dialect", "runs"),
    [
        ("auto", "sqlite", True),
        ("auto", "postgresql", False),
        ("on", "postgresql", True),
        ("off", "sqlite", False),
    ],
)
def test_serve_worker_setting(choice: str, dialect: str, runs: bool) -> None:
    settings = Settings(serve_worker=choice)  # type: ignore[arg-type]
    assert settings.runs_worker_in_serve(dialect) is runs


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_SERVE_WORKER", "off")
    assert Settings().serve_worker == "off"
    monkeypatch.setenv("BATON_SERVE_WORKER", "sometimes")
    with pytest.raises(ValueError, match="serve_worker"):
        Settings()


def test_forms_posted_while_timers_fire_on_sqlite_all_commit(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    floor = seed(sqlite_engine)
    expected = many_due_timers(sqlite_engine, floor, TIMERS)
    keys = make_keys(sqlite_engine)
    answers: list[int] = []
    lock = threading.Lock()

    def post_forms(base: str, first: int) -> None:
        with httpx.Client(base_url=base, headers=keys.bearer(keys.write), timeout=60) as client:
            for n in range(first, FORMS, SENDERS):
                answer = client.post(
                    "/api/v1/leads",
                    json={
                        "email": f"buyer{n}@bigcorp.com",
                        "first_name": f"Buyer{n}",
                        "company": "Bigcorp",
                        "title": "VP Marketing",
                        "country": "United States",
                        "form": "demo-request",
                    },
                )
                with lock:
                    answers.append(answer.status_code)

    caplog.set_level(logging.INFO, logger="baton.worker")
    with thread_server(
        sqlite_url,
        clock=lambda: MONDAY_NOON,
        contract_path=_contract_file(tmp_path),
        worker_poll_seconds=0.01,
        worker_batch=25,
    ) as base:
        senders = [threading.Thread(target=post_forms, args=(base, i)) for i in range(SENDERS)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _timer_statuses(sqlite_engine) != {"done": TIMERS}:
            time.sleep(0.05)
    assert answers == [201] * FORMS, "a form was refused while the worker wrote"
    assert _timer_statuses(sqlite_engine) == {"done": TIMERS}
    troubles = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert troubles == [], "the worker met a lock or a failure"
    with UnitOfWork(sqlite_engine) as uow:
        s = uow.session
        reminders = s.scalar(
            select(func.count())
            .select_from(t.OutboxMessage)
            .where(t.OutboxMessage.topic == "reminder")
        )
        routed = s.scalar(
            select(func.count())
            .select_from(t.Lead)
            .where(t.Lead.email.like("buyer%"), t.Lead.stage == "mql", t.Lead.owner_id.is_not(None))
        )
        ran = list(
            s.scalars(
                select(t.SlaTimer.id).where(
                    t.SlaTimer.id.in_(expected), t.SlaTimer.status == "done"
                )
            )
        )
    assert reminders == 2 * TIMERS  # a webhook and an email each: every timer ran once
    assert routed == FORMS
    assert sorted(ran) == expected


def test_no_worker_runs_in_serve_when_turned_off(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path
) -> None:
    floor = seed(sqlite_engine)
    many_due_timers(sqlite_engine, floor, 10)
    with thread_server(
        sqlite_url,
        clock=lambda: MONDAY_NOON,
        contract_path=_contract_file(tmp_path),
        worker_poll_seconds=0.01,
        serve_worker="off",
    ) as base:
        assert httpx.get(f"{base}/health").status_code == 200
        time.sleep(0.3)
        assert _timer_statuses(sqlite_engine) == {"pending": 10}
