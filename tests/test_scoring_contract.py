"""The contract's [scoring] section: the default is valid, and every mistake names its key path."""

from __future__ import annotations

import pytest

from baton.contract import default_contract_text, parse_contract
from baton.errors import ContractInvalid


def with_scoring(section: str) -> str:
    """The default contract with its [scoring] models replaced by ``section``."""
    text = default_contract_text()
    return text[: text.index("\n[[scoring.models]]")] + "\n" + section


def problems_of(text: str) -> list[str]:
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(text)
    return [str(p) for p in caught.value.problems]


def test_the_default_contract_has_a_model_per_segment_the_last_taking_everyone_else() -> None:
    models = parse_contract(default_contract_text()).scoring.models
    assert [m.key for m in models] == ["enterprise", "mid-market", "small-business"]
    assert all(m.applies_to for m in models[:-1]) and not models[-1].applies_to
    for model in models:
        assert model.fit.rules and model.engagement.touches
        assert model.engagement.half_life_days
        assert model.fit.max + model.engagement.max == 100


def test_a_contract_without_scoring_is_still_valid() -> None:
    text = default_contract_text()
    assert parse_contract(text[: text.index("\n[[scoring.models]]")]).scoring.models == []


def test_a_bad_scoring_section_names_every_problem_by_key_path() -> None:
    text = with_scoring(
        """
[[scoring.models]]
key = "Big Accounts"
applies_to = [{ field = "acount.employees", at_least = 2000 }]

[scoring.models.fit]
max = 150
rules = [
  { field = "title", matches = '(VP', points = 10 },
  { field = "title", equals = "VP", contains = "Chief", points = 10 },
  { field = "title", contains = "VP" },
  { field = "title", equal = "VP", points = 5 },
  { field = "account.employees", at_least = 2000, below = 200, points = 5 },
  { field = "title", equals = { a = 1 }, points = 5 },
  { field = "title", present = true, points = 0 },
  { field = "title", points = 5 },
]

[scoring.models.engagement]
half_life_days = -3

[scoring.models.engagement.touches]
webinar = { points = 10, capp = 20 }
demo_request = { points = "a lot" }
"""
    )
    assert problems_of(text) == [
        'scoring.models[0].key: "Big Accounts" is not a valid key; use lower-case letters, '
        'digits, "-" and "_", starting with a letter',
        'scoring.models[0].applies_to[0].field: "acount" is not a record; did you mean '
        '"account"? (fields are "title", "lead.title", "contact.phone", "account.industry", '
        '"lead.properties.<name>" ...)',
        "scoring.models[0].fit.max: Input should be less than or equal to 100",
        'scoring.models[0].fit.rules[0].matches: "(VP" is not a regular expression (missing ), '
        "unterminated subpattern at position 0); in TOML, write it in single quotes so "
        "backslashes stay as they are, e.g. '\\bVP\\b'",
        'scoring.models[0].fit.rules[1]: give exactly one test for "title": equals, contains, '
        "matches, at_least/below, present (found equals and contains)",
        "scoring.models[0].fit.rules[2].points: is required; add it "
        "(`baton init` writes an example)",
        'scoring.models[0].fit.rules[3].equal: "equal" is not a known key; did you mean "equals"?',
        "scoring.models[0].fit.rules[4]: at_least (2000) must be less than below (200); the band "
        "is at_least <= value < below",
        "scoring.models[0].fit.rules[5].equals: must be text, a number, true or false, or a "
        "non-empty list of them (got {'a': 1})",
        "scoring.models[0].fit.rules[6].points: a rule worth 0 points does nothing; give it "
        "points or remove it",
        'scoring.models[0].fit.rules[7]: give exactly one test for "title": equals, contains, '
        "matches, at_least/below, present (found none)",
        "scoring.models[0].engagement.half_life_days: Input should be greater than 0",
        'scoring.models[0].engagement.touches.webinar.capp: "capp" is not a known key; '
        'did you mean "cap"?',
        "scoring.models[0].engagement.touches.demo_request.points: Input should be a valid "
        "number, unable to parse string as a number (got 'a lot')",
    ]


def test_models_are_checked_against_each_other() -> None:
    text = with_scoring(
        """
[[scoring.models]]
key = "everyone"

[[scoring.models]]
key = "enterprise"
applies_to = [{ field = "account.employees", at_least = 2000 }]

[[scoring.models]]
key = "everyone"
applies_to = [{ field = "country", equals = "Canada" }]
"""
    )
    assert problems_of(text) == [
        'scoring.models[2].key: "everyone" is used more than once in scoring.models; each key '
        "must be unique",
        'scoring.models[1]: "enterprise" never scores a lead: "everyone" before it has no '
        "applies_to and takes every lead; move the model without applies_to last",
        'scoring.models[2]: "everyone" never scores a lead: "everyone" before it has no '
        "applies_to and takes every lead; move the model without applies_to last",
    ]


def test_touch_types_differing_only_in_case_are_refused() -> None:
    text = with_scoring(
        """
[[scoring.models]]
key = "m"
[scoring.models.engagement.touches]
webinar = { points = 10 }
Webinar = { points = 5 }
"""
    )
    assert problems_of(text) == [
        'scoring.models[0].engagement: touch types "webinar" and "Webinar" differ only in case; '
        "touch types are compared without case, so keep one"
    ]


def test_a_model_version_changes_with_its_rules_and_only_with_them() -> None:
    base = parse_contract(default_contract_text())
    renamed = parse_contract(
        default_contract_text().replace('name = "Our company"', 'name = "Acme"')
    )
    tuned = parse_contract(
        default_contract_text().replace(
            "demo_request = { points = 40, cap = 40 }",
            "demo_request = { points = 45, cap = 45 }",
            1,
        )
    )
    versions = [[m.digest for m in c.scoring.models] for c in (base, renamed, tuned)]
    assert versions[0] == versions[1]
    assert versions[2][0] != versions[0][0] and versions[2][1:] == versions[0][1:]
