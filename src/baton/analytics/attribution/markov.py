"""Markov chain attribution by removal effect, of order 1 to 3, computed exactly.

The journeys are read as walks through a Markov chain: from a start state through states of
channels to one of two absorbing states, conversion or null (no conversion). A state of order
``k`` is the tuple of the last ``k`` channels. A channel's **removal effect** is the share of
the chain's conversions lost when the channel is taken out (every transition into one of its
states goes to null instead)::

    RE(c) = 1 - P(conversion from start, without c) / P(conversion from start)

which is also the probability that a converting walk passes through ``c``. Channels are then
credited ``RE(c) / sum RE`` of the total conversions. For value, the conversion state pays the
mean value of the conversions that left from the state before it, and ``RE_value(c)`` is the
share of the chain's expected value lost without ``c``; channels get ``RE_value(c) / sum
RE_value`` of the total value.

ChannelAttribution (Altomare and Loris) estimates these removal effects by simulating walks of
the chain; Baton solves them exactly. The engine counts the transitions (an Ibis expression:
``lag`` over each journey's touches in order, grouped, weighted by the journeys' counts); only
the counts come back, and absorption probabilities are a sparse linear solve,
``(I - Q) x = r``, once for the whole chain and once per channel removed.

Conventions, as in ChannelAttribution so that the numbers compare:

- a journey stands for ``conversions + nulls`` walks: each of its transitions between states
  counts that many times, its last state goes to conversion ``conversions`` times and to
  null ``nulls`` times;
- a state of order ``k`` is a window of ``k`` consecutive channels sliding one touch at a time;
  the first state is the first full window (``start → (a, b)`` for ``a > b > c`` at order 2),
  and a journey shorter than ``k`` is one state of all its channels;
- a state repeated at once (``a > a``, a self-loop) is counted once. This changes no removal
  effect: a self-loop only delays the walk, and the absorption probabilities of a chain are
  the same with a state's self-loop dropped and its other transitions rescaled, which is what
  dropping it from the counts does;
- a state of order 2 or 3 belongs to every channel in it: removing a channel removes every
  state it appears in.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from baton.analytics.attribution.credit import Totals, credit_table
from baton.analytics.attribution.journeys import Journeys
from baton.analytics.breakdowns import UNKNOWN
from baton.errors import InvalidInput

#: The orders Baton computes: states of up to three channels (12 channels make 1,884 states
#: at order 3; order 4 would reach 20,000 and needs far more journeys than most firms have to
#: estimate its transitions).
ORDERS = (1, 2, 3)

#: Engines that unnest arrays side by side (padding the shorter with null), where journeys
#: carrying their ``channels`` are counted without sorting their touches.
ARRAY_ENGINES = frozenset({"duckdb", "postgres"})

State = tuple[str, ...]
START: State = ()


def transition_counts(journeys: Journeys, order: int = 1, method: str = "auto") -> ibis.Table:
    """The weighted transitions between states, counted on the engine.

    Parameters
    ----------
    journeys
        The journeys.
    order
        How many of the last channels make a state (1 to 3).
    method
        ``"window"``: ``lag`` over each journey's touches ordered by step (any SQL engine);
        ``"array"``: the journeys' ``channels`` arrays, unnested (engines with arrays, and
        journeys that carry the column); ``"auto"``: ``"array"`` where it can, else
        ``"window"``. Both count the same transitions; arrays skip sorting the touches.

    Returns
    -------
    ibis.Table
        ``from_1`` … ``from_k`` (the from state's channels, oldest first; all null for the
        start state) and ``to_1`` … ``to_k`` (the to state's; null at the front where a
        journey is shorter than ``k``), with the sums of the journeys' ``walks``
        (``conversions + nulls``), ``conversions``, ``nulls`` and ``value``. By ``"window"``
        one row per (from, to, ``is_last``): where ``is_last``, the to state ended the
        journeys and their conversions, nulls and value left it. By ``"array"`` the end of
        a journey is a row of its own whose ``to_*`` are all null.
    """
    check_order(order)
    if method == "auto":
        method = "array" if _has_arrays(journeys) else "window"
    if method == "array":
        return _array_counts(journeys, order)
    if method == "window":
        return _window_counts(journeys, order)
    raise InvalidInput(f'markov: method "{method}" is not one of auto, array, window')


def _has_arrays(journeys: Journeys) -> bool:
    """Whether the journeys carry their channels as arrays on an engine that unnests them."""
    table = journeys.journeys
    if "channels" not in table.columns:
        return False
    backend = ibis.get_backend(table)  # an unbound table runs on the default, DuckDB
    return backend.name in ARRAY_ENGINES


def _window_counts(journeys: Journeys, order: int) -> ibis.Table:
    touches = journeys.touches
    touches = touches.select("journey_id", "step", channel=touches.channel.fill_null(UNKNOWN))
    window = ibis.window(group_by=touches.journey_id, order_by=touches.step)
    lags = {f"lag_{i}": touches.channel.lag(i).over(window) for i in range(1, order + 1)}
    touches = touches.mutate(**lags)
    weights = journeys.journeys.select("journey_id", "n_steps", "conversions", "nulls", "value")
    joined = touches.join(weights, "journey_id")
    # the state at a touch is its window of the last `order` channels: it exists from the
    # `order`-th touch on, or at the last touch of a shorter journey
    first = ibis.least(joined.n_steps, order)
    rows = joined.filter(joined.step >= first)
    is_start = rows.step == first
    columns: dict[str, ibis.Value] = {}
    for i in range(1, order + 1):
        back = order - i  # how many touches before this one the i-th channel of the state is
        columns[f"to_{i}"] = rows.channel if back == 0 else rows[f"lag_{back}"]
        columns[f"from_{i}"] = ibis.ifelse(is_start, ibis.null(dt.string), rows[f"lag_{back + 1}"])
    columns["is_last"] = rows.step == rows.n_steps
    return _summed(rows, columns, [*columns])


def _array_counts(journeys: Journeys, order: int) -> ibis.Table:
    table = journeys.journeys
    table = table.filter(table.channels.length() > 0)
    channels = table.channels
    if order > 1:
        # a journey shorter than the order is one state with nulls in front: pad it so
        nothing = ibis.null(dt.string)
        padded = [
            (channels.length() == n, ibis.array([nothing] * (order - n)).concat(channels))
            for n in range(1, order)
        ]
        channels = ibis.cases(*padded, else_=channels)
    columns: dict[str, ibis.Value] = {}
    for i in range(1, order + 1):
        # the i-th channel of every state in turn: states are the windows of `order` channels
        window = channels[i - 1 :] if i == order else channels[i - 1 : -(order - i)]
        columns[f"to_{i}"] = window.unnest()
        # one more element than `to`: the start first, and the last state, which goes to the
        # end (unnesting arrays of unequal length side by side pads the shorter with null)
        columns[f"from_{i}"] = ibis.array([ibis.null(dt.string)]).concat(window).unnest()
    return _summed(table, columns, [*columns])


def _summed(rows: ibis.Table, columns: dict[str, ibis.Value], keys: list[str]) -> ibis.Table:
    keyed = rows.select(
        **columns,
        walks=rows.conversions + rows.nulls,
        conversions=rows.conversions,
        nulls=rows.nulls,
        value=rows.value,
    )
    return keyed.group_by(keys).aggregate(
        walks=keyed.walks.sum(),
        conversions=keyed.conversions.sum(),
        nulls=keyed.nulls.sum(),
        value=keyed.value.sum(),
    )


@dataclass(frozen=True)
class Chain:
    """An absorbing Markov chain over journey states, from weighted transition counts.

    ``states[0]`` is the start (the empty tuple); ``moves`` holds the counts between states
    (self-loops left out), ``to_conversion``, ``to_null`` and ``value`` what left each state
    for the absorbing states.
    """

    states: list[State]
    moves: sp.csr_matrix
    to_conversion: np.ndarray
    to_null: np.ndarray
    value: np.ndarray

    @classmethod
    def from_counts(cls, counts: pd.DataFrame, order: int) -> Chain:
        """Build the chain from the rows of :func:`transition_counts`."""
        from_keys = [f"from_{i}" for i in range(1, order + 1)]
        to_keys = [f"to_{i}" for i in range(1, order + 1)]

        def state(row: tuple[object, ...]) -> State:
            return tuple(str(c) for c in row if c is not None and not pd.isna(c))

        froms = [state(r) for r in counts[from_keys].itertuples(index=False)]
        tos = [state(r) for r in counts[to_keys].itertuples(index=False)]
        if (
            "is_last" in counts.columns
        ):  # by window: a row ending journeys also moved into its state
            last = counts["is_last"].to_numpy(dtype=bool)
            moved = np.ones(len(counts), dtype=bool)
            ended = tos
        else:  # by array: the end of a journey is a row of its own, with no to state
            last = np.array([len(t) == 0 for t in tos], dtype=bool)
            moved = ~last
            ended = froms
        index: dict[State, int] = {START: 0}
        for s in [*froms, *tos]:
            if s:
                index.setdefault(s, len(index))
        n = len(index)
        src = np.fromiter((index[s] for s in froms), dtype=np.int64, count=len(froms))
        dst = np.fromiter((index.get(s, 0) for s in tos), dtype=np.int64, count=len(tos))
        end = np.fromiter((index[s] for s in ended), dtype=np.int64, count=len(ended))
        walks = counts["walks"].to_numpy(dtype=np.float64)
        move = moved & (src != dst) & (walks > 0)
        moves = sp.csr_matrix((walks[move], (src[move], dst[move])), shape=(n, n))
        ends = {
            name: np.bincount(
                end[last], weights=counts[name].to_numpy(np.float64)[last], minlength=n
            )
            for name in ("conversions", "nulls", "value")
        }
        return cls(
            states=list(index),
            moves=moves,
            to_conversion=ends["conversions"],
            to_null=ends["nulls"],
            value=ends["value"],
        )

    @property
    def channels(self) -> list[str]:
        """Every channel in a state of the chain, sorted."""
        return sorted({c for s in self.states for c in s})

    @property
    def totals(self) -> Totals:
        """The conversions and value that ended the journeys."""
        return Totals(float(self.to_conversion.sum()), float(self.value.sum()))

    def transition_matrix(self) -> pd.DataFrame:
        """Transition probabilities as ChannelAttribution reports them (``from``, ``to``,
        ``probability``), absorbing states named ``(conversion)`` and ``(null)``."""
        out = self._out()
        coo = self.moves.tocoo()
        name = [" > ".join(s) if s else "(start)" for s in self.states]
        rows = [
            (name[i], name[j], v / out[i])
            for i, j, v in zip(coo.row, coo.col, coo.data, strict=True)
        ]
        for label, counts in (("(conversion)", self.to_conversion), ("(null)", self.to_null)):
            rows += [(name[i], label, counts[i] / out[i]) for i in np.flatnonzero(counts)]
        return pd.DataFrame(rows, columns=["from", "to", "probability"])

    def _out(self) -> np.ndarray:
        out = np.asarray(self.moves.sum(axis=1)).ravel() + self.to_conversion + self.to_null
        return np.where(out > 0, out, 1.0)  # a state nothing leaves is never reached

    def absorption(self, keep: np.ndarray | None = None) -> tuple[float, float]:
        """Probability of conversion and expected value from the start, by a linear solve.

        Parameters
        ----------
        keep
            A mask of the states to keep; transitions into the others go to null (the chain
            with a channel removed). All states when left out.
        """
        out = self._out()
        q = sp.diags(1.0 / out) @ self.moves
        rhs = np.column_stack([self.to_conversion / out, self.value / out])
        if keep is not None:
            kept = np.flatnonzero(keep)
            q = q[kept][:, kept]
            rhs = rhs[kept]
        system = (sp.identity(q.shape[0], format="csc") - q).tocsc()
        solved = np.asarray(spsolve(system, rhs)).reshape(q.shape[0], 2)
        return float(solved[0, 0]), float(solved[0, 1])

    def removal_effects(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Each channel's removal effect, for conversions and for value."""
        channels = self.channels
        conversion, value = self.absorption()
        effects = np.zeros(len(channels))
        value_effects = np.zeros(len(channels))
        for i, channel in enumerate(channels):
            keep = np.fromiter((channel not in s for s in self.states), dtype=bool)
            without, without_value = self.absorption(keep)
            effects[i] = 1.0 - without / conversion if conversion > 0 else 0.0
            value_effects[i] = 1.0 - without_value / value if value > 0 else 0.0
        # removing a state can only lose conversions: below 0 is rounding
        return channels, np.clip(effects, 0.0, 1.0), np.clip(value_effects, 0.0, 1.0)


