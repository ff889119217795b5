"""Nothing lost: 20,000 events sent in batches while the server process is killed with SIGKILL
and started again, twice. Every event that got a 2xx answer is in the store exactly once, and
so is its touchpoint (SQLite and PostgreSQL).

The senders behave like Segment's libraries: a batch that got no answer (connection refused or
cut) is sent again, with the same message ids, until it is acknowledged. A batch the server
committed just before it died is therefore sent twice, and must still be stored once.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from tests.fixtures.live import Keys, ProcessServer, make_keys

from baton.store import tables as t
from baton.store.uow import UnitOfWork

EVENTS, BATCH, SENDERS = 20_000, 100, 4
KILL_AT = (0.3, 0.65)  # share of the events acknowledged when each SIGKILL comes


def calls(start: int) -> list[dict[str, Any]]:
    """A batch of page views, product events and now and then an identify, from 500 visitors."""
    batch = []
    for n in range(start, start + BATCH):
        visitor = f"anon-{n % 500}"
        call: dict[str, Any] = {"messageId": f"msg-{n:06d}", "anonymousId": visitor}
        if n % 10 == 0:
            call |= {"type": "identify", "traits": {"email": f"person{n % 500}@example.com"}}
        elif n % 3 == 0:
            call |= {"type": "track", "event": "Feature Used", "properties": {"n": n}}
        else:
            call |= {
                "type": "page",
                "name": "Docs",
                "properties": {"url": f"https://baton.example/docs/{n % 40}"},
            }
        batch.append(call)
    return batch


def test_nothing_acknowledged_is_lost_or_doubled_across_two_sigkills(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    keys: Keys = make_keys(engine)
    server = ProcessServer(database_url, tmp_path)
    server.start()
    pending = list(range(0, EVENTS, BATCH))
    lock = threading.Lock()
    acknowledged: list[str] = []
    answers: dict[int, int] = {}
    failures = [0]

    def sender() -> None:
        with httpx.Client(base_url=server.base, headers=keys.basic(), timeout=30) as client:
            while True:
                with lock:
                    if not pending:
                        return
                    start = pending.pop(0)
                body = {"batch": calls(start)}
                while True:
                    try:
                        response = client.post("/v1/batch", json=body)
                    except httpx.TransportError:  # refused, reset, cut off mid-answer
                        with lock:
                            failures[0] += 1
                        time.sleep(0.05)
                        continue
                    with lock:
                        answers[response.status_code] = answers.get(response.status_code, 0) + 1
                    if response.status_code == 200:
                        with lock:
                            acknowledged.extend(c["messageId"] for c in body["batch"])
                        break
                    assert response.status_code == 503, response.text  # retryable only
                    time.sleep(0.05)

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        for share in KILL_AT:
            while len(acknowledged) < share * EVENTS and any(th.is_alive() for th in threads):
                time.sleep(0.01)
            server.kill()
            time.sleep(0.3)  # senders meet a dead port meanwhile
            server.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        server.stop()
    took = time.monotonic() - started

    assert len(acknowledged) == EVENTS and len(set(acknowledged)) == EVENTS
    assert failures[0] > 0, "no request met the killed server; the test did not test anything"
    with UnitOfWork(engine) as uow:
        s = uow.session
        stored = dict(
            s.execute(select(t.Event.message_id, func.count()).group_by(t.Event.message_id)).all()
        )
        touches = dict(
            s.execute(
                select(t.Touchpoint.external_id, func.count()).group_by(t.Touchpoint.external_id)
            ).all()
        )
        without_lead = s.scalar(
            select(func.count())
            .select_from(t.Event)
            .where(
                t.Event.anonymous_id.in_([f"anon-{n}" for n in range(500)]),
                t.Event.lead_id.is_(None),
            )
        )
        leads = s.scalar(select(func.count()).select_from(t.Lead))
    assert set(stored) == set(acknowledged) and set(stored.values()) == {1}
    expected_touches = {f"msg-{n:06d}" for n in range(EVENTS) if n % 10}
    assert set(touches) == expected_touches and set(touches.values()) == {1}
    # identifies come from the visitors whose number is a multiple of 10: 50 people, and every
    # event of theirs (before or after their identify) is on their lead, the others' on none
    assert leads == 50
    assert without_lead == sum(1 for n in range(EVENTS) if (n % 500) % 10)
    assert took < 90, f"took {took:.0f} s"
