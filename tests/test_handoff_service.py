"""Routing, the SLA clock and sales actions on a real store (SQLite and PostgreSQL).

Times are worked out by hand from the fixture's business hours (New York, Monday to Friday
09:00-17:00, EST = UTC-5, holidays Monday 2026-11-23 and Thursday 2026-11-26) and a first touch
due in 4 business hours.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from tests.fixtures.handoff import FRIDAY_3PM, Floor, new_mql, seed

from baton.config import Settings
from baton.errors import InvalidInput
from baton.service.handoff import accept_lead, log_attempt, log_connect, reject_lead
from baton.service.reps import set_rep
from baton.service.routing import explain_routing, route_lead, route_leads
from baton.store import tables as t
from baton.store.uow import UnitOfWork
from baton.worker import Worker


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def at(moment: dt.datetime):  # type: ignore[no-untyped-def]
    return lambda: moment


@pytest.fixture
def floor(engine: Engine) -> Floor:
    return seed(engine)


def route(engine: Engine, lead_id: int, when: dt.datetime = FRIDAY_3PM):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        result = route_lead(uow, lead_id, clock=at(when))
        uow.commit()
    return result


def timers(engine: Engine, lead_id: int) -> list[tuple[str, float | None, dt.datetime, str, int]]:
    with UnitOfWork(engine) as uow:
        rows = uow.session.scalars(
            select(t.SlaTimer).where(t.SlaTimer.lead_id == lead_id).order_by(t.SlaTimer.id)
        )
        return [(r.kind, r.share, r.due_at, r.status, r.assignment_id or 0) for r in rows]


def outbox(engine: Engine, lead_id: int) -> list[tuple[str, str, str | None]]:
    with UnitOfWork(engine) as uow:
        rows = uow.session.scalars(
            select(t.OutboxMessage)
            .where(t.OutboxMessage.lead_id == lead_id)
            .order_by(t.OutboxMessage.id)
        )
        return [(r.topic, r.kind, r.recipient) for r in rows]


def test_an_mql_is_routed_with_its_reason_timers_and_notifications(
    engine: Engine, floor: Floor
) -> None:
    lead = new_mql(engine, floor, "pat@bigcorp.com", "Bigcorp")
    result = route(engine, lead)
    assert (result.assignee, result.rule) == ("ana@co.com", "enterprise")
    assert (
        'rule "enterprise" (Enterprise accounts) matched: size_band is enterprise' in result.reason
    )
    # 4 business hours from Friday 15:00 EST: 2 on Friday, Monday is a holiday, 2 on Tuesday
    # from 09:00: due Tuesday 11:00 EST = 16:00 UTC
    assert result.first_touch_due == utc(2026, 11, 24, 16, 0)
    got = [(kind, share, due) for kind, share, due, status, _ in timers(engine, lead)]
    assert got == [
        ("reminder", 0.5, utc(2026, 11, 20, 22, 0)),  # 2 h: Friday's closing time
        ("reminder", 0.8, utc(2026, 11, 24, 15, 12)),  # 3.2 h: Tuesday 10:12 EST
        ("breach", 1.0, utc(2026, 11, 24, 16, 0)),
        # the 10th working day counting Friday as day 1, skipping both holidays:
        # Nov 20, 24, 25, 27, 30, Dec 1, 2, 3, 4, 7 -> Monday Dec 7 at 17:00 EST
        ("attempts", None, utc(2026, 12, 7, 22, 0)),
    ]
    assert outbox(engine, lead) == [
        ("assigned", "webhook", None),
        ("assigned", "email", "ana@co.com"),
    ]
    with UnitOfWork(engine) as uow:
        row = uow.session.get(t.Lead, lead)
        assert row is not None and row.owner_id == floor.users["ana"]
    # routing again changes nothing
    again = route(engine, lead)
    assert again.already_routed and again.assignee == "ana@co.com"
    assert len(timers(engine, lead)) == 4


def test_round_robin_owner_first_and_default(engine: Engine, floor: Floor) -> None:
    got = [
        route(engine, new_mql(engine, floor, f"p{i}@bigcorp.com", "Bigcorp")).assignee
        for i in range(4)
    ]
    assert got == ["ana@co.com", "ben@co.com", "ana@co.com", "ben@co.com"]
    owned = route(engine, new_mql(engine, floor, "x@owned.com", "Owned"))
    assert (owned.assignee, owned.rule) == ("dee@co.com", "owner")
    small = route(engine, new_mql(engine, floor, "y@tiny.com", "Tiny"))
    # the SMB team's members in user-id order; the manager (sam) is not a member for routing
    assert (small.assignee, small.rule) == ("cy@co.com", "default")


def test_leads_routed_together_go_where_one_after_another_would(
    engine: Engine, floor: Floor
) -> None:
    with UnitOfWork(engine) as uow:
        set_rep(uow, "ben@co.com", clock=at(FRIDAY_3PM), max_open=1)
        uow.commit()
    leads = [new_mql(engine, floor, f"p{i}@bigcorp.com", "Bigcorp") for i in range(4)]
    leads += [new_mql(engine, floor, "x@owned.com", "Owned")]
    leads += [new_mql(engine, floor, "y@tiny.com", "Tiny")]
    with UnitOfWork(engine) as uow:
        got = route_leads(uow, leads, clock=at(FRIDAY_3PM))
        uow.commit()
    # each decision sees the ones before it: ben is full after his first lead, so the third
    # and fourth go to ana; the cursor and loads are those of routing one after another
    assert [(r.lead_id, r.assignee, r.rule) for r in got] == [
        (leads[0], "ana@co.com", "enterprise"),
        (leads[1], "ben@co.com", "enterprise"),
        (leads[2], "ana@co.com", "enterprise"),
        (leads[3], "ana@co.com", "enterprise"),
        (leads[4], "dee@co.com", "owner"),
        (leads[5], "cy@co.com", "default"),
    ]
    assert "ben@co.com (at capacity" in got[2].reason
    assert all(len(timers(engine, lead)) == 4 for lead in leads)
    assert all(len(outbox(engine, lead)) == 2 for lead in leads)
    with UnitOfWork(engine) as uow:
        again = route_leads(uow, leads, clock=at(FRIDAY_3PM))
        decisions = uow.session.scalars(select(t.RoutingDecision.lead_id)).all()
    assert all(r.already_routed for r in again)
    assert sorted(decisions) == sorted(leads)  # one decision each, none made twice


def test_out_of_office_and_capacity_from_the_store(engine: Engine, floor: Floor) -> None:
    with UnitOfWork(engine) as uow:
        set_rep(uow, "ana@co.com", clock=at(FRIDAY_3PM), time_off=["2026-11-20:2026-11-27"])
        set_rep(uow, "ben@co.com", clock=at(FRIDAY_3PM), max_open=1)
        uow.commit()
    first = route(engine, new_mql(engine, floor, "a@bigcorp.com", "Bigcorp"))
    assert first.assignee == "ben@co.com"
    assert "ana@co.com (out of office until 2026-11-28)" in first.reason
    # ben now holds 1 open lead of 1; the enterprise rule has nobody, so the default takes it
    second = route(engine, new_mql(engine, floor, "b@bigcorp.com", "Bigcorp"))
    assert (second.assignee, second.rule) == ("cy@co.com", "default")
    explained = explain_routing_of(engine, second.lead_id)
    checks = explained["decisions"][0]["details"]["checks"]
    assert checks[0] == {
        "step": "rule enterprise",
        "matched": True,
        "outcome": "matched, but nobody could take it: all 2 reps unavailable",
    }
    skipped = {s["rep"]: s["why"] for s in explained["decisions"][0]["details"]["skipped"]}
    assert skipped == {
        "ana@co.com": "out of office until 2026-11-28",
        "ben@co.com": "at capacity (1 open leads of 1)",
    }


def explain_routing_of(engine: Engine, lead_id: int) -> dict:  # type: ignore[type-arg]
    with UnitOfWork(engine) as uow:
        return explain_routing(uow, lead_id).as_dict()


def run_worker(engine: Engine, when: dt.datetime) -> Worker:
    worker = Worker(engine, Settings(database_url="sqlite://"), clock=at(when))
    worker.drain()
    return worker


def test_breach_escalates_to_the_manager_and_hands_the_lead_on(
    engine: Engine, floor: Floor
) -> None:
    lead = new_mql(engine, floor, "pat@bigcorp.com", "Bigcorp")
    route(engine, lead)
    # Friday 16:00 EST: nothing due yet (the first reminder is at 17:00)
    assert run_worker(engine, utc(2026, 11, 20, 21, 0)).stats.timers_run == []
    # Tuesday 11:00 EST: both reminders and the breach fire, in due order
    worker = run_worker(engine, utc(2026, 11, 24, 16, 0))
    assert len(worker.stats.timers_run) == 3
    topics = outbox(engine, lead)
    assert ("reminder", "email", "ana@co.com") in topics
    assert ("breach", "email", "maria@co.com") in topics  # ana's manager
    assert topics[-1] == ("assigned", "email", "ben@co.com")
    explained = explain_routing_of(engine, lead)
    latest = explained["decisions"][0]
    assert (latest["trigger"], latest["assignee"], latest["rule"]) == (
        "breach",
        "ben@co.com",
        "enterprise",
    )
    assert {
        "user_id": floor.users["ana"],
        "rep": "ana@co.com",
        "pool": "rule:enterprise",
        "why": "already had this lead",
    } in latest["details"]["skipped"]
    assert explained["owner"] == "ben@co.com"
    # ben's clock starts at the breach, Tuesday 11:00 EST: due 15:00 EST = 20:00 UTC
    assert explained["assignment"]["first_touch_due"] == "2026-11-24T20:00:00+00:00"
    assert explained["assignment"]["handoffs"] == 1
    # ben lets it breach too: both enterprise reps are out, the default team takes it
    run_worker(engine, utc(2026, 11, 24, 20, 0))
    explained = explain_routing_of(engine, lead)
    assert explained["owner"] == "cy@co.com"
    assert explained["decisions"][0]["rule"] == "default"
    # cy lets it breach: two hand-offs already, so only the manager hears of it
    run_worker(engine, utc(2026, 11, 25, 16, 0))
    explained = explain_routing_of(engine, lead)
    assert explained["owner"] == "cy@co.com" and len(explained["decisions"]) == 3
    breach = next(x for x in explained["timers"] if x["kind"] == "breach")
    assert breach["result"]["manager"] == "sam@co.com"
    assert breach["result"]["reassign"] == "not handed on: already reassigned 2 times"


def test_a_first_attempt_stops_the_clock_and_counts(engine: Engine, floor: Floor) -> None:
    lead = new_mql(engine, floor, "pat@bigcorp.com", "Bigcorp")
    route(engine, lead)
    with UnitOfWork(engine) as uow:
        first = log_attempt(uow, lead, clock=at(utc(2026, 11, 20, 21, 0)))
        second = log_connect(uow, lead, clock=at(utc(2026, 11, 20, 21, 30)), kind="email")
        uow.commit()
    assert (first.first_touch, first.timers_cancelled, first.attempts, first.by) == (
        True,
        3,
        1,
        "ana@co.com",
    )
    assert (second.first_touch, second.attempts) == (False, 2)
    assert [s for _, _, _, s, _ in timers(engine, lead)] == [
        "cancelled",
        "cancelled",
        "cancelled",
        "pending",
    ]
    with UnitOfWork(engine) as uow:
        acts = uow.session.scalars(
            select(t.Activity).where(t.Activity.lead_id == lead).order_by(t.Activity.id)
        )
        assert [(a.kind, a.outcome, a.user_id) for a in acts] == [
            ("call", "attempted", floor.users["ana"]),
            ("email", "connected", floor.users["ana"]),
        ]
    # the attempts window closes on Dec 7 with 2 of 6 attempts: owner and manager hear of it
    run_worker(engine, utc(2026, 12, 7, 22, 0))
    assert outbox(engine, lead)[-2:] == [
        ("attempts", "email", "ana@co.com"),
        ("attempts", "email", "maria@co.com"),
    ]


def test_accept_moves_to_sql_and_stops_every_timer(engine: Engine, floor: Floor) -> None:
    lead = new_mql(engine, floor, "pat@bigcorp.com", "Bigcorp")
    route(engine, lead)
    with UnitOfWork(engine) as uow:
        done = accept_lead(uow, lead, clock=at(utc(2026, 11, 20, 21, 0)), by="ana@co.com")
        uow.commit()
    assert (done.stage_from, done.stage_to, done.assignment_status, done.timers_cancelled) == (
        "mql",
        "sql",
        "accepted",
        4,
    )
    with UnitOfWork(engine) as uow:
        change = uow.session.scalars(
            select(t.StageChangeRow).order_by(t.StageChangeRow.id.desc())
        ).first()
        assert change is not None and (change.to_stage, change.actor) == ("sql", "rep:ana@co.com")
    no_company = new_mql(engine, floor, "solo@nowhere.com", None)
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput, match="company is empty"):
        accept_lead(uow, no_company, clock=at(FRIDAY_3PM))


def test_reject_needs_a_known_reason_and_recycles_the_lead(engine: Engine, floor: Floor) -> None:
    lead = new_mql(engine, floor, "pat@bigcorp.com", "Bigcorp")
    route(engine, lead)
    with UnitOfWork(engine) as uow, pytest.raises(InvalidInput) as refused:
        reject_lead(uow, lead, "too-small", clock=at(FRIDAY_3PM))
    assert (
        '"too-small" is not a rejection reason of the contract; use one of: no-budget (No budget)'
        in str(refused.value)
    )
    with UnitOfWork(engine) as uow:
        done = reject_lead(
            uow, lead, "no-budget", clock=at(utc(2026, 11, 20, 21, 0)), note="next year"
        )
        uow.commit()
    assert (done.stage_to, done.reason, done.assignment_status) == (
        "recycled",
        "no-budget",
        "rejected",
    )
    with UnitOfWork(engine) as uow:
        change = uow.session.scalars(
            select(t.StageChangeRow).order_by(t.StageChangeRow.id.desc())
        ).first()
        assert change is not None and (change.from_stage, change.to_stage, change.reason) == (
            "mql",
            "recycled",
            "no-budget",
        )
    assert outbox(engine, lead)[-1] == ("rejected", "webhook", None)
    explained = explain_routing_of(engine, lead)
    assert explained["stage"] == "recycled"
    assert (explained["assignment"]["close_reason"], explained["assignment"]["close_note"]) == (
        "no-budget",
        "next year",
    )


def test_a_lead_nobody_can_take_is_tried_again(engine: Engine, floor: Floor) -> None:
    with UnitOfWork(engine) as uow:
        for rep in ("ana", "ben", "cy", "dee"):
            set_rep(uow, f"{rep}@co.com", clock=at(FRIDAY_3PM), time_off=["2026-11-20"])
        uow.commit()
    lead = new_mql(engine, floor, "pat@bigcorp.com", "Bigcorp")
    result = route(engine, lead)
    assert result.assignee is None and result.reason.startswith("nobody could take the lead")
    assert [(k, due) for k, _, due, _, _ in timers(engine, lead)] == [
        ("route", utc(2026, 11, 20, 20, 30))
    ]
    assert outbox(engine, lead) == [("unassigned", "webhook", None)]
    # Saturday 00:30 EST the time off is over: the retry assigns ana
    run_worker(engine, utc(2026, 11, 21, 5, 30))
    assert explain_routing_of(engine, lead)["owner"] == "ana@co.com"