def check_order(order: int) -> None:
    """Refuse an order Baton does not compute, saying which it does."""
    if order not in ORDERS:
        raise InvalidInput(
            f"markov: order {order} is not supported; use 1, 2 or 3 (the number of last "
            "channels that make a state)"
        )


def chain(journeys: Journeys, order: int = 1, method: str = "auto") -> Chain:
    """The chain of the journeys: transitions counted on the engine (see
    :func:`transition_counts`), returned as a :class:`Chain`."""
    return Chain.from_counts(transition_counts(journeys, order, method).execute(), order)


def markov(journeys: Journeys, *, order: int = 1, method: str = "auto") -> pd.DataFrame:
    """Credit per channel by the Markov chain removal effect, computed exactly.

    Parameters
    ----------
    journeys
        The journeys (weighted by their ``conversions``, ``nulls`` and ``value``).
    order
        How many of the last channels make a state, 1 to 3.
    method
        How the engine counts transitions: ``"auto"``, ``"window"`` or ``"array"`` (see
        :func:`transition_counts`); the result is the same.

    Returns
    -------
    pandas.DataFrame
        One row per channel, sorted: ``channel``, ``conversions`` (the total conversions
        shared out by ``removal_effect``), ``value`` (the total value shared out by
        ``removal_effect_value``), ``removal_effect`` and ``removal_effect_value``. The
        credit adds up to the conversions and value of the journeys with touches.
    """
    model = chain(journeys, order, method)
    channels, effects, value_effects = model.removal_effects()
    return credit_table(
        channels,
        effects,
        value_effects,
        model.totals,
        extra={"removal_effect": effects, "removal_effect_value": value_effects},
    )


__all__ = [
    "ARRAY_ENGINES",
    "ORDERS",
    "START",
    "Chain",
    "chain",
    "check_order",
    "markov",
    "transition_counts",
]
