"""The contract: the default parses, every mistake is named with its key path and a fix."""

from __future__ import annotations

import pytest

from baton.contract import StageKind, default_contract_text, parse_contract
from baton.errors import ContractInvalid


def problems_of(text: str) -> list[str]:
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(text)
    return [str(p) for p in caught.value.problems]


def test_default_contract_is_valid_and_has_the_standard_funnel() -> None:
    contract = parse_contract(default_contract_text())
    assert [s.key for s in contract.main_path()] == [
        "subscriber", "lead", "mql", "sql", "opportunity", "customer",
    ]
    assert contract.stage("recycled").kind is StageKind.RECYCLED
    assert contract.stage("disqualified").kind is StageKind.DISQUALIFIED
    assert contract.mql_stage.key == "mql" and contract.sql_stage.key == "sql"
    assert contract.won_stage.key == "customer"
    assert contract.sla.sales.first_touch_hours == 4
    assert contract.business_hours.timezone == "America/New_York"
    assert {g.metric for g in contract.goals} == {"revenue", "customers"}


def test_a_misspelt_stage_kind_is_named_with_its_key_path_and_a_suggestion() -> None:
    text = default_contract_text().replace('kind = "qualified"', 'kind = "qualifed"', 1)
    assert problems_of(text) == [
        'stages[3].kind: "qualifed" is not a stage kind; did you mean "qualified"?'
    ]


def test_unknown_and_missing_keys_are_both_reported() -> None:
    text = default_contract_text().replace("first_touch_hours = 4", "first_touch_hour = 4")
    assert problems_of(text) == [
        "sla.sales.first_touch_hours: is required; add it (`baton init` writes an example)",
        'sla.sales.first_touch_hour: "first_touch_hour" is not a known key; '
        'did you mean "first_touch_hours"?',
    ]


def test_values_out_of_range_name_the_key() -> None:
    text = default_contract_text().replace("min_acceptance_rate = 0.6", "min_acceptance_rate = 6")
    [problem] = problems_of(text)
    assert problem.startswith("sla.marketing.min_acceptance_rate: ")
    assert "less than or equal to 1" in problem


def test_bad_time_zone_and_day_names() -> None:
    text = (
        default_contract_text()
        .replace('timezone = "America/New_York"', 'timezone = "America/Nwe_York"')
        .replace('days = ["mon",', 'days = ["mom",')
    )
    assert problems_of(text) == [
        'business_hours.timezone: "America/Nwe_York" is not a known time zone; '
        'use an IANA name such as "Europe/Berlin"',
        'business_hours.days[0]: "mom" is not allowed here; did you mean "mon"?',
    ]


def test_broken_toml_names_the_line() -> None:
    [problem] = problems_of("[[stages]\nkey = 1\n")
    assert "line 1" in problem


def test_references_between_sections_are_checked() -> None:
    text = (
        default_contract_text()
        .replace('[qualification.mql]\nstage = "mql"', '[qualification.mql]\nstage = "mqll"')
        .replace('{ from = "mql", to = "recycled" }', '{ from = "recycled", to = "mql" }')
        .replace('marketingqualifiedlead = "mql"', 'marketingqualifiedlead = "mq"')
        .replace("[stuck_after_days]\nmql = 3", "[stuck_after_days]\nmlq = 3")
    )
    assert problems_of(text) == [
        'qualification.mql.stage: "mqll" is not a stage key; did you mean "mql"?',
        'lifecycle.backward[0]: "recycled" to "mql" is a forward move, always allowed; remove it',
        'stuck_after_days.mlq: "mlq" is not a stage key; did you mean "mql"?',
        'mappings.hubspot.lifecycle_stage."marketingqualifiedlead": "mq" is not a stage key; '
        'did you mean "mql"?',
    ]


def test_duplicate_keys_and_a_qualification_on_the_wrong_kind() -> None:
    text = default_contract_text().replace('key = "subscriber"', 'key = "lead"').replace(
        '[qualification.sql]\nstage = "sql"', '[qualification.sql]\nstage = "opportunity"'
    )
    assert problems_of(text) == [
        'stages[1].key: "lead" is used more than once in stages; each key must be unique',
        'qualification.sql.stage: stage "opportunity" has kind "opportunity"; '
        'point it at a stage of kind "qualified"',
        'mappings.hubspot.lifecycle_stage."subscriber": "subscriber" is not a stage key; '
        'use one of: "lead", "recycled", "mql", "sql", "opportunity", "customer", "disqualified"',
    ]


def test_business_hours_must_end_after_they_start() -> None:
    text = default_contract_text().replace('end = "17:00"', 'end = "08:00"')
    assert problems_of(text) == ['business_hours.end: "08:00" must be later than start "09:00"']


def test_goal_periods_are_checked() -> None:
    text = default_contract_text().replace('period = "2026-Q4"', 'period = "Q4 2026"')
    [problem] = problems_of(text)
    assert problem.startswith('goals[1].period: "Q4 2026" is not a period')
