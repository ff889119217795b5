"""The rule scorer on hand-worked examples: points, caps, decay by half-lives, limits, choice of
model and the MQL rule. No database: the scorer is pure."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from baton.contract import default_contract_text, parse_contract
from baton.contract.scoring import ScoreModel, Scoring
from baton.domain.scoring import (
    Line,
    Part,
    Profile,
    RuleScorer,
    RuleScoring,
    Touch,
    missing_fields,
    qualifies_as_mql,
)

AT = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


def days_ago(days: float) -> dt.datetime:
    return AT - dt.timedelta(days=days)


MODEL = ScoreModel.model_validate({
    "key": "enterprise",
    "applies_to": [{"field": "account.employees", "at_least": 2000}],
    "fit": {"max": 50, "rules": [
        {"field": "title", "matches": r"\b(vp|chief)\b", "points": 25, "label": "Executive buyer"},
        {"field": "account.industry", "equals": ["Software", "Financial services"], "points": 15,
         "label": "Core industry"},
        {"field": "country", "equals": ["United States", "Canada"], "points": 5,
         "label": "Core market"},
        {"field": "account.employees", "below": 20, "points": -10, "label": "Tiny"},
        {"field": "account.segment", "equals": "ent", "points": 10},
    ]},
    "engagement": {"max": 50, "half_life_days": 30, "touches": {
        "demo_request": {"points": 40, "cap": 40},
        "webinar": {"points": 15, "cap": 30},
        "email_click": {"points": 5, "cap": 10, "half_life_days": 10},
    }},
})  # fmt: skip

BUYER = Profile(
    lead={"title": "VP Marketing", "country": "Canada", "email": "ann@acme.example"},
    account={"industry": "Software", "employees": 2500, "properties": {"segment": "ent"}},
)


def sums_exactly(lines: tuple[Line, ...], score: float) -> bool:
    """The lines add up to the score in decimal arithmetic, with no float rounding at all."""
    return sum((Decimal(str(line.points)) for line in lines), Decimal(0)) == Decimal(str(score))


def test_the_hand_worked_example_points_caps_and_decay() -> None:
    touches = [
        Touch("demo_request", days_ago(30)),  # one half-life: 40 -> 20
        Touch("webinar", days_ago(60)),  # two half-lives: 15 -> 3.75
        Touch("webinar", days_ago(60)),  # ... twice: 7.5
        Touch("email_click", AT),  # today: 5 each, 15 in all, capped at 10
        Touch("Email_Click", AT),  # touch types are compared without case
        Touch("email_click", AT),
        Touch("visit", AT),  # not in the model: nothing
        Touch("demo_request", AT + dt.timedelta(days=1)),  # after the scoring time: nothing
    ]
    result = RuleScorer(MODEL).score(BUYER, touches, AT)

    assert [(line.part, line.rule, line.points) for line in result.lines] == [
        (Part.FIT, "Executive buyer", 25.0),
        (Part.FIT, "Core industry", 15.0),
        (Part.FIT, "Core market", 5.0),
        (Part.FIT, "account.segment is ent", 10.0),
        (Part.FIT, "fit limited to 50", -5.0),  # the rules gave 55
        (Part.ENGAGEMENT, "demo_request touches", 20.0),
        (Part.ENGAGEMENT, "webinar touches", 7.5),
        (Part.ENGAGEMENT, "email_click touches", 15.0),
        (Part.ENGAGEMENT, "email_click limited to 10", -5.0),
    ]
    assert (result.fit, result.engagement, result.score) == (50.0, 37.5, 87.5)
    assert sums_exactly(result.lines, result.score)
    assert result.model == "enterprise" and result.model_version == MODEL.digest
    by_rule = {line.rule: line for line in result.lines}
    assert by_rule["Executive buyer"].detail == "title: VP Marketing"
    assert by_rule["webinar touches"].detail == (
        "2 touches of 15, fading by half every 30 days (full value 30)"
    )


@pytest.mark.parametrize(
    ("half_lives", "expected"), [(0, 40.0), (1, 20.0), (2, 10.0), (3, 5.0), (4, 2.5), (10, 0.0)]
)
def test_a_touch_n_half_lives_old_counts_half_to_the_n(half_lives: int, expected: float) -> None:
    result = RuleScorer(MODEL).score(BUYER, [Touch("demo_request", days_ago(30 * half_lives))], AT)
    assert result.engagement == expected  # 40 / 2**10 is 0.04: rounds to 0.0 and shows no line
    assert sums_exactly(result.lines, result.score)


def test_a_touch_type_may_fade_at_its_own_pace_and_rounding_is_half_away_from_zero() -> None:
    # email_click halves every 10 days: 20 days old counts 5 / 4 = 1.25, shown as 1.3
    result = RuleScorer(MODEL).score(BUYER, [Touch("email_click", days_ago(20))], AT)
    assert result.engagement == 1.3
    assert sums_exactly(result.lines, result.score)


def test_without_a_half_life_touches_never_fade() -> None:
    model = ScoreModel.model_validate(
        {"key": "flat", "engagement": {"touches": {"webinar": {"points": 10}}}}
    )
    result = RuleScorer(model).score(BUYER, [Touch("webinar", days_ago(3650))], AT)
    assert result.engagement == 10.0


def test_a_negative_fit_is_raised_to_zero_with_a_line_saying_so() -> None:
    tiny = Profile(lead={"title": "Intern"}, account={"employees": 8, "industry": "Retail"})
    result = RuleScorer(MODEL).score(tiny, [Touch("webinar", AT)], AT)
    assert [(line.rule, line.points) for line in result.lines] == [
        ("Tiny", -10.0),
        ("fit no lower than 0", 10.0),
        ("webinar touches", 15.0),
    ]
    assert (result.fit, result.score) == (0.0, 15.0)


def test_the_score_is_at_most_100_and_the_ceiling_is_a_line() -> None:
    model = ScoreModel.model_validate({
        "key": "generous",
        "fit": {"max": 60, "rules": [{"field": "title", "present": True, "points": 60}]},
        "engagement": {"max": 60, "touches": {"demo_request": {"points": 60}}},
    })  # fmt: skip
    result = RuleScorer(model).score(BUYER, [Touch("demo_request", AT)], AT)
    assert result.lines[-1] == Line(
        Part.TOTAL, "score limited to 100", -20.0, "fit 60 + engagement 60"
    )
    assert (result.fit, result.engagement, result.score) == (60.0, 60.0, 100.0)
    assert sums_exactly(result.lines, result.score)


def test_negative_touch_points_are_held_within_minus_the_cap() -> None:
    model = ScoreModel.model_validate({
        "key": "m",
        "fit": {"rules": [{"field": "title", "present": True, "points": 30}]},
        "engagement": {"touches": {
            "webinar": {"points": 20},
            "unsubscribe": {"points": -15, "cap": 10},
        }},
    })  # fmt: skip
    touches = [Touch("webinar", AT), Touch("unsubscribe", AT), Touch("unsubscribe", AT)]
    result = RuleScorer(model).score(BUYER, touches, AT)
    assert [(line.rule, line.points) for line in result.lines] == [
        ("title is filled in", 30.0),
        ("webinar touches", 20.0),
        ("unsubscribe touches", -30.0),
        ("unsubscribe limited to 10", 20.0),
    ]
    assert result.engagement == 10.0 and result.score == 40.0


def test_the_breakdown_sums_to_the_score_on_many_random_leads() -> None:
    rng = random.Random(5)
    scorer = RuleScorer(MODEL)
    titles = ["VP Sales", "Chief Revenue Officer", "Analyst", "", None]
    industries = ["Software", "Retail", "financial services ", None]
    for _ in range(500):
        profile = Profile(
            lead={"title": rng.choice(titles), "country": rng.choice(["Canada", "France"])},
            account={"industry": rng.choice(industries), "employees": rng.choice([5, 300, 5000]),
                     "properties": {"segment": rng.choice(["ent", "smb"])}},
        )  # fmt: skip
        touches = [
            Touch(
                rng.choice(["demo_request", "webinar", "email_click", "visit"]),
                days_ago(rng.uniform(-5, 200)),
            )
            for _ in range(rng.randrange(12))
        ]
        result = scorer.score(profile, touches, AT)
        assert sums_exactly(result.lines, result.score)
        assert 0 <= result.score <= 100
        assert result.score == round(result.fit + result.engagement, 1) or result.score == 100


@pytest.mark.parametrize(
    ("condition", "values", "holds"),
    [
        ({"equals": "software"}, ["Software", " SOFTWARE ", "Soft"], [True, True, False]),
        ({"equals": [200, "x"]}, [200, "200", 200.0, "200.5", "X", None],
         [True, True, True, False, True, False]),
        ({"equals": True}, [True, "true", False, 1], [True, True, False, False]),
        ({"contains": ["vp", "chief"]}, ["SVP Sales", "Chief of Staff", "Manager", 7],
         [True, True, False, False]),
        ({"matches": r"^(head|director)\b"}, ["Head of Growth", "Director", "Art Director", None],
         [True, True, False, False]),
        ({"at_least": 200, "below": 2000}, [199, 200, 1999.9, 2000, "1,500", "many", None],
         [False, True, True, False, True, False, False]),
        ({"below": 20}, [19, 20, None], [True, False, False]),
        ({"present": True}, ["x", "  ", None, [], 0], [True, False, False, False, True]),
        ({"present": False}, ["x", "  ", None], [False, True, True]),
    ],
)  # fmt: skip
def test_conditions(condition: dict[str, object], values: list[object], holds: list[bool]) -> None:
    model = ScoreModel.model_validate(
        {"key": "m", "fit": {"rules": [{"field": "lead.properties.v", "points": 1, **condition}]}}
    )
    scorer = RuleScorer(model)
    got = [scorer.score(Profile(lead={"properties": {"v": v}}), [], AT).fit == 1 for v in values]
    assert got == holds


def test_fields_read_lead_contact_account_columns_and_properties() -> None:
    profile = Profile(
        lead={"title": "VP", "properties": {"title": "ignored", "plan": "pro"}},
        contact={"phone": "+1 555", "properties": {}},
        account={"industry": "Media", "properties": {"segment": "mid"}},
    )
    assert profile.value("title") == "VP"  # a column wins over a property of the same name
    assert profile.value("lead.title") == "VP"
    assert profile.value("lead.properties.title") == "ignored"
    assert profile.value("plan") == "pro"  # not a column: a property
    assert profile.value("properties.plan") == "pro"
    assert profile.value("contact.phone") == "+1 555"
    assert profile.value("account.industry") == "Media"
    assert profile.value("account.segment") == "mid"
    assert Profile(lead={}).value("account.industry") is None  # no account at all


def test_each_lead_takes_the_first_model_that_applies() -> None:
    scoring = Scoring.model_validate({"models": [
        {"key": "ent", "applies_to": [{"field": "account.employees", "at_least": 2000}]},
        {"key": "software", "applies_to": [{"field": "account.industry", "equals": "Software"},
                                           {"field": "country", "equals": "Canada"}]},
        {"key": "rest"},
    ]})  # fmt: skip
    models = RuleScoring(scoring)
    choose = lambda p: getattr(models.choose(p), "key", None)  # noqa: E731
    assert choose(BUYER) == "ent"  # also Software in Canada: the first model wins
    assert (
        choose(Profile(lead={"country": "Canada"}, account={"industry": "software"})) == "software"
    )
    assert choose(Profile(lead={"country": "France"}, account={"industry": "Software"})) == "rest"
    only = RuleScoring(scoring, only="software")
    assert only.choose(BUYER) is None  # "ent" takes it; it is not handed to "software"
    assert (
        getattr(
            only.choose(Profile(lead={"country": "Canada"}, account={"industry": "Software"})),
            "key",
            None,
        )
        == "software"
    )
    with pytest.raises(KeyError, match="models: ent, software, rest"):
        RuleScoring(scoring, only="nope")
    assert (
        RuleScoring(Scoring.model_validate({"models": scoring.model_dump()["models"][:1]})).choose(
            Profile(lead={})
        )
        is None
    )


def test_the_mql_rule() -> None:
    contract = parse_contract(default_contract_text())  # MQL at 50 with an email
    ok = Profile(lead={"email": "a@b.example"})
    no_email = Profile(lead={"email": "  "})

    def qualifies(
        stage: str | None, previous: float | None, score: float, profile: Profile = ok
    ) -> bool:
        return qualifies_as_mql(
            contract, stage=stage, previous=previous, score=score, profile=profile
        )

    assert qualifies("lead", None, 50)  # at the threshold counts
    assert qualifies("subscriber", 70, 80)  # an open lead above it moves, crossing or not
    assert qualifies(None, None, 60)  # no stage yet
    assert not qualifies("lead", None, 49.9)
    assert not qualifies("lead", None, 90, no_email)
    assert missing_fields(no_email, contract.qualification.mql.required_fields) == ["email"]
    assert qualifies("recycled", 30, 55)  # a recycled lead crossing the threshold comes back
    assert qualifies("recycled", None, 55)
    assert not qualifies("recycled", 60, 70)  # still warm from before sales sent it back
    for later in ("mql", "sql", "opportunity", "customer", "disqualified"):
        assert not qualifies(later, None, 99)


def test_the_default_contract_models_score_a_demo_like_lead() -> None:
    contract = parse_contract(default_contract_text())
    models = RuleScoring(contract.scoring)
    assert [s.key for s in models.scorers] == ["enterprise", "mid-market", "small-business"]
    mid = Profile(
        lead={"title": "Head of Growth", "country": "Germany", "company": "Acme"},
        account={"industry": "Financial services", "employees": 450},
    )
    scorer = models.choose(mid)
    assert scorer is not None and scorer.key == "mid-market"
    result = scorer.score(
        mid, [Touch("demo_request", AT), Touch("content_download", days_ago(45))], AT
    )
    # fit: head 15 + core industry 15 + core market 5; engagement: demo 40 + download 12 / 2
    assert (result.fit, result.engagement, result.score) == (35.0, 46.0, 81.0)
    assert sums_exactly(result.lines, result.score)
