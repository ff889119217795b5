"""Scoring through the service on a real store (SQLite and PostgreSQL): the score log round
trip, leads.score, MQL moves through the lifecycle, batches that cost a fixed number of
queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, event, select

from baton.contract import default_contract_text, parse_contract
from baton.errors import InvalidInput, NotFound
from baton.progress import Advance
from baton.service.contracts import apply_contract
from baton.service.scoring import latest_score, rescore_open_leads, score_lead, score_leads
from baton.store import tables as t
from baton.store.repositories import LeadRepository
from baton.store.uow import UnitOfWork

AT = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
BEFORE = AT - dt.timedelta(days=200)

SCORING = r"""
[[scoring.models]]
key = "enterprise"
applies_to = [{ field = "account.employees", at_least = 2000 }]

[scoring.models.fit]
max = 50

[[scoring.models.fit.rules]]
field = "title"
matches = '\b(vp|chief)\b'
points = 25
label = "Executive buyer"

[[scoring.models.fit.rules]]
field = "account.industry"
equals = ["Software", "Financial services"]
points = 15
label = "Core industry"

[[scoring.models.fit.rules]]
field = "country"
equals = "Canada"
points = 5
label = "Core market"

[[scoring.models.fit.rules]]
field = "account.segment"
equals = "ent"
points = 10

[scoring.models.engagement]
max = 50
half_life_days = 30

[scoring.models.engagement.touches]
demo_request = { points = 40, cap = 40 }
webinar = { points = 15, cap = 30 }
email_click = { points = 5, cap = 10 }

[[scoring.models]]
key = "others"

[scoring.models.fit]
max = 40
rules = [{ field = "contact.title", contains = "manager", points = 10, label = "Manager" }]

[scoring.models.engagement]
max = 60
[scoring.models.engagement.touches]
webinar = { points = 7 }
"""


def contract_text() -> str:
    text = default_contract_text()
    return text[: text.index("\n[[scoring.models]]")] + "\n" + SCORING


#: The hand-worked lead's breakdown (see test_scoring_rules for the arithmetic).
BUYER_LINES = [
    {"part": "fit", "rule": "Executive buyer", "points": 25.0, "detail": "title: VP Marketing"},
    {"part": "fit", "rule": "Core industry", "points": 15.0,
     "detail": "account.industry: Software"},
    {"part": "fit", "rule": "Core market", "points": 5.0, "detail": "country: Canada"},
    {"part": "fit", "rule": "account.segment is ent", "points": 10.0,
     "detail": "account.segment: ent"},
    {"part": "fit", "rule": "fit limited to 50", "points": -5.0, "detail": "rules gave 55"},
    {"part": "engagement", "rule": "demo_request touches", "points": 20.0,
     "detail": "1 touch of 40, fading by half every 30 days (full value 40)"},
    {"part": "engagement", "rule": "webinar touches", "points": 7.5,
     "detail": "2 touches of 15, fading by half every 30 days (full value 30)"},
    {"part": "engagement", "rule": "email_click touches", "points": 15.0,
     "detail": "3 touches of 5, fading by half every 30 days"},
    {"part": "engagement", "rule": "email_click limited to 10", "points": -5.0,
     "detail": "email_click touches gave 15"},
]  # fmt: skip


class Recorder:
    """A progress sink that remembers what it was told."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, int | None]] = []
        self.done = 0

    def task(self, description: str, total: int | None) -> Advance:
        self.tasks.append((description, total))

        def advance(n: int) -> None:
            self.done += n

        return advance


def add_lead(
    session: Any,
    name: str,
    *,
    stage: str | None = "lead",
    score: float | None = None,
    email: str | None = "x@acme.example",
    title: str | None = "VP Marketing",
    account: t.Account | None = None,
    contact: t.Contact | None = None,
    created: dt.datetime = BEFORE,
    touches: tuple[tuple[str, float], ...] = (),
) -> t.Lead:
    lead = t.Lead(
        source="test", external_id=name, email=email, title=title, country="Canada",
        stage=stage, stage_entered_at=created if stage else None, score=score, created_at=created,
        account_id=account.id if account else None, contact_id=contact.id if contact else None,
        properties={},
    )  # fmt: skip
    session.add(lead)
    session.flush()
    for i, (kind, days) in enumerate(touches):
        session.add(
            t.Touchpoint(
                source="test", external_id=f"{name}-{i}", lead_id=lead.id, channel="email",
                touch_type=kind, occurred_at=AT - dt.timedelta(days=days), properties={},
            )
        )  # fmt: skip
    return lead


