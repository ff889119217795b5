"""Routing rules on plain data: every expected assignee below is worked out by hand."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from baton.contract.routing import Routing
from baton.domain.routing import Candidate, LeadView, Roster, route, smooth_pick


def rep(uid: int, email: str, team: str = "Sales", **state: Any) -> Candidate:
    return Candidate(uid, email, email.split("@")[0].title(), team=team, **state)


def routing(**data: Any) -> Routing:
    return Routing.model_validate(data)


def roster(*reps: Candidate) -> Roster:
    teams: dict[str, list[int]] = {}
    for r in reps:
        if r.team:
            teams.setdefault(r.team, []).append(r.user_id)
    return Roster.of(reps, teams)


def lead(country: str | None = None, employees: int | None = None, **props: Any) -> LeadView:
    return LeadView(
        {"country": country, "email": "x@y.com", "properties": props},
        {},
        {"employees": employees, "country": None, "properties": {}},
    )


def test_smooth_weighted_round_robin_interleaves_like_nginx() -> None:
    # weights a=5, b=1, c=1; by hand: currents (5,1,1)->a, (3,2,2)->a, (1,3,3)->b,
    # (6,-3,4)->a, (4,-2,5)->c, (9,-1,-1)->a, (7,0,0)->a, and every current is back at 0.
    a, b, c = rep(1, "a@x.com"), rep(2, "b@x.com"), rep(3, "c@x.com")
    cursor: dict[int, float] = {}
    picks = []
    for _ in range(7):
        chosen, cursor, _ = smooth_pick([(a, 5), (b, 1), (c, 1)], cursor)
        picks.append(chosen.email[0])
    assert "".join(picks) == "aabacaa"
    assert cursor == {1: 0, 2: 0, 3: 0}


def test_weights_share_leads_exactly_over_a_full_cycle() -> None:
    reps = [rep(1, "a@x.com", weight=3), rep(2, "b@x.com", weight=2), rep(3, "c@x.com")]
    rules = routing(default={"team": "Sales"})
    cursors: dict[str, dict[int, float]] = {}
    got: Counter[str] = Counter()
    for _ in range(600):  # 100 cycles of 6
        decision = route(lead(), rules, roster(*reps), cursors)
        assert decision.assignee is not None and decision.pool == "default"
        cursors["default"] = dict(decision.cursor or {})
        got[decision.assignee.email or ""] += 1
    assert got == {"a@x.com": 300, "b@x.com": 200, "c@x.com": 100}


def test_rules_in_order_with_territory_and_size_band() -> None:
    rules = routing(
        territories={"emea": ["Germany", "France"], "na": ["United States"]},
        rules=[
            {
                "key": "ent",
                "when": [{"field": "size_band", "equals": "enterprise"}],
                "reps": ["e@x.com"],
            },
            {
                "key": "emea",
                "when": [{"field": "territory", "equals": "emea"}],
                "reps": ["m@x.com"],
            },
            {
                "key": "prod",
                "when": [{"field": "product", "equals": "Analytics"}],
                "reps": ["p@x.com"],
            },
        ],
        default={"reps": ["d@x.com"]},
    )
    people = roster(rep(1, "e@x.com"), rep(2, "m@x.com"), rep(3, "p@x.com"), rep(4, "d@x.com"))
    # 5,000 employees in Germany: the enterprise rule comes first
    assert route(lead("Germany", 5000), rules, people, {}).rule == "ent"
    # 50 employees in France: smb, so the territory rule
    emea = route(lead("france", 50), rules, people, {})
    assert (emea.rule, emea.assignee.email if emea.assignee else None) == ("emea", "m@x.com")
    assert emea.checks[0].outcome == "did not match: size_band is enterprise (it is 'smb')"
    # a property read by name
    assert route(lead("United States", 10, product="analytics"), rules, people, {}).rule == "prod"
    # nothing matches: the default, and the reason says so
    fallback = route(lead("Japan", None), rules, people, {})
    assert fallback.rule == "default" and fallback.reason.startswith(
        "default (no rule took the lead)"
    )


def test_capacity_out_of_office_and_daily_cap_skip_reps_with_reasons() -> None:
    rules = routing(max_open_per_rep=10, default={"team": "Sales"})
    reps = [
        rep(1, "full@x.com", open_load=10),  # the contract's cap of 10
        rep(2, "away@x.com", out_of_office=True, back_on="2027-01-04"),
        rep(3, "daily@x.com", today_load=3, max_per_day=3),
        rep(4, "own-cap@x.com", open_load=12, max_open=20),  # their own cap overrides
        rep(5, "off@x.com", active=False),
    ]
    decision = route(lead(), rules, roster(*reps), {})
    assert decision.assignee is not None and decision.assignee.email == "own-cap@x.com"
    why = {s.rep: s.why for s in decision.skipped}
    assert why == {
        "full@x.com": "at capacity (10 open leads of 10)",
        "away@x.com": "out of office until 2027-01-04",
        "daily@x.com": "reached today's cap (3 new leads of 3)",
        "off@x.com": "inactive",
    }


def test_the_account_owner_comes_first_unless_out_of_office() -> None:
    rules = routing(rules=[{"key": "all", "reps": ["a@x.com", "b@x.com"]}])
    owner = rep(9, "owner@x.com", team=None, open_load=99)
    people = roster(rep(1, "a@x.com"), rep(2, "b@x.com"), owner)
    decision = route(lead(), rules, people, {}, owner_id=9)
    assert decision.rule == "owner" and decision.assignee == owner  # capacity does not apply
    away = roster(rep(1, "a@x.com"), rep(2, "b@x.com"), rep(9, "owner@x.com", out_of_office=True))
    decision = route(lead(), rules, away, {}, owner_id=9)
    assert decision.rule == "all" and decision.assignee is not None
    assert decision.assignee.email == "a@x.com"
    assert decision.skipped[0].why == "out of office"
    off = routing(owner_first=False, rules=[{"key": "all", "reps": ["a@x.com"]}])
    assert route(lead(), off, people, {}, owner_id=9).rule == "all"


def test_a_rule_with_nobody_available_falls_through_to_the_next() -> None:
    rules = routing(
        rules=[
            {"key": "first", "reps": ["busy@x.com"]},
            {"key": "second", "reps": ["free@x.com"]},
        ]
    )
    people = roster(rep(1, "busy@x.com", out_of_office=True), rep(2, "free@x.com"))
    decision = route(lead(), rules, people, {})
    assert decision.rule == "second"
    assert decision.checks[0].outcome == "matched, but nobody could take it: all 1 reps unavailable"


def test_reps_within_working_hours_are_preferred_and_excluded_reps_skipped() -> None:
    rules = routing(default={"team": "Sales"})
    people = roster(rep(1, "night@x.com", working_now=False), rep(2, "day@x.com"))
    decision = route(lead(), rules, people, {})
    assert decision.assignee is not None and decision.assignee.email == "day@x.com"
    assert [s.why for s in decision.skipped] == ["outside working hours"]
    # when nobody is working, someone still gets the lead (it waits for the morning)
    asleep = roster(rep(1, "night@x.com", working_now=False))
    assert route(lead(), rules, asleep, {}).assignee is not None
    # a rep who let the SLA breach is not given the lead again
    decision = route(lead(), rules, people, {}, exclude=frozenset({2}))
    assert decision.assignee is not None and decision.assignee.email == "night@x.com"


def test_nobody_available_is_a_decision_with_a_reason() -> None:
    rules = routing(rules=[{"key": "r", "team": "Ghosts"}])
    decision = route(lead(), rules, roster(rep(1, "a@x.com")), {})
    assert decision.assignee is None
    assert 'no team named "Ghosts" in the store' in decision.reason


@pytest.mark.parametrize(
    ("match", "value", "expected"),
    [
        ({"equals": ["Software", "Media"]}, " software ", True),
        ({"equals": 200}, "200", True),
        ({"contains": "vp"}, "VP Sales", True),
        ({"matches": r"\bcto\b"}, "Acting CTO", True),
        ({"at_least": 200, "below": 2000}, 1999, True),
        ({"at_least": 200, "below": 2000}, 2000, False),
        ({"present": False}, None, True),
        ({"present": True}, "  ", False),
        ({"equals": "x"}, None, False),
    ],
)
def test_condition_tests(match: dict[str, Any], value: Any, expected: bool) -> None:
    rules = routing(
        rules=[{"key": "r", "when": [{"field": "title", **match}], "reps": ["a@x.com"]}]
    )
    view = LeadView({"title": value, "properties": {}})
    decision = route(view, rules, roster(rep(1, "a@x.com")), {})
    assert (decision.assignee is not None) is expected
