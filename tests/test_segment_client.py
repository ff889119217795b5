"""Segment's own Python library, pointed at a live ``baton serve``: what it sends is stored,
stitched to the person and tied to their account (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from segment.analytics import Client
from sqlalchemy import Engine, func, select
from tests.fixtures.live import Keys, make_keys, thread_server

from baton.store import tables as t
from baton.store.uow import UnitOfWork


@pytest.fixture
def served(engine: Engine, database_url: str) -> Iterator[tuple[str, Keys]]:
    keys = make_keys(engine)
    with thread_server(database_url) as base:
        yield base, keys


def test_the_segment_library_stores_stitches_and_matches(
    served: tuple[str, Keys], engine: Engine
) -> None:
    base, keys = served
    failures: list[Exception] = []
    client = Client(
        keys.ingest,
        host=base,
        on_error=lambda error, _batch: failures.append(error),
        upload_interval=0.05,
        max_retries=0,
        gzip=True,
    )
    anonymous = "anon-7f3a"
    before = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    client.page(
        anonymous_id=anonymous,
        name="Pricing",
        timestamp=before,
        message_id="p-1",
        properties={
            "url": "https://baton.example/pricing?utm_source=linkedin&utm_medium=paid_social&utm_campaign=Q3",
            "referrer": "https://www.linkedin.com/feed",
        },
    )
    client.track(
        anonymous_id=anonymous,
        event="Whitepaper Viewed",
        message_id="t-1",
        timestamp=before + dt.timedelta(minutes=5),
    )
    client.identify(
        user_id="u-42",
        anonymous_id=anonymous,
        message_id="i-1",
        traits={
            "email": "Dana.Reyes@Initech.com",
            "firstName": "Dana",
            "lastName": "Reyes",
            "company": {"name": "Initech LLC"},
            "title": "VP Marketing",
        },
    )
    client.group(
        user_id="u-42",
        group_id="acct-initech",
        message_id="g-1",
        traits={"name": "Initech", "website": "https://initech.com", "employees": 420},
    )
    client.track(
        user_id="u-42", event="Demo Requested", message_id="t-2", properties={"plan": "team"}
    )
    client.flush()
    client.shutdown()
    assert failures == []

    with UnitOfWork(engine) as uow:
        s = uow.session
        events = {e.message_id: e for e in s.scalars(select(t.Event))}
        assert set(events) == {"p-1", "t-1", "i-1", "g-1", "t-2"}
        lead = s.scalars(select(t.Lead)).one()
        assert (lead.email, lead.first_name, lead.last_name, lead.title) == (
            "dana.reyes@initech.com",
            "Dana",
            "Reyes",
            "VP Marketing",
        )
        assert lead.company == "Initech LLC" and lead.source == "events"
        # scored on arrival by the default contract's rule models: a VP who asked for a demo
        # crosses the MQL threshold and moves to MQL (with no reps in the store, unrouted)
        assert lead.stage == "mql" and lead.score is not None and lead.score >= 50
        # the two anonymous calls made before the identify are the lead's too
        assert {e.lead_id for e in events.values()} == {lead.id}
        assert len({e.profile_id for e in events.values()}) == 1
        touches = s.scalars(select(t.Touchpoint).order_by(t.Touchpoint.occurred_at)).all()
        assert [(tp.external_id, tp.touch_type, tp.channel) for tp in touches] == [
            ("p-1", "ad_click", "paid_social"),
            ("t-1", "event", "unknown"),
            ("t-2", "demo_request", "unknown"),
        ]
        assert {tp.lead_id for tp in touches} == {lead.id}
        assert touches[0].utm_campaign == "Q3" and lead.channel == "paid_social"
        # gzip, the client's timestamp and its sentAt: the page view keeps its time
        assert abs((events["p-1"].timestamp - before).total_seconds()) < 5
        account = s.scalars(select(t.Account)).one()
        assert (account.external_id, account.name, account.domain, account.employees) == (
            "acct-initech",
            "Initech",
            "initech.com",
            420,
        )
        assert (lead.account_id, lead.account_match_rule, lead.account_match_confidence) == (
            account.id,
            "group",
            1.0,
        )
        contact = s.get(t.Contact, lead.contact_id)
        assert (
            contact is not None and contact.email == lead.email and contact.account_id == account.id
        )
        assert (
            events["i-1"].payload["traits"]["email"] == "Dana.Reyes@Initech.com"
        )  # stored as sent
        assert "writeKey" not in events["i-1"].payload
        # entered at the first open stage, then moved to MQL by its score
        assert s.scalar(select(func.count()).select_from(t.StageChangeRow)) == 2


def test_the_segment_library_sees_a_refused_key(served: tuple[str, Keys]) -> None:
    base, _keys = served
    failures: list[Exception] = []
    client = Client(
        "not-a-key", host=base, on_error=lambda error, _batch: failures.append(error), max_retries=0
    )
    client.track(user_id="u-1", event="Signed Up")
    client.flush()
    client.shutdown()
    assert len(failures) == 1
    # Segment's library reads "code" and "message" from the answer: the shape carries both
    assert (
        getattr(failures[0], "status", None) == 401
        and getattr(failures[0], "code", None) == "unauthorized"
    )