BUYER_TOUCHES = (
    ("demo_request", 30), ("webinar", 60), ("webinar", 60),
    ("email_click", 0), ("Email_Click", 0), ("email_click", 0),
    ("visit", 0), ("demo_request", -1),
)  # fmt: skip


@pytest.fixture
def store(engine: Engine) -> dict[str, int]:
    """The contract (in force from 200 days before AT) and seven leads, by name → id."""
    with UnitOfWork(engine) as uow:
        s = uow.session
        apply_contract(s, contract_text(), clock=lambda: BEFORE, effective_at=BEFORE)
        acme = t.Account(source="test", external_id="A1", name="Acme", industry="Software",
                         employees=2500, properties={"segment": "ent"})  # fmt: skip
        small = t.Account(source="test", external_id="A2", name="Tiny", industry="Retail",
                          employees=12, properties={})  # fmt: skip
        s.add_all([acme, small])
        s.flush()
        manager = t.Contact(source="test", external_id="C1", title="Sales Manager", properties={})
        s.add(manager)
        s.flush()
        leads = {
            # the hand-worked example: 87.5, moves to MQL
            "buyer": add_lead(s, "buyer", account=acme, touches=BUYER_TOUCHES),
            # the same, but no email: at the threshold, held back
            "no-email": add_lead(s, "no-email", email=None, account=acme, touches=BUYER_TOUCHES),
            # recycled while its score was high: does not bounce straight back
            "warm": add_lead(
                s, "warm", stage="recycled", score=80, account=acme, touches=BUYER_TOUCHES
            ),
            # recycled, cooled down to 20, warm again: crosses the threshold and comes back
            "rewarmed": add_lead(
                s, "rewarmed", stage="recycled", score=20, account=acme, touches=BUYER_TOUCHES
            ),
            # already an SQL: not open, not rescored
            "sql": add_lead(s, "sql", stage="sql", account=acme, touches=BUYER_TOUCHES),
            # created after the scoring time: left out
            "late": add_lead(s, "late", account=acme, created=AT + dt.timedelta(hours=1)),
            # scored by the catch-all: a manager (on the contact) with two webinars, 10 + 14
            "small": add_lead(s, "small", title=None, account=small, contact=manager,
                              touches=(("webinar", 3), ("webinar", 400))),
        }  # fmt: skip
        uow.commit()
        return {name: lead.id for name, lead in leads.items()}


