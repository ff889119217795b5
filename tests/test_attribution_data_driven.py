"""Markov removal effect and Shapley value: five journeys worked out by hand, exactness checks.

The five journeys (one buyer each) over channels A, B, C, D:

    J1  A > A > B   converted, value 60
    J2  A > D       no conversion
    J3  C           converted, value 30
    J4  A > C       no conversion
    J5  C > B       converted, value 90

Totals: 3 conversions, value 180.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction as F

import ibis
import numpy as np
import pandas as pd
import pytest

from baton.analytics.attribution.credit import residuals, totals
from baton.analytics.attribution.journeys import Journeys, from_path_table
from baton.analytics.attribution.markov import chain, markov, transition_counts
from baton.analytics.attribution.shapley import BITS_PER_WORD, shapley, shapley_values
from baton.errors import InvalidInput

FIVE = pd.DataFrame(
    {
        "path": ["A > A > B", "A > D", "C", "A > C", "C > B"],
        "total_conversions": [1, 0, 1, 0, 1],
        "total_conversion_value": [60.0, 0.0, 30.0, 0.0, 90.0],
        "total_null": [0, 1, 0, 1, 0],
    }
)


def five() -> Journeys:
    return from_path_table(ibis.memtable(FIVE))


def as_floats(values: dict[str, F]) -> list[float]:
    return [float(values[c]) for c in sorted(values)]


# Order-1 Markov by hand. Self-loops are dropped (J1's A > A), so the counts of moves are:
#   start: A 3 (J1 J2 J4), C 2 (J3 J5)                       out 5
#   A:     B 1 (J1), D 1 (J2), C 1 (J4)                      out 3
#   B:     conversion 2 (J1 J5; value 60 + 90 = 150)         out 2
#   C:     conversion 1 (J3; value 30), null 1 (J4), B 1 (J5) out 3
#   D:     null 1 (J2)                                       out 1
# Probability of conversion x from each state:
#   x_B = 1, x_D = 0, x_C = 1/3 + 1/3 x_B = 2/3, x_A = 1/3 x_B + 1/3 x_D + 1/3 x_C = 5/9,
#   x_start = 3/5 x_A + 2/5 x_C = 1/3 + 4/15 = 3/5   (3 conversions in 5 journeys)
# Removing a channel sends the moves into it to null:
#   without A: x_start = 2/5 * 2/3 = 4/15                        RE_A = 1 - (4/15)/(3/5) = 5/9
#   without B: x_C = 1/3, x_A = 1/9, x_start = 1/15 + 2/15 = 1/5 RE_B = 1 - (1/5)/(3/5) = 2/3
#   without C: x_A = 1/3, x_start = 1/5                          RE_C = 2/3
#   without D: nothing changes (D only led to null)              RE_D = 0
# Sum 17/9: shares A 5/17, B 6/17, C 6/17, D 0; of 3 conversions: 15/17, 18/17, 18/17, 0.
RE = {"A": F(5, 9), "B": F(2, 3), "C": F(2, 3), "D": F(0)}
MARKOV_CONVERSIONS = {"A": F(15, 17), "B": F(18, 17), "C": F(18, 17), "D": F(0)}
# Value: a walk reaching conversion from B brings 150/2 = 75 per walk leaving B, from C 30/3 =
# 10 per walk leaving C. Expected value y from each state:
#   y_B = 75, y_C = 10 + 1/3 y_B = 35, y_A = 1/3 y_B + 1/3 y_C = 110/3,
#   y_start = 3/5 * 110/3 + 2/5 * 35 = 22 + 14 = 36   (value 180 in 5 journeys)
#   without A: y_start = 2/5 * 35 = 14                          RE_A = 1 - 14/36 = 11/18
#   without B: y_C = 10, y_A = 10/3, y_start = 2 + 4 = 6       RE_B = 1 - 6/36 = 5/6
#   without C: y_A = 25, y_start = 15                           RE_C = 1 - 15/36 = 7/12
# Sum 73/36: shares A 22/73, B 30/73, C 21/73; of 180: 3960/73, 5400/73, 3780/73.
RE_VALUE = {"A": F(11, 18), "B": F(5, 6), "C": F(7, 12), "D": F(0)}
MARKOV_VALUE = {"A": F(3960, 73), "B": F(5400, 73), "C": F(3780, 73), "D": F(0)}

# Shapley by hand. Coalitions (distinct channels) and what they converted:
#   {A, B}: 1 conversion, 60 (J1); {A, D}: 0 (J2); {C}: 1, 30 (J3); {A, C}: 0 (J4);
#   {B, C}: 1, 90 (J5)
# phi_j = sum over coalitions S holding j of R(S) / |S|:
#   A: 1/2 (from {A, B})             value 60/2 = 30
#   B: 1/2 + 1/2 (from {A, B}, {B, C}) value 30 + 45 = 75
#   C: 1 + 1/2 (from {C}, {B, C})      value 30 + 45 = 75
#   D: 0 (its only coalition did not convert)
SHAPLEY_CONVERSIONS = {"A": F(1, 2), "B": F(1), "C": F(3, 2), "D": F(0)}
SHAPLEY_VALUE = {"A": F(30), "B": F(75), "C": F(75), "D": F(0)}


@pytest.mark.parametrize("method", ["window", "array"])
def test_order_one_markov_on_five_journeys_equals_the_working_by_hand(method: str) -> None:
    got = markov(five(), order=1, method=method)
    assert got["channel"].tolist() == ["A", "B", "C", "D"]
    np.testing.assert_allclose(got["removal_effect"], as_floats(RE), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got["conversions"], as_floats(MARKOV_CONVERSIONS), rtol=1e-12)
    np.testing.assert_allclose(got["removal_effect_value"], as_floats(RE_VALUE), rtol=1e-12)
    np.testing.assert_allclose(got["value"], as_floats(MARKOV_VALUE), rtol=1e-12)


def test_the_chain_drops_self_loops_and_keeps_the_counts_by_hand() -> None:
    matrix = chain(five(), 1).transition_matrix()
    probabilities = {(r["from"], r["to"]): r["probability"] for _, r in matrix.iterrows()}
    assert ("A", "A") not in probabilities
    assert probabilities[("(start)", "A")] == pytest.approx(3 / 5)
    assert probabilities[("A", "B")] == pytest.approx(1 / 3)
    assert probabilities[("C", "(conversion)")] == pytest.approx(1 / 3)
    assert probabilities[("D", "(null)")] == pytest.approx(1.0)


def test_a_self_loop_changes_no_removal_effect() -> None:
    # J1 without its repeat: the absorption probabilities, hence the credit, are the same
    collapsed = FIVE.assign(path=["A > B", "A > D", "C", "A > C", "C > B"])
    repeated = FIVE.assign(path=["A > A > A > B", "A > D > D", "C > C", "A > C", "C > B > B"])
    want = markov(from_path_table(ibis.memtable(collapsed)))
    pd.testing.assert_frame_equal(markov(from_path_table(ibis.memtable(repeated))), want)


def test_shapley_on_five_journeys_equals_the_working_by_hand() -> None:
    got = shapley(five())
    assert got["channel"].tolist() == ["A", "B", "C", "D"]
    np.testing.assert_allclose(got["conversions"], as_floats(SHAPLEY_CONVERSIONS), rtol=1e-12)
    np.testing.assert_allclose(got["value"], as_floats(SHAPLEY_VALUE), rtol=1e-12)
    np.testing.assert_allclose(got["share"], [1 / 6, 1 / 3, 1 / 2, 0.0], rtol=1e-12)


def brute_force_shapley(coalitions: dict[frozenset[str], float], players: list[str]) -> np.ndarray:
    """The Shapley value by its definition: v(S) sums R(T) over T ⊆ S; weighted marginals."""
    n = len(players)

    def worth(members: frozenset[str]) -> float:
        return sum(r for s, r in coalitions.items() if s <= members)

    values = np.zeros(n)
    for j, player in enumerate(players):
        others = [p for p in players if p != player]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for members in itertools.combinations(others, size):
                s = frozenset(members)
                values[j] += weight * (worth(s | {player}) - worth(s))
    return values


def test_the_simplified_shapley_equals_the_definition() -> None:
    rng = np.random.default_rng(3)
    players = [f"c{i}" for i in range(7)]
    coalitions = {
        frozenset(rng.choice(players, size=rng.integers(1, 5), replace=False)): float(r)
        for r in rng.integers(0, 20, size=40)
    }
    paths = pd.DataFrame(
        {
            "path": [" > ".join(sorted(s)) for s in coalitions],
            "total_conversions": list(coalitions.values()),
            "total_conversion_value": [2.5 * r for r in coalitions.values()],
            "total_null": [1] * len(coalitions),
        }
    )
    got = shapley(from_path_table(ibis.memtable(paths))).set_index("channel")
    seen = sorted({p for s in coalitions for p in s})
    want = brute_force_shapley(coalitions, seen)
    np.testing.assert_allclose(got.loc[seen, "conversions"], want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.loc[seen, "value"], 2.5 * want, rtol=1e-12, atol=1e-12)


def test_shapley_masks_span_several_words_past_62_channels() -> None:
    # 130 channels: three 64-bit words per coalition; journeys over channels far apart
    channels = [f"ch{i:03d}" for i in range(130)]
    paths = pd.DataFrame(
        {
            "path": [f"{channels[i]} > {channels[129 - i]}" for i in range(65)] + ["ch000"],
            "total_conversions": [1] * 66,
            "total_conversion_value": [10.0] * 66,
            "total_null": [0] * 66,
        }
    )
    got = shapley(from_path_table(ibis.memtable(paths))).set_index("channel")
    assert len(got) == 130
    assert got.loc["ch000", "conversions"] == pytest.approx(1.5)  # half of J1, all of the last
    assert got.loc["ch129", "conversions"] == pytest.approx(0.5)
    assert got["conversions"].sum() == pytest.approx(66)
    counts = pd.DataFrame({"mask_0": [3], "mask_1": [0], "conversions": [2.0], "value": [4.0]})
    conversions, _ = shapley_values(counts, BITS_PER_WORD + 1)
    assert conversions[:2].tolist() == [1.0, 1.0] and conversions[2:].sum() == 0


@pytest.mark.parametrize("model", ["markov-1", "markov-2", "markov-3", "shapley"])
def test_credit_reconciles_to_the_totals(model: str) -> None:
    journeys = five()
    got = shapley(journeys) if model == "shapley" else markov(journeys, order=int(model[-1]))
    total = totals(journeys)
    assert (total.conversions, total.value) == (3.0, 180.0)
    assert all(r < 1e-9 for r in residuals(got, total).values())
    assert got.set_index("channel").loc["D", ["conversions", "value"]].tolist() == [0.0, 0.0]


def test_nothing_converted_credits_every_channel_zero() -> None:
    paths = FIVE.assign(total_conversions=0, total_conversion_value=0.0, total_null=1)
    for got in (
        markov(from_path_table(ibis.memtable(paths))),
        shapley(from_path_table(ibis.memtable(paths))),
    ):
        assert got["channel"].tolist() == ["A", "B", "C", "D"]
        assert (got["conversions"] == 0).all() and (got["value"] == 0).all()


def test_order_two_states_are_windows_of_two_channels() -> None:
    # a > b > c at order 2: start -> (a, b) -> (b, c) -> conversion; "d" alone is the state (d)
    paths = pd.DataFrame(
        {"path": ["a > b > c", "d"], "total_conversions": [1, 0],
         "total_conversion_value": [5.0, 0.0], "total_null": [0, 1]}
    )  # fmt: skip
    for method in ("window", "array"):
        matrix = chain(from_path_table(ibis.memtable(paths)), 2, method).transition_matrix()
        moves = {(r["from"], r["to"]) for _, r in matrix.iterrows()}
        assert moves == {("(start)", "a > b"), ("a > b", "b > c"), ("b > c", "(conversion)"),
                         ("(start)", "d"), ("d", "(null)")}  # fmt: skip


def test_markov_refuses_an_order_or_method_it_does_not_know() -> None:
    with pytest.raises(InvalidInput, match="order 4 is not supported; use 1, 2 or 3"):
        markov(five(), order=4)
    with pytest.raises(InvalidInput, match='method "loop"'):
        transition_counts(five(), 1, "loop")
