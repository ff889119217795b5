"""A repeated ``messageId`` is stored once, whether sent again later or by several clients at the
same moment; a repeated lead form (``Idempotency-Key``) answers the same lead (live server,
SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, func, select
from tests.fixtures.live import Keys, make_keys, thread_server

from baton.store import tables as t
from baton.store.uow import UnitOfWork


@pytest.fixture
def served(engine: Engine, database_url: str) -> Iterator[tuple[str, Keys]]:
    keys = make_keys(engine)
    with thread_server(database_url) as base:
        yield base, keys


def counts(engine: Engine) -> dict[str, int]:
    with UnitOfWork(engine) as uow:
        return {
            m.__tablename__: int(uow.session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (
                t.Event,
                t.Touchpoint,
                t.Lead,
                t.Contact,
                t.Profile,
                t.Identity,
                t.StageChangeRow,
            )
        }


def batch(first: int, last: int) -> dict[str, object]:
    return {
        "batch": [
            {
                "type": "identify",
                "messageId": f"m{n}",
                "anonymousId": f"a{n % 5}",
                "traits": {"email": f"p{n % 5}@acme.io"},
            }
            if n % 4 == 0
            else {"type": "page", "messageId": f"m{n}", "anonymousId": f"a{n % 5}", "name": "Home"}
            for n in range(first, last)
        ]
    }


def test_a_batch_sent_again_stores_nothing_new(served: tuple[str, Keys], engine: Engine) -> None:
    base, keys = served
    with httpx.Client(base_url=base, headers=keys.basic()) as client:
        first = client.post("/v1/batch", json=batch(0, 40)).json()
        after_first = counts(engine)
        again = client.post("/v1/batch", json=batch(0, 40)).json()
        overlap = client.post("/v1/batch", json=batch(30, 50)).json()
    assert (first["stored"], first["duplicates"]) == (40, 0)
    assert (again["stored"], again["duplicates"]) == (0, 40)
    assert (overlap["stored"], overlap["duplicates"]) == (10, 10)
    final = counts(engine)
    assert after_first["events"] == 40 and final["events"] == 50
    assert final["touchpoints"] == 50 - len(range(0, 50, 4))  # identifies make no touch
    assert final["leads"] == final["contacts"] == final["stage_changes"] == 5


def test_the_same_batch_from_many_clients_at_once_is_stored_once(
    served: tuple[str, Keys], engine: Engine
) -> None:
    base, keys = served
    barrier = threading.Barrier(8)
    answers: list[dict[str, int]] = []

    def send(first: int) -> None:
        with httpx.Client(base_url=base, headers=keys.basic(), timeout=30) as client:
            barrier.wait()
            response = client.post("/v1/batch", json=batch(first, first + 60))
            assert response.status_code == 200, response.text
            answers.append(response.json())

    # four clients send events 0-59 and four send 30-89, all at once
    threads = [threading.Thread(target=send, args=(0 if i % 2 else 30,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(a["stored"] for a in answers) == 90
    assert sum(a["stored"] + a["duplicates"] for a in answers) == 8 * 60
    final = counts(engine)
    assert final["events"] == 90 and final["touchpoints"] == 90 - len(range(0, 90, 4))
    # five people, each once, however the requests interleaved
    assert final["leads"] == final["contacts"] == final["stage_changes"] == 5
    assert final["identities"] == 10  # five anonymous ids and five emails
    with UnitOfWork(engine) as uow:
        assert (
            uow.session.scalar(
                select(func.count()).select_from(t.Event).where(t.Event.lead_id.is_(None))
            )
            == 0
        )


def test_a_lead_form_sent_twice_answers_the_same_lead(
    served: tuple[str, Keys], engine: Engine
) -> None:
    base, keys = served
    form = {"email": "lee@initech.com", "first_name": "Lee", "form": "demo-request"}
    with httpx.Client(
        base_url=base, headers={**keys.bearer(keys.write), "Idempotency-Key": "form-77"}
    ) as client:
        first = client.post("/api/v1/leads", json=form)
        again = client.post("/api/v1/leads", json=form)
        other = client.post("/api/v1/leads", json=form, headers={"Idempotency-Key": "form-78"})
    assert (first.status_code, first.json()["created"], first.json()["duplicate"]) == (
        201,
        True,
        False,
    )
    assert (again.status_code, again.json()["created"], again.json()["duplicate"]) == (
        200,
        False,
        True,
    )
    assert (other.status_code, other.json()["created"], other.json()["duplicate"]) == (
        200,
        False,
        False,
    )
    assert first.json()["lead"]["id"] == again.json()["lead"]["id"] == other.json()["lead"]["id"]
    assert first.json()["lead"]["stage"] == "subscriber"
    final = counts(engine)
    assert (final["events"], final["leads"], final["touchpoints"]) == (2, 1, 2)


def test_two_servers_on_one_database_store_each_event_and_person_once(
    engine: Engine, database_url: str
) -> None:
    keys = make_keys(engine)
    answers: list[dict[str, int]] = []
    with thread_server(database_url) as one, thread_server(database_url) as two:
        barrier = threading.Barrier(8)

        def send(base: str, first: int) -> None:
            with httpx.Client(base_url=base, headers=keys.basic(), timeout=30) as client:
                barrier.wait()
                while True:  # as Segment's libraries do: a 503 is sent again
                    response = client.post("/v1/batch", json=batch(first, first + 60))
                    if response.status_code != 503:
                        break
                assert response.status_code == 200, response.text
                answers.append(response.json())

        threads = [
            threading.Thread(target=send, args=(one if i % 2 else two, 30 * (i % 3)))
            for i in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sum(a["stored"] for a in answers) == 120  # events 0 to 119, each stored once
    final = counts(engine)
    assert final["events"] == 120 and final["touchpoints"] == 120 - len(range(0, 120, 4))
    assert final["leads"] == final["contacts"] == final["stage_changes"] == 5
    assert final["identities"] == 10 and final["profiles"] == 5
    with UnitOfWork(engine) as uow:
        unstitched = select(func.count()).select_from(t.Event).where(t.Event.lead_id.is_(None))
        assert uow.session.scalar(unstitched) == 0
