"""The handoff end to end, on a live ``baton serve`` (uvicorn on 127.0.0.1, SQLite and
PostgreSQL), with a real SMTP server and a Slack-style webhook receiver on loopback.

A VP asks for a demo late on a Friday. The form crosses the MQL threshold, the lead goes to the
enterprise team's next rep with the rule and reason stated, and the rep hears of it by email and
webhook. Nobody touches it: the first-touch SLA (4 business hours, New York, Monday to Friday
09:00-17:00) runs out on Monday, on the second it should, not a second before, the rep's
manager is told and the lead goes to the next rep. That rep rejects it with a reason code and
it goes back to marketing, who hear why.

The time is the server's injected clock (``create_app(settings, clock=...)``), shared with the
worker; the test moves it. On SQLite the worker is the one ``baton serve`` runs in its own
process; on PostgreSQL it runs beside the server, as ``baton worker`` does.

Working out the due time by hand, from the default contract: the form arrives Friday
2026-03-06 at 16:00 EST (21:00 UTC), one business hour before the day ends. Three more are
needed; the weekend does not count, and the clocks go forward on Sunday 2026-03-08, so they are
Monday 09:00-12:00 EDT: due **Monday 2026-03-09 12:00 EDT = 16:00 UTC** (not 17:00 UTC, as
counting 67 wall-clock hours in EST would say). The reminders at 50% and 80% of the four hours
fall at 10:00 and 11:12 EDT.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select
from tests.fixtures.handoff import seed
from tests.fixtures.live import make_keys, thread_server
from tests.fixtures.receivers import Hook, Mailbox, wait_for

from baton.config import Settings
from baton.contract import default_contract_text
from baton.store import tables as t
from baton.store.engine import make_engine
from baton.store.uow import UnitOfWork
from baton.worker import start_in_process

FRIDAY_4PM = dt.datetime(2026, 3, 6, 21, 0, tzinfo=dt.UTC)  # 16:00 EST
DUE = dt.datetime(2026, 3, 9, 16, 0, tzinfo=dt.UTC)  # Monday 12:00 EDT
REMINDERS = [
    dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC),  # 10:00 EDT, half the time used
    dt.datetime(2026, 3, 9, 15, 12, tzinfo=dt.UTC),  # 11:12 EDT, 80%
]
FORM = {
    "email": "pat.lee@bigcorp.com",
    "first_name": "Pat",
    "last_name": "Lee",
    "company": "Bigcorp",
    "title": "VP Marketing",
    "country": "United States",
    "form": "demo-request",
}


class MovableClock:
    """The server's and the worker's clock, set by the test (never read from the machine)."""

    def __init__(self, now: dt.datetime) -> None:
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, now: dt.datetime) -> None:
        with self._lock:
            self._now = now


@contextmanager
def worker_beside(database_url: str, settings: Settings, clock: MovableClock) -> Iterator[None]:
    """On PostgreSQL ``baton serve`` runs no worker; run one beside it, as ``baton worker``
    would (its own engine, the same clock)."""
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":
        engine.dispose()
        yield
        return
    background = start_in_process(engine, settings, clock=clock)
    try:
        yield
    finally:
        background.stop()
        engine.dispose()


def mail_to(box: Mailbox, address: str, subject_start: str) -> list[Any]:
    return [
        m
        for m in box.parsed()
        if m["To"] == address and str(m["Subject"]).startswith(subject_start)
    ]


def hooks_with(hook: Hook, piece: str) -> list[str]:
    return [b["text"] for b in list(hook.bodies) if piece in b["text"]]


def timers(client: httpx.Client, lead: int, read: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v1/leads/{lead}/routing", headers=read)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["timers"])


def test_a_form_fill_is_routed_notified_breached_escalated_and_rejected_live(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    smtp: tuple[Mailbox, int],
    webhook: tuple[Hook, str],
) -> None:
    box, smtp_port = smtp
    hook, hook_url = webhook
    contract = tmp_path / "baton.toml"
    contract.write_text(default_contract_text(), encoding="utf-8")
    floor = seed(engine, default_contract_text())  # teams, reps, managers, accounts
    keys = make_keys(engine)
    write, read = keys.bearer(keys.write), keys.bearer(keys.read)
    clock = MovableClock(FRIDAY_4PM)
    settings: dict[str, Any] = {
        "contract_path": contract,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_from": "baton@co.com",
        "webhook_url": hook_url,
        "worker_poll_seconds": 0.02,
    }
    with (
        thread_server(database_url, clock=clock, **settings) as base,
        worker_beside(database_url, Settings(database_url=database_url, **settings), clock),
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        # -- Friday 16:00 EST: the form crosses the MQL threshold and is routed at once ------
        posted = client.post("/api/v1/leads", json=FORM, headers=write)
        assert posted.status_code == 201, posted.text
        lead = posted.json()["lead"]
        assert lead["stage"] == "mql" and lead["score"] >= 50
        assert lead["owner_id"] == floor.users["ana"]
        lead_id = lead["id"]

        why = client.get(f"/api/v1/leads/{lead_id}/routing", headers=read).json()
        assert why["owner"] == "ana@co.com" and why["stage"] == "mql"
        first = why["decisions"][0]
        assert (first["trigger"], first["rule"], first["assignee"]) == (
            "mql",
            "enterprise",
            "ana@co.com",
        )
        assert "Enterprise accounts go to the enterprise team" in why["why"], why["why"]
        assert why["assignment"]["first_touch_due"] == DUE.isoformat()
        assert [(x["kind"], x["due_at"]) for x in why["timers"] if x["kind"] != "attempts"] == [
            ("reminder", REMINDERS[0].isoformat()),
            ("reminder", REMINDERS[1].isoformat()),
            ("breach", DUE.isoformat()),
        ]

        # the rep hears of it by email and by webhook
        (new,) = wait_for("Ana's email", lambda: mail_to(box, "ana@co.com", "New lead for you"))
        assert new["From"] == "baton@co.com"
        assert "Pat Lee <pat.lee@bigcorp.com>, Bigcorp" in new["Subject"]
        assert "First touch due by Mon 2026-03-09 12:00 EDT (4 business hours)." in (
            new.get_content()
        )
        (yours,) = wait_for("the webhook to Ana", lambda: hooks_with(hook, "is yours, ana@co.com"))
        assert yours.startswith(f"Pat Lee <pat.lee@bigcorp.com>, Bigcorp (lead {lead_id})")

        # -- Monday 11:59:59 EDT: both reminders, and no breach --------------------------------
        clock.set(DUE - dt.timedelta(seconds=1))
        wait_for(
            "the two reminders to Ana",
            lambda: (
                len(mail_to(box, "ana@co.com", "Reminder:")) == 2
                and len(hooks_with(hook, "Reminder for ana@co.com")) == 2
            ),
        )
        assert [x["status"] for x in timers(client, lead_id, read) if x["kind"] != "attempts"] == [
            "done",
            "done",
            "pending",
        ]
        threading.Event().wait(0.25)  # the worker polls every 20 ms: give it a dozen chances
        assert [x["status"] for x in timers(client, lead_id, read) if x["kind"] == "breach"] == [
            "pending"
        ]
        assert mail_to(box, "maria@co.com", "SLA breached") == []

        # -- Monday 12:00:00 EDT: breached; Maria (the team's manager) is told, Ben takes it ----
        clock.set(DUE)
        (breach,) = wait_for(
            "the breach email to Maria", lambda: mail_to(box, "maria@co.com", "SLA breached")
        )
        assert "ana@co.com has not touched Pat Lee" in breach.get_content()
        assert "within 4 business hours (due Mon 2026-03-09 12:00 EDT)" in breach.get_content()
        assert "Escalated to maria@co.com." in breach.get_content()
        wait_for("the breach webhook", lambda: hooks_with(hook, "SLA breached: ana@co.com"))
        (handed,) = wait_for("Ben's email", lambda: mail_to(box, "ben@co.com", "New lead for you"))
        assert "First touch due by Mon 2026-03-09 16:00 EDT (4 business hours)." in (
            handed.get_content()
        )

        why = client.get(f"/api/v1/leads/{lead_id}/routing", headers=read).json()
        assert why["owner"] == "ben@co.com"
        latest = why["decisions"][0]
        assert (latest["trigger"], latest["rule"], latest["assignee"]) == (
            "breach",
            "enterprise",
            "ben@co.com",
        )
        assert latest["at"] == DUE.isoformat()
        assert why["assignment"]["handoffs"] == 1

        # -- Ben rejects it with a reason code: back to marketing, who hear why ----------------
        clock.set(DUE + dt.timedelta(minutes=30))
        rejected = client.post(
            f"/api/v1/leads/{lead_id}/reject",
            json={"reason": "not-icp", "by": "ben@co.com", "note": "agency, not a buyer"},
            headers=write,
        )
        assert rejected.status_code == 200, rejected.text
        body = rejected.json()
        assert (body["stage_from"], body["stage_to"], body["reason"]) == (
            "mql",
            "recycled",
            "not-icp",
        )
        assert body["timers_cancelled"] == 4  # Ben's two reminders, breach and attempts check
        (told,) = wait_for("the rejection webhook", lambda: hooks_with(hook, "rejected"))
        assert told == (
            f"ben@co.com rejected Pat Lee <pat.lee@bigcorp.com>, Bigcorp (lead {lead_id}): "
            "Not our ideal customer (not-icp) - agency, not a buyer. Back to marketing as Recycled."
        )
        shown = client.get(f"/api/v1/leads/{lead_id}", headers=read).json()["lead"]
        assert shown["stage"] == "recycled"
        why = client.get(f"/api/v1/leads/{lead_id}/routing", headers=read).json()
        assert (why["assignment"]["status"], why["assignment"]["close_reason"]) == (
            "rejected",
            "not-icp",
        )

        # Ben's clock stopped: on Tuesday, past his due time, nothing more is said of the lead
        sent = (len(box.messages), len(hook.bodies))
        clock.set(dt.datetime(2026, 3, 10, 15, 0, tzinfo=dt.UTC))
        threading.Event().wait(0.25)
        assert {x["status"] for x in timers(client, lead_id, read)} == {"cancelled"}
        assert (len(box.messages), len(hook.bodies)) == sent
        assert len(mail_to(box, "maria@co.com", "SLA breached")) == 1

    with UnitOfWork(engine) as uow:
        change = uow.session.scalars(
            select(t.StageChangeRow)
            .where(t.StageChangeRow.subject == "lead", t.StageChangeRow.subject_id == lead_id)
            .order_by(t.StageChangeRow.id.desc())
        ).first()
        assert change is not None
        assert (change.from_stage, change.to_stage, change.reason) == ("mql", "recycled", "not-icp")
        assert change.actor == "rep:ben@co.com"
