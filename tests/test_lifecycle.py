"""Lifecycle rules, decided by stage kind and position, with the clock passed in."""

from __future__ import annotations

import datetime as dt

import pytest

from baton.contract import default_contract_text, parse_contract
from baton.domain import Lead, Lifecycle, Opportunity, Subject
from baton.errors import InvalidTransition

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def lifecycle() -> Lifecycle:
    return Lifecycle(parse_contract(default_contract_text()), version=3)


def lead_in(stage: str | None) -> Lead:
    return Lead(id=7, stage=stage, stage_entered_at=T0 if stage else None)


def test_a_forward_move_returns_the_moved_lead_and_its_log_entry(lifecycle: Lifecycle) -> None:
    at = T0 + dt.timedelta(hours=5)
    moved, change = lifecycle.move(lead_in("lead"), "mql", at=at, actor="rules")
    assert moved.stage == "mql" and moved.stage_entered_at == at
    assert change.subject is Subject.LEAD and change.subject_id == 7
    assert (change.from_stage, change.to_stage, change.at) == ("lead", "mql", at)
    assert change.actor == "rules" and change.contract_version == 3


def test_skipping_is_allowed_by_default_and_refused_when_the_contract_says_so() -> None:
    text = default_contract_text().replace("allow_skip = true", "allow_skip = false")
    strict = Lifecycle(parse_contract(text))
    with pytest.raises(InvalidTransition, match="skips mql, sql"):
        strict.check("lead", "opportunity")
    Lifecycle(parse_contract(default_contract_text())).check("lead", "opportunity")


def test_backward_moves_need_listing(lifecycle: Lifecycle) -> None:
    with pytest.raises(InvalidTransition, match="goes backward"):
        lifecycle.check("sql", "mql")
    lifecycle.check("sql", "recycled", reason="no-budget")


def test_recycling_needs_a_reason(lifecycle: Lifecycle) -> None:
    with pytest.raises(InvalidTransition, match="needs a reason"):
        lifecycle.check("mql", "recycled")
    with pytest.raises(InvalidTransition, match="needs a reason"):
        lifecycle.check("lead", "disqualified", reason="  ")


def test_won_and_disqualified_are_terminal(lifecycle: Lifecycle) -> None:
    with pytest.raises(InvalidTransition, match="won stage"):
        lifecycle.check("customer", "disqualified", reason="fraud")
    with pytest.raises(InvalidTransition, match="disqualified stage"):
        lifecycle.check("disqualified", "mql")


def test_unknown_stages_and_standing_still_are_refused(lifecycle: Lifecycle) -> None:
    with pytest.raises(InvalidTransition, match='"sal" is not a stage'):
        lifecycle.check("mql", "sal")
    with pytest.raises(InvalidTransition, match='already in "mql"'):
        lifecycle.check("mql", "mql")


def test_the_error_names_both_ends(lifecycle: Lifecycle) -> None:
    with pytest.raises(InvalidTransition) as caught:
        lifecycle.check("sql", "lead")
    assert (caught.value.from_stage, caught.value.to_stage) == ("sql", "lead")


def test_time_must_go_forward_and_carry_a_zone(lifecycle: Lifecycle) -> None:
    with pytest.raises(InvalidTransition, match="before the lead entered"):
        lifecycle.move(lead_in("lead"), "mql", at=T0 - dt.timedelta(minutes=1), actor="x")
    with pytest.raises(ValueError, match="time zone"):
        lifecycle.move(lead_in(None), "mql", at=dt.datetime(2026, 1, 1), actor="x")


def test_the_contract_can_allow_backward_moves_everywhere() -> None:
    text = default_contract_text().replace("forward_only = true", "forward_only = false")
    Lifecycle(parse_contract(text)).check("sql", "mql")


def test_pipeline_rules(lifecycle: Lifecycle) -> None:
    deal = Opportunity(id=1, stage="prospecting", amount=None, currency="USD")
    moved, change = lifecycle.move_opportunity(deal, "proposal", at=T0, actor="rep")
    assert moved.stage == "proposal" and change.subject is Subject.OPPORTUNITY
    lifecycle.check_pipeline("proposal", "engaging")  # open stages move freely
    with pytest.raises(InvalidTransition, match="needs a reason"):
        lifecycle.check_pipeline("proposal", "lost")
    with pytest.raises(InvalidTransition, match="the deal is closed"):
        lifecycle.check_pipeline("won", "negotiation")
    with pytest.raises(InvalidTransition, match="not a pipeline stage"):
        lifecycle.check_pipeline("proposal", "mql")