def test_rescoring_logs_every_score_updates_leads_and_moves_new_mqls(
    engine: Engine, store: dict[str, int]
) -> None:
    progress = Recorder()
    report = rescore_open_leads(
        engine, clock=lambda: AT + dt.timedelta(minutes=5), at=AT, batch_size=2, progress=progress
    )
    assert (report.open_leads, report.scored, report.mqls) == (5, 5, 2)
    assert dict(report.by_model) == {"enterprise": 4, "others": 1}
    # buyer, no-email, warm and rewarmed all score 87.5; two of them move
    assert dict(report.at_threshold) == {"enterprise": 4}
    assert dict(report.mql_by_model) == {"enterprise": 2}
    assert report.as_dict()["by_model"] == {
        "enterprise": {"scored": 4, "at_threshold": 4, "became_mql": 2},
        "others": {"scored": 1, "at_threshold": 0, "became_mql": 0},
    }
    assert (report.held_back, report.refused, report.unmatched) == (1, 0, 0)
    assert progress.tasks == [("scoring open leads", 5)] and progress.done == 5

    with UnitOfWork(engine) as uow:
        s = uow.session
        version = s.scalars(select(t.ContractVersion)).one()
        rows = {r.lead_id: r for r in s.scalars(select(t.LeadScoreRow))}
        assert set(rows) == {store[n] for n in ("buyer", "no-email", "warm", "rewarmed", "small")}
        buyer = rows[store["buyer"]]
        assert (buyer.model_key, buyer.score, buyer.fit, buyer.engagement) == (
            "enterprise",
            87.5,
            50.0,
            37.5,
        )
        assert buyer.model_version == parse_contract(contract_text()).scoring.models[0].digest
        assert buyer.contract_version_id == version.id
        assert buyer.scored_at == AT and buyer.recorded_at == AT + dt.timedelta(minutes=5)
        assert buyer.breakdown == BUYER_LINES  # the JSON round trip keeps every line
        small = rows[store["small"]]
        # 10 for the manager; webinars of 7 that never fade: 14
        assert (small.model_key, small.score, small.fit, small.engagement) == (
            "others",
            24.0,
            10.0,
            14.0,
        )
        for row in rows.values():
            total = sum((Decimal(str(line["points"])) for line in row.breakdown), Decimal(0))
            assert total == Decimal(str(row.score))

        leads = {lead.external_id: lead for lead in s.scalars(select(t.Lead))}
        assert leads["buyer"].score == 87.5 and leads["small"].score == 24.0
        assert leads["sql"].score is None and leads["late"].score is None
        stages = {name: lead.stage for name, lead in leads.items()}
        assert stages == {"buyer": "mql", "no-email": "lead", "warm": "recycled", "rewarmed": "mql",
                          "sql": "sql", "late": "lead", "small": "lead"}  # fmt: skip
        assert leads["buyer"].stage_entered_at == AT
        [change] = LeadRepository(s).history(store["buyer"])
        assert (change.from_stage, change.to_stage, change.at) == ("lead", "mql", AT)
        assert change.actor == "scoring:enterprise"
        assert change.reason == "score 87.5 reached the MQL threshold of 50 (model enterprise)"
        assert change.contract_version_id == version.id
        [back] = LeadRepository(s).history(store["rewarmed"])
        assert (back.from_stage, back.to_stage) == ("recycled", "mql")

    # a month later: the two new MQLs are no longer open, the late lead now exists (and its
    # fit alone, 55 held to 50, makes it an MQL); the log grows, nothing is replaced
    again = rescore_open_leads(engine, clock=lambda: AT, at=AT + dt.timedelta(days=30))
    assert (again.open_leads, again.scored, again.mqls) == (4, 4, 1)
    with UnitOfWork(engine) as uow:
        assert uow.session.scalar(select(sa.func.count()).select_from(t.LeadScoreRow)) == 9


def test_the_latest_score_comes_back_with_its_breakdown(
    engine: Engine, store: dict[str, int]
) -> None:
    rescore_open_leads(engine, clock=lambda: AT, at=AT - dt.timedelta(days=1), model="others")
    rescore_open_leads(engine, clock=lambda: AT, at=AT)
    with UnitOfWork(engine) as uow:
        shown = latest_score(uow.session, "buyer")
        assert shown.lead_id == store["buyer"] and shown.stage == "mql"
        assert (shown.score, shown.fit, shown.engagement, shown.scored_at) == (87.5, 50.0, 37.5, AT)
        assert shown.contract_version == 1 and shown.model == "enterprise"
        assert [line.as_dict() for line in shown.lines] == BUYER_LINES
        assert latest_score(uow.session, str(store["buyer"])).lead_id == store["buyer"]
        small = latest_score(uow.session, "test:small")  # SOURCE:ID
        assert (small.model, small.scored_at) == ("others", AT)  # the later of its two scores
        with pytest.raises(NotFound, match="no score yet"):
            latest_score(uow.session, "sql")
        with pytest.raises(NotFound, match='no lead "nobody"'):
            latest_score(uow.session, "nobody")


