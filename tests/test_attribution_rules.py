"""Every rule-based model on five hand-made journeys equals the numbers worked out by hand, on
DuckDB, SQLite and PostgreSQL; short journeys and touches with several roles follow the
documented rules; every model's credit adds up to the totals.

The journeys are in ``tests/fixtures/attribution.py`` (J1 ... J5, channels A B C D E, D direct).
"""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import ibis
import pandas as pd
import pytest
from ibis.backends import BaseBackend
from tests.fixtures.attribution import FIVE, frames, on_backend

from baton.analytics.attribution import MODELS, get_model, register
from baton.analytics.attribution.journeys import Journeys
from baton.analytics.attribution.reconcile import TOLERANCE, reconcile, totals
from baton.analytics.attribution.rules import positional
from baton.contract import default_contract_text, parse_contract
from baton.contract.model import PositionWeights
from baton.errors import ContractInvalid, InvalidInput
from baton.service.attribution import models_for

RULES = ("first", "last", "last-non-direct", "linear", "time-decay", "u-shaped", "w-shaped",
         "full-path")  # fmt: skip

# Worked by hand. Conversions: J1..J3 count 1, J4 counts 2; values 100, 200, 300, 400. A touch
# earns weight x conversions and weight x value of its journey. E (only on J5, which did not
# convert) earns 0 everywhere.
HAND: dict[str, dict[str, tuple[F, F]]] = {
    # J1 A, J2 B, J3 A, J4 C (x2)
    "first": {"A": (F(2), F(400)), "B": (F(1), F(200)), "C": (F(2), F(400))},
    # J1 A, J2 A, J3 C, J4 D (x2)
    "last": {"A": (F(2), F(300)), "C": (F(1), F(300)), "D": (F(2), F(400))},
    # J4's last touch is D (direct): its last non-direct touch is A
    "last-non-direct": {"A": (F(4), F(700)), "C": (F(1), F(300))},
    # J1 A 1; J2 1/2 each; J3 1/3 each; J4 1/5 each (x2: 2/5, D twice: 4/5)
    # A = 1 + 1/2 + 1/3 + 2/5 = 67/30; values 100 + 100 + 100 + 80
    "linear": {
        "A": (F(67, 30), F(380)),
        "B": (F(1, 2) + F(2, 5), F(180)),
        "C": (F(1, 3) + F(2, 5), F(180)),
        "D": (F(1, 3) + F(4, 5), F(260)),
    },
    # half-life 7 days: weight 2^(-age/7). J2 ages 7, 0 -> 1/2, 1 -> B 1/3, A 2/3. J3 ages
    # 14, 7, 0 -> 1/4, 1/2, 1 (sum 7/4) -> A 1/7, D 2/7, C 4/7. J4 ages 21, 14, 14, 7, 0 ->
    # 1/8, 1/4, 1/4, 1/2, 1 (sum 17/8) -> C 1/17, B 2/17, D 2/17 + 8/17, A 4/17.
    "time-decay": {
        "A": (
            1 + F(2, 3) + F(1, 7) + 2 * F(4, 17),
            100 + 200 * F(2, 3) + 300 * F(1, 7) + 400 * F(4, 17),
        ),
        "B": (F(1, 3) + 2 * F(2, 17), 200 * F(1, 3) + 400 * F(2, 17)),
        "C": (F(4, 7) + 2 * F(1, 17), 300 * F(4, 7) + 400 * F(1, 17)),
        "D": (F(2, 7) + 2 * F(10, 17), 300 * F(2, 7) + 400 * F(10, 17)),
    },
    # 40 first / 40 lead / 20 middle. J1: A holds both, 100%. J2: B first and lead (80%), A
    # holds no role: middle 20%. J3: A 40, D 40, C 20. J4: C 40, B 40, D A D share 20: 20/3
    # each, D twice.
    "u-shaped": {
        "A": (1 + F(1, 5) + F(2, 5) + 2 * F(1, 15), 100 + 40 + 120 + 400 * F(1, 15)),
        "B": (F(4, 5) + 2 * F(2, 5), 160 + 160),
        "C": (F(1, 5) + 2 * F(2, 5), 60 + 160),
        "D": (F(2, 5) + 2 * F(2, 15), 120 + 400 * F(2, 15)),
    },
    # 30 first / 30 lead / 30 opportunity / 10 middle. J1 A 100%. J2: B first and lead (60),
    # A opportunity (30), no middle: 60/90 and 30/90. J3: A D C hold one role each: 1/3 each.
    # J4: C 30, B 30, A 30, the two D are middle: 5 each.
    "w-shaped": {
        "A": (1 + F(1, 3) + F(1, 3) + 2 * F(3, 10), 100 + F(200, 3) + 100 + 120),
        "B": (F(2, 3) + 2 * F(3, 10), F(400, 3) + 120),
        "C": (F(1, 3) + 2 * F(3, 10), 100 + 120),
        "D": (F(1, 3) + 2 * F(1, 10), 100 + 40),
    },
    # 22.5 each first / lead / opportunity / won, 10 middle. J2: B first+lead 45, A
    # opportunity+won 45, no middle: 1/2 each. J3: A 22.5, D 22.5, C 45, over 90: 1/4 1/4 1/2.
    # J4: C 22.5, B 22.5, A 22.5, last D won 22.5, first D middle 10: D 32.5.
    "full-path": {
        "A": (1 + F(1, 2) + F(1, 4) + 2 * F(9, 40), 100 + 100 + 75 + 90),
        "B": (F(1, 2) + 2 * F(9, 40), 100 + 90),
        "C": (F(1, 2) + 2 * F(9, 40), 150 + 90),
        "D": (F(1, 4) + 2 * F(13, 40), 75 + 130),
    },
}


