"""Sales' actions and "why did I get this lead?" over HTTP, on a live server (SQLite and
PostgreSQL): the routes are thin, so these check the wiring, the tokens and the error shape;
the rules themselves are tested in test_handoff_service.py."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import Engine, select
from tests.fixtures.handoff import new_mql, seed
from tests.fixtures.live import make_keys, thread_server

from baton.service.routing import route_lead
from baton.store import tables as t
from baton.store.uow import UnitOfWork

AFTER = dt.datetime(2026, 11, 20, 21, 0, tzinfo=dt.UTC)  # an hour after the leads were routed


def test_accept_reject_follow_up_and_routing_over_http(engine: Engine, database_url: str) -> None:
    floor = seed(engine)
    keys = make_keys(engine)
    taken, sent_back = (
        new_mql(engine, floor, "pat@bigcorp.com", "Bigcorp"),
        new_mql(engine, floor, "lou@bigcorp.com", "Bigcorp"),
    )
    with UnitOfWork(engine) as uow:
        for lead in (taken, sent_back):
            route_lead(uow, lead, clock=lambda: AFTER - dt.timedelta(hours=1))
        uow.commit()
    with (
        thread_server(database_url, clock=lambda: AFTER) as base,
        httpx.Client(base_url=base) as client,
    ):
        write, read = keys.bearer(keys.write), keys.bearer(keys.read)
        why = client.get(f"/api/v1/leads/{taken}/routing", headers=read)
        assert why.status_code == 200, why.text
        assert why.json()["why"] and why.json()["decisions"][0]["trigger"] == "mql"

        called = client.post(f"/api/v1/leads/{taken}/attempt", json={"kind": "call"}, headers=write)
        assert called.status_code == 200, called.text
        assert called.json()["first_touch"] is True and called.json()["attempts"] == 1
        accepted = client.post(f"/api/v1/leads/{taken}/accept", json={}, headers=write)
        assert accepted.status_code == 200, accepted.text
        assert (accepted.json()["stage_from"], accepted.json()["stage_to"]) == ("mql", "sql")

        unknown = client.post(
            f"/api/v1/leads/{sent_back}/reject", json={"reason": "too-small"}, headers=write
        )
        assert unknown.status_code == 422 and "no-budget" in unknown.json()["message"]
        rejected = client.post(
            f"/api/v1/leads/{sent_back}/reject",
            json={"reason": "no-budget", "note": "next year"},
            headers=write,
        )
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["stage_to"] == "recycled"

        # a read token cannot act, an unknown lead is a 404, a bad body a 422: one error shape
        refused = client.post(f"/api/v1/leads/{taken}/accept", json={}, headers=read)
        assert refused.status_code == 403 and refused.json()["ok"] is False
        missing = client.post("/api/v1/leads/999999/accept", json={}, headers=write)
        assert missing.status_code == 404 and missing.json()["ok"] is False
        wrong = client.post(f"/api/v1/leads/{taken}/attempt", json={"kind": 3}, headers=write)
        assert wrong.status_code == 422 and wrong.json()["ok"] is False
    with UnitOfWork(engine) as uow:
        stages = {i: s for i, s in uow.session.execute(select(t.Lead.id, t.Lead.stage))}
    assert (stages[taken], stages[sent_back]) == ("sql", "recycled")
