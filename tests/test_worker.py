"""The worker against real parts: PostgreSQL with three workers side by side, an SMTP server
(aiosmtpd) and a webhook receiver (http.server) on loopback."""

from __future__ import annotations

import datetime as dt
import threading
import time
from email import message_from_bytes, policy

import pytest
from sqlalchemy import Engine, func, select
from tests.fixtures.handoff import FRIDAY_3PM, Floor, many_due_timers, new_mql, seed
from tests.fixtures.receivers import Hook, Mailbox

from baton.config import Settings
from baton.service.routing import route_lead
from baton.store import tables as t
from baton.store.engine import make_engine
from baton.store.uow import UnitOfWork
from baton.worker import Worker, start_in_process


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def routed_lead(engine: Engine, floor: Floor) -> int:
    lead = new_mql(engine, floor, "pat@bigcorp.com", "Bigcorp", first_name="Pat", last_name="Lee")
    with UnitOfWork(engine) as uow:
        route_lead(uow, lead, clock=lambda: FRIDAY_3PM)
        uow.commit()
    return lead


def outbox_rows(engine: Engine) -> list[t.OutboxMessage]:
    with UnitOfWork(engine) as uow:
        rows = list(uow.session.scalars(select(t.OutboxMessage).order_by(t.OutboxMessage.id)))
        uow.session.expunge_all()  # keep what was read after the block rolls back
        return rows


def test_email_and_webhook_reach_real_receivers_with_a_retry(
    engine: Engine, smtp: tuple[Mailbox, int], webhook: tuple[Hook, str]
) -> None:
    box, port = smtp
    hook, url = webhook
    hook.fail_first = 1
    floor = seed(engine)
    routed_lead(engine, floor)
    settings = Settings(
        database_url="sqlite://",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="baton@co.com",
        webhook_url=url,
        outbox_backoff_seconds=30,
    )
    first = FRIDAY_3PM + dt.timedelta(seconds=1)
    worker = Worker(engine, settings, clock=lambda: first)
    worker.drain()
    assert (worker.stats.sent, worker.stats.retried) == (1, 1)
    (sender, recipients, raw) = box.messages[0]
    mail = message_from_bytes(raw, policy=policy.default)
    assert (sender, recipients) == ("baton@co.com", ["ana@co.com"])
    assert mail["Subject"] == "New lead for you: Pat Lee <pat@bigcorp.com>, Bigcorp (lead 1)"
    body = mail.get_content()  # type: ignore[attr-defined]
    assert "First touch due by Tue 2026-11-24 11:00 EST (4 business hours)." in body
    hook_row = next(r for r in outbox_rows(engine) if r.kind == "webhook")
    assert (hook_row.status, hook_row.attempts) == ("pending", 1)
    assert hook_row.last_error == "webhook answered HTTP 500 receiver down"
    assert hook_row.next_try_at == first + dt.timedelta(seconds=30)
    # not due again before the backoff is over
    assert (
        Worker(engine, settings, clock=lambda: first + dt.timedelta(seconds=29)).drain().sent == 0
    )
    later = Worker(engine, settings, clock=lambda: first + dt.timedelta(seconds=30)).drain()
    assert later.sent == 1
    assert hook.bodies == [{"text": hook.bodies[0]["text"]}]
    assert hook.bodies[0]["text"].startswith(
        "Pat Lee <pat@bigcorp.com>, Bigcorp (lead 1) is yours, ana@co.com."
    )
    assert [(r.kind, r.status, r.attempts) for r in outbox_rows(engine)] == [
        ("webhook", "sent", 2),
        ("email", "sent", 1),
    ]