@pytest.fixture
def five(backend: BaseBackend) -> Journeys:
    return on_backend(backend, *frames(FIVE))


def credit(journeys: Journeys, name: str, **params: object) -> pd.DataFrame:
    """The model's credit per channel, by channel; ``params`` it does not read are ignored."""
    result = get_model(name)(journeys, **params)
    frame = result.execute() if isinstance(result, ibis.Table) else result
    return frame.set_index("channel").sort_index()


def expected(name: str) -> pd.DataFrame:
    rows = {c: HAND[name].get(c, (F(0), F(0))) for c in "ABCDE"}
    return pd.DataFrame(
        {"conversions": [float(v[0]) for v in rows.values()],
         "value": [float(v[1]) for v in rows.values()]},
        index=pd.Index(list(rows), name="channel"),
    )  # fmt: skip


@pytest.mark.parametrize("name", RULES)
def test_every_rule_equals_the_hand_worked_numbers(five: Journeys, name: str) -> None:
    got = credit(five, name, direct_channels=["D"], half_life_days=7.0)
    pd.testing.assert_frame_equal(got, expected(name), rtol=1e-12, check_dtype=False)


def test_the_hand_numbers_add_up_to_the_five_journeys() -> None:
    # five conversions (J4 counts two) and 1,000 of value, for every model
    for name, channels in HAND.items():
        assert sum(c for c, _ in channels.values()) == 5, name
        assert sum(v for _, v in channels.values()) == 1000, name


def test_every_registered_model_reconciles_and_lists_every_channel(five: Journeys) -> None:
    total = totals(five)
    assert (total.journeys, total.conversions, total.value, total.nulls) == (5, 5.0, 1000.0, 1.0)
    credits = {name: credit(five, name).reset_index() for name in MODELS}
    check = reconcile(credits, total)
    assert check["reconciled"].all(), check
    assert (check["relative_residual"] < TOLERANCE).all()
    for name, frame in credits.items():
        assert sorted(frame["channel"]) == list("ABCDE"), name
        if name.startswith("markov") or name == "shapley":
            continue  # data-driven: tested in test_attribution_data_driven.py
        # E only walked a journey that did not convert: listed, with nothing
        assert frame.set_index("channel").loc["E"].tolist() == [0.0, 0.0], name


def test_custom_position_weights_come_from_the_contract(five: Journeys) -> None:
    text = default_contract_text() + (
        '\n[[attribution.custom]]\nkey = "ends"\nlabel = "first 10, last 60, middle 30"\n'
        "first = 0.1\nlast = 0.6\nmiddle = 0.3\n"
    )
    models = models_for(parse_contract(text).attribution)
    got = models["ends"](five).execute().set_index("channel").sort_index()
    # J1: A first and last, 100%. J2: B 10, A 60, no middle: 1/7 and 6/7. J3: A 10, D middle
    # 30, C 60. J4: C 10, last D 60, B D A middle 10 each (x2).
    hand = {
        "A": (1 + F(6, 7) + F(1, 10) + 2 * F(1, 10), 100 + F(1200, 7) + 30 + 40),
        "B": (F(1, 7) + 2 * F(1, 10), F(200, 7) + 40),
        "C": (F(6, 10) + 2 * F(1, 10), 180 + 40),
        "D": (F(3, 10) + 2 * F(7, 10), 90 + 280),
        "E": (F(0), F(0)),
    }
    assert got["conversions"].tolist() == pytest.approx([float(v[0]) for v in hand.values()])
    assert got["value"].tolist() == pytest.approx([float(v[1]) for v in hand.values()])
    assert models["ends"].parameters({})["weights"].last == 0.6


def test_a_contract_may_reweigh_the_u_shape(five: Journeys) -> None:
    got = credit(five, "u-shaped", u_shaped=PositionWeights(first=0.5, lead=0.5))
    # no middle: J1 A; J2 B holds both roles, A none: B 100%; J3 A 1/2, D 1/2; J4 C, B 1/2 each
    assert got["conversions"].to_dict() == pytest.approx(
        {"A": 1.5, "B": 2.0, "C": 1.0, "D": 0.5, "E": 0.0}
    )


# -- short journeys without flags (path data): the documented fallbacks -----------------------
SHORT = {
    "one": ([("a", None, "")], 1, 10, 0),
    "two": ([("b", None, ""), ("c", None, "")], 1, 10, 0),
    "three": ([("d", None, ""), ("e", None, ""), ("f", None, "")], 1, 10, 0),
}


