"""The [routing] section is checked like the rest of the contract: problems name key paths."""

from __future__ import annotations

import pytest
from tests.fixtures.handoff import ROUTING, contract_text

from baton.contract import parse_contract
from baton.errors import ContractInvalid


def problems(routing: str) -> list[str]:
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(contract_text(routing))
    return [str(p) for p in caught.value.problems]


def test_the_default_and_the_test_routing_are_valid() -> None:
    routing = parse_contract(contract_text()).routing
    assert [r.key for r in routing.rules] == ["enterprise"]
    assert routing.default is not None and routing.default.team == "SMB Inbound"


def test_unknown_keys_and_bad_values_name_their_key_path() -> None:
    found = problems(ROUTING.replace("owner_first = true", "owner_frist = true"))
    assert found == [
        'routing.owner_frist: "owner_frist" is not a known key; did you mean "owner_first"?'
    ]
    found = problems(ROUTING.replace('team = "Enterprise"', 'team = "Enterprise"\nweight = 2'))
    assert found == [
        'routing.rules[0].weight: "weight" is not a known key; '
        'use one of: "team", "reps", "key", "label", "when"'
    ]
    found = problems(ROUTING.replace("reminders = [0.5, 0.8]", "reminders = [0.8, 1.5]"))
    assert found[0].startswith("routing.escalation.reminders: 1.5 is not a share of the SLA time")
    found = problems(
        ROUTING.replace(
            'on_breach = ["notify_manager", "reassign"]', 'on_breach = ["notify_managr"]'
        )
    )
    assert found == [
        'routing.escalation.on_breach[0]: "notify_managr" is not allowed here; '
        'did you mean "notify_manager"?'
    ]


def test_a_rule_must_assign_to_someone_and_test_one_thing() -> None:
    found = problems(ROUTING.replace('team = "Enterprise"\n', "", 1))
    assert found == [
        'routing.rules[0]: assigns to nobody; give a team = "..." or reps = ["a@b.com", ...]'
    ]
    found = problems(
        ROUTING.replace('equals = "enterprise" }', 'equals = "enterprise", present = true }')
    )
    assert found[0].startswith('routing.rules[0].when[0]: give exactly one test for "size_band"')
    found = problems(
        ROUTING.replace('team = "Enterprise"', 'reps = ["ana@co.com", { email = "not-an-email" }]')
    )
    assert found[0].startswith("routing.rules[0].reps[1].email:")


def test_references_across_the_section_are_checked() -> None:
    found = problems(ROUTING.replace('equals = "enterprise"', 'equals = "enterprize"'))
    assert found == [
        'routing.rules[0].when[0].equals: "enterprize" is not one of routing.size_bands; '
        'did you mean "enterprise"?'
    ]
    twice = ROUTING.replace(
        'emea = ["Germany", "France"]', 'emea = ["Germany", "France"]\ndach = ["germany"]'
    )
    assert problems(twice) == [
        'routing.territories.dach: "germany" is already in territory "emea"; '
        "a country belongs to one territory"
    ]
    duplicate = ROUTING + '[[routing.rules]]\nkey = "enterprise"\nteam = "X"\n'
    assert (
        'routing.rules[1].key: "enterprise" is used more than once in routing.rules; '
        "each key must be unique" in problems(duplicate)
    )
    never = ROUTING.replace("max_reassignments = 2", "max_reassignments = 0")
    assert problems(never) == [
        'routing.escalation.max_reassignments: is 0 but on_breach says "reassign"; '
        'raise it or remove "reassign"'
    ]