def test_backoff_doubles_and_gives_up_after_the_last_attempt(
    engine: Engine, webhook: tuple[Hook, str]
) -> None:
    hook, url = webhook
    hook.fail_first = 99
    floor = seed(engine)
    routed_lead(engine, floor)
    settings = Settings(
        database_url="sqlite://", webhook_url=url, outbox_max_attempts=3, outbox_backoff_seconds=10
    )
    when = FRIDAY_3PM
    tries = []
    for _ in range(3):
        Worker(engine, settings, clock=lambda when=when: when).drain()  # type: ignore[misc]
        row = next(r for r in outbox_rows(engine) if r.kind == "webhook")
        tries.append((row.status, row.attempts, (row.next_try_at - FRIDAY_3PM).total_seconds()))
        when = row.next_try_at
    # fail at 0 s, retry after 10 s, fail, retry after 20 s more, fail: out of attempts
    assert tries == [("pending", 1, 10.0), ("pending", 2, 30.0), ("failed", 3, 30.0)]
    email = next(r for r in outbox_rows(engine) if r.kind == "email")
    assert (email.status, email.last_error) == (
        "skipped",
        "BATON_SMTP_HOST is not set; set it to send email notifications",
    )


def test_an_in_process_worker_fires_timers_that_fell_due_while_nothing_ran(
    sqlite_engine: Engine,
) -> None:
    floor = seed(sqlite_engine)
    lead = routed_lead(sqlite_engine, floor)
    # the server was down over the weekend: on Tuesday noon, every first-touch timer is overdue
    background = start_in_process(
        sqlite_engine,
        Settings(database_url="sqlite://", worker_poll_seconds=0.05),
        clock=lambda: utc(2026, 11, 24, 17, 0),
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with UnitOfWork(sqlite_engine) as uow:
                pending = uow.session.scalar(
                    select(func.count())
                    .select_from(t.SlaTimer)
                    .where(
                        t.SlaTimer.lead_id == lead,
                        t.SlaTimer.kind != "attempts",
                        t.SlaTimer.status.in_(("pending", "running")),
                        t.SlaTimer.due_at <= utc(2026, 11, 24, 17, 0),
                    )
                )
            if not pending:
                break
            time.sleep(0.05)
    finally:
        stats = background.stop()
    assert len(stats.timers_run) == 3  # two reminders and the breach, each once
    with UnitOfWork(sqlite_engine) as uow:
        owner = uow.session.get(t.Lead, lead)
        assert owner is not None and owner.owner_id == floor.users["ben"]


# -- three workers, 10,000 timers -------------------------------------------------------------
TIMERS = 10_000


@pytest.mark.postgres
def test_three_workers_on_postgresql_run_10000_timers_once_each(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    from baton.store.migrate import upgrade

    upgrade(engine)
    floor = seed(engine)
    expected = many_due_timers(engine, floor, TIMERS)
    assert len(expected) == TIMERS
    settings = Settings(database_url=postgres_url, worker_batch=50)
    monday = lambda: utc(2026, 11, 23, 12)  # noqa: E731
    engines = [make_engine(postgres_url) for _ in range(3)]
    workers = [Worker(e, settings, clock=monday, name=f"w{i}") for i, e in enumerate(engines)]
    threads = [threading.Thread(target=w.drain) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runs = [w.stats.timers_run for w in workers]
    every = [timer for run in runs for timer in run]
    assert len(every) == len(set(every)), "a timer ran twice"
    assert sorted(every) == expected, "a timer was missed"
    assert all(len(run) > 0 for run in runs), "the work was not shared"
    with engine.connect() as c:
        statuses = dict(
            c.execute(select(t.SlaTimer.status, func.count()).group_by(t.SlaTimer.status)).all()
        )
        reminders = c.scalar(
            select(func.count())
            .select_from(t.OutboxMessage)
            .where(t.OutboxMessage.topic == "reminder")
        )
        claimed_by = dict(
            c.execute(
                select(t.SlaTimer.locked_by, func.count()).group_by(t.SlaTimer.locked_by)
            ).all()
        )
    assert statuses == {"done": TIMERS}
    assert reminders == 2 * TIMERS  # one webhook and one email per timer: each effect once
    assert claimed_by == {f"w{i}": len(run) for i, run in enumerate(runs)}
    for e in [*engines, engine]:
        e.dispose()