def test_the_score_log_is_append_only(engine: Engine, store: dict[str, int]) -> None:
    rescore_open_leads(engine, clock=lambda: AT, at=AT)
    for statement in ("UPDATE lead_scores SET score = 0", "DELETE FROM lead_scores"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_one_lead_is_scored_and_moved_through_the_service(
    engine: Engine, store: dict[str, int]
) -> None:
    with UnitOfWork(engine) as uow:
        scored = score_lead(uow, store["buyer"], clock=lambda: AT)
        uow.commit()
    assert scored.result.score == 87.5 and scored.previous is None
    assert scored.moved is not None and scored.moved.to_stage == "mql"
    assert scored.moved.contract_version == 1
    with UnitOfWork(engine) as uow:
        # a lead past the MQL stage is scored all the same, and stays where it is
        scored = score_lead(uow, store["sql"], clock=lambda: AT)
        assert scored.moved is None and scored.result.score == 87.5
        # a move the lifecycle refuses leaves the score logged and says why
        late = score_lead(uow, store["late"], clock=lambda: AT)
        assert late.moved is None and late.result.score == 50.0
        assert late.refused is not None and "stage changes must go forward in time" in late.refused
        with pytest.raises(NotFound, match="lead 999999 does not exist"):
            score_lead(uow, 999_999, clock=lambda: AT)


def test_events_log_a_lead_again_only_when_its_score_changes(
    engine: Engine, store: dict[str, int]
) -> None:
    def rows() -> list[float]:
        with UnitOfWork(engine) as uow:
            query = select(t.LeadScoreRow.score).where(t.LeadScoreRow.lead_id == store["small"])
            return list(uow.session.scalars(query.order_by(t.LeadScoreRow.id)))

    def events_arrive(at: dt.datetime) -> float:
        with UnitOfWork(engine) as uow:
            [scored] = score_leads(uow, [store["small"]], clock=lambda: at)
            uow.commit()
            return scored.result.score

    assert events_arrive(AT) == 24.0 and rows() == [24.0]
    assert events_arrive(AT + dt.timedelta(seconds=1)) == 24.0 and rows() == [24.0]
    with UnitOfWork(engine) as uow:  # a new webinar: the score changes and is logged
        uow.session.add(
            t.Touchpoint(
                source="test", external_id="small-new", lead_id=store["small"], channel="email",
                touch_type="webinar", occurred_at=AT, properties={},
            )
        )  # fmt: skip
        uow.commit()
    assert events_arrive(AT + dt.timedelta(seconds=2)) == 31.0 and rows() == [24.0, 31.0]
    with UnitOfWork(engine) as uow:
        assert uow.session.get(t.Lead, store["small"]).score == 31.0  # type: ignore[union-attr]
    # an explicit run logs every lead it scores, changed or not
    rescore_open_leads(engine, clock=lambda: AT, at=AT + dt.timedelta(seconds=3), model="others")
    assert rows() == [24.0, 31.0, 31.0]


def test_only_the_leads_of_one_model(engine: Engine, store: dict[str, int]) -> None:
    report = rescore_open_leads(engine, clock=lambda: AT, at=AT, model="others")
    assert (report.scored, dict(report.by_model), report.unmatched) == (1, {"others": 1}, 4)
    with pytest.raises(
        InvalidInput, match=r'--model "other" is not a scoring model.*did you mean "others"'
    ):
        rescore_open_leads(engine, clock=lambda: AT, at=AT, model="other")


def test_a_contract_without_models_or_not_yet_in_force_is_refused(
    engine: Engine, store: dict[str, int]
) -> None:
    with pytest.raises(
        NotFound, match=r"the first takes effect at 2026-04-16.*--effective 2026-04-15"
    ):
        rescore_open_leads(engine, clock=lambda: AT, at=BEFORE - dt.timedelta(days=1))
    bare = contract_text()[: contract_text().index("\n[[scoring.models]]")]
    with pytest.raises(
        NotFound, match=r"contract version 2 has no scoring models; add \[\[scoring.models\]\]"
    ):
        rescore_open_leads(engine, clock=lambda: AT, contract_text=bare)


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_batch_costs_the_same_queries_for_3_leads_as_for_60(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        apply_contract(uow.session, contract_text(), clock=lambda: BEFORE, effective_at=BEFORE)
        for i in range(3):
            add_lead(uow.session, f"few-{i}", title=None, touches=(("webinar", 1), ("webinar", 2)))
        uow.commit()
    rescore_open_leads(engine, clock=lambda: AT, at=AT)  # the contract is parsed once a process
    with counting(engine) as few:
        assert rescore_open_leads(engine, clock=lambda: AT, at=AT).scored == 3
    with UnitOfWork(engine) as uow:
        for i in range(57):
            add_lead(uow.session, f"many-{i}", title=None, touches=(("webinar", 1), ("webinar", 2)))
        uow.commit()
    with counting(engine) as many:
        assert rescore_open_leads(engine, clock=lambda: AT, at=AT).scored == 60
    # (on PostgreSQL the 60 scores go in by COPY, which statement events do not see)
    assert len(many) <= len(few) <= 12