@pytest.mark.parametrize(
    ("name", "shares"),
    [
        # a role with no flagged touch goes to the last touch; a touch with several roles sums
        # them; with no touch left for the middle, the role holders share it pro rata
        ("u-shaped", {"a": 1, "b": 0.5, "c": 0.5, "d": 0.4, "e": 0.2, "f": 0.4}),
        ("w-shaped", {"a": 1, "b": 1 / 3, "c": 2 / 3, "d": 0.3, "e": 0.1, "f": 0.6}),
        ("full-path", {"a": 1, "b": 0.25, "c": 0.75, "d": 0.225, "e": 0.1, "f": 0.675}),
    ],
)
def test_journeys_of_one_two_and_three_touches_without_flags(
    backend: BaseBackend, name: str, shares: dict[str, float]
) -> None:
    journeys = on_backend(backend, *frames(SHORT, timed=False, flagged=False))
    got = credit(journeys, name)["conversions"].to_dict()
    assert got == pytest.approx(shares, rel=1e-12)


def test_time_decay_counts_steps_when_the_journeys_have_no_times(backend: BaseBackend) -> None:
    journeys = on_backend(backend, *frames(FIVE, timed=False))
    got = credit(journeys, "time-decay", half_life_days=2.0)
    # recomputed independently: the touch k steps before the last weighs 2^(-k/2)
    want: dict[str, list[float]] = {c: [0.0, 0.0] for c in "ABCDE"}
    for path, conversions, value, _ in FIVE.values():
        raw = [2 ** (-(len(path) - i) / 2) for i in range(1, len(path) + 1)]
        for (channel, _, _), w in zip(path, raw, strict=True):
            want[channel][0] += conversions * w / sum(raw)
            want[channel][1] += value * w / sum(raw)
    assert got["conversions"].tolist() == pytest.approx([v[0] for v in want.values()], rel=1e-12)
    assert got["value"].tolist() == pytest.approx([v[1] for v in want.values()], rel=1e-12)


def test_last_non_direct_takes_the_direct_channels_as_a_parameter(five: Journeys) -> None:
    # nothing is direct: the same as last touch
    got = credit(five, "last-non-direct", direct_channels=["Z"])
    pd.testing.assert_frame_equal(got, expected("last"), check_dtype=False)
    # A and D direct: J1 all direct goes to its last touch A; J2 B; J3 C; J4 B (x2)
    got = credit(five, "last-non-direct", direct_channels=["A", "D"])
    assert got["conversions"].to_dict() == {"A": 1.0, "B": 3.0, "C": 1.0, "D": 0.0, "E": 0.0}


def test_position_weights_that_do_not_add_up_are_refused_with_their_key_path() -> None:
    text = default_contract_text().replace(
        "[attribution.w_shaped]\nfirst = 0.3", "[attribution.w_shaped]\nfirst = 0.4"
    )
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(text)
    (problem,) = caught.value.problems
    assert problem.where == "attribution.w_shaped"
    assert "add up to 1.1" in problem.message
    twice = default_contract_text() + "".join(
        f'\n[[attribution.custom]]\nkey = "mine"\nfirst = {w}\nlast = {1 - w}\n' for w in (0.5, 0.2)
    )
    with pytest.raises(ContractInvalid) as caught:
        parse_contract(twice)
    assert [p.where for p in caught.value.problems] == ["attribution.custom[1].key"]


def test_a_custom_model_may_not_take_a_built_in_name() -> None:
    text = default_contract_text() + '\n[[attribution.custom]]\nkey = "linear"\nfirst = 1\n'
    with pytest.raises(InvalidInput, match=r"attribution.custom\[0\].key: \"linear\""):
        models_for(parse_contract(text).attribution)


def test_unknown_models_are_refused_naming_the_closest() -> None:
    with pytest.raises(InvalidInput, match='did you mean "w-shaped"'):
        get_model("w-shape")
    with pytest.raises(ValueError, match="registered already"):
        register("linear", "again")(lambda journeys: None)


def test_positional_weights_are_one_expression_per_touch(five: Journeys) -> None:
    # the model is an Ibis expression the engine runs: nothing is computed in Python
    assert isinstance(positional(five, weights=PositionWeights(middle=1.0)), ibis.Table)
    linear = credit(five, "linear")
    pd.testing.assert_frame_equal(
        positional(five, weights=PositionWeights(middle=1.0)).execute().set_index("channel")
        .sort_index(),
        linear,
        check_dtype=False,
    )  # fmt: skip


def test_every_registered_model_is_documented() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs"
    attribution = (docs / "attribution.md").read_text(encoding="utf-8")
    cli = (docs / "cli.md").read_text(encoding="utf-8")
    for name in MODELS:
        assert f"`{name}`" in attribution, f"docs/attribution.md lacks the model {name}"
        assert f"`{name}`" in cli, f"docs/cli.md (baton attribution) lacks the model {name}"
