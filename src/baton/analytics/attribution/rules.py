"""Rule-based attribution: a weight per touch from its place in the journey, as one Ibis expression.

Every model here gives each touch of a converting journey a weight; the weights of a journey
add up to 1, and a touch earns ``weight x conversions`` and ``weight x value`` of its journey
for its channel. The weight is an expression over the journey's touches (a window where the
model must look across the journey), so the engine does all the work; only the credit per
channel comes back.

- **first touch**, **last touch**: all to the first or the last touch.
- **last non-direct**: all to the last touch whose channel is not direct (the touch's own
  channel, ``touch_channel``, when credit goes to campaigns); to the last touch when all are.
- **linear**: ``1 / n`` to each of the ``n`` touches (a channel met twice is credited twice).
- **time decay**: ``2 ** (-age / half_life)``, normalised over the journey, where ``age`` is
  the days from the touch to the conversion. Journeys without times (path data) count age in
  steps before the last touch: the last touch is 0 steps old, the one before it 1, ...
- **position-based** (:func:`positional`: U-shaped, W-shaped, full path, custom): weights by
  role, see :class:`~baton.contract.model.PositionWeights`. The rules for short journeys and
  touches with several roles:

  1. Each role with a weight is held by exactly one touch: ``first`` by step 1, ``last`` by
     the last step, ``lead``, ``opportunity`` and ``won`` by the touch flagged for it, or by the
     last touch when no touch is flagged (path data, or an event the journey does not have).
  2. A touch holding several roles gets the sum of their weights.
  3. ``middle`` is split evenly among the touches holding no role with a weight.
  4. When every touch holds a role (journeys of one, two or three touches, mostly), ``middle``
     goes to the role holders in proportion to their weights (each is divided by
     ``1 - middle``), so the journey still gives out exactly 1.

  So U-shaped (40/20/40) gives a one-touch journey 100%; two touches 50/50; three touches
  40/20/40 when the lead touch is the last. docs/attribution.md works the cases through.

**Several models in one query.** Each model is registered with its *weight function*
(:data:`WeightFunction`: the steps that add each converting touch's weight as a column named
for the model, with any helper columns it needs named after it), so the weights of several
models sit side by side on one table. :func:`rule_credit` reads the converting touches
once, adds every model's weight, and sums ``weight x conversions`` and ``weight x value`` of
every model in one ``group by channel``; :func:`credit_together` runs it and hands back a
credit frame per model. A model run alone (``MODELS["linear"](journeys)``) is the same query
with one model in it. ``baton attribution --compare`` computes its rule models this way.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import ibis
import ibis.expr.operations as ops
import pandas as pd

from baton.analytics.attribution.journeys import Journeys
from baton.analytics.attribution.registry import Model, register
from baton.analytics.memo import Built
from baton.contract.model import Attribution, PositionWeights
from baton.errors import InvalidInput

DAY_SECONDS = 86_400
#: Defaults, from the contract's defaults.
DEFAULTS = Attribution()
FIRST = PositionWeights(first=1.0)
LAST = PositionWeights(last=1.0)
#: Flags of the touches that hold the event roles.
ROLE_FLAGS = {"lead": "is_lead_touch", "opportunity": "is_opportunity_touch", "won": "is_won_touch"}
#: Exponents beyond this give a weight of 0 (2 ** -1000 is 1e-301): PostgreSQL refuses to
#: underflow.
MAX_HALF_LIVES = 1000.0


@dataclass(frozen=True)
class Touches:
    """The converting touches (:func:`converting_touches`) and whether they were read from paths.

    Path data (``from_paths``) has no times and no lead or opportunity touches, and its last
    touch closed the deal: a weight that would look across the journey for them (a window)
    knows them from ``step`` and ``n`` alone.
    """

    table: ibis.Table
    from_paths: bool


#: Columns to add to the touches, each a function of the table they are added to.
Columns: TypeAlias = dict[str, Callable[[ibis.Table], Any]]


#: A rule model's weight, ``weight(column, from_paths, **params) -> list[Columns]``: the steps
#: that add each touch's weight as the column ``column``. Each step is :data:`Columns` added at
#: once, and may read the columns of the steps before it (a window over a helper column, say).
#: The last step adds ``column`` (float64); helper columns are named ``f"{column}_..."``, so
#: several models' weights sit on one table, and :func:`rule_credit` adds the first steps of all
#: models together, then the second ones, and so on: the query nests no deeper for nine models
#: than for one. ``from_paths`` says whether the touches were read from path data
#: (:class:`Touches`).
WeightFunction: TypeAlias = Callable[..., list[Columns]]


def converting_touches(journeys: Journeys) -> ibis.Table:
    """The touches of converting journeys with their journey's ``n``, counts and time.

    Columns: ``journey_id``, ``step``, ``channel``, ``touch_channel`` (``channel`` when the
    touches have none), ``touch_at``, the three role flags, ``n`` (touches in the journey),
    ``conversions``, ``value`` and ``converted_at``.
    """
    return _touches(journeys).table


def _touches(journeys: Journeys) -> Touches:
    j = journeys.journeys
    if "channels" in j.columns:
        return Touches(_converting_paths(journeys), from_paths=True)
    converting = j.filter((j.conversions != 0) | (j.value != 0)).select(
        c_id=j.journey_id, n=j.n_steps, c_conversions=j.conversions, c_value=j.value,
        converted_at=j.converted_at,
    )  # fmt: skip
    t = journeys.touches
    joined = t.join(converting, [("journey_id", "c_id")])
    own = "touch_channel" if "touch_channel" in t.columns else "channel"
    # the store's touch ids ride along, so a report can name the touch each weight went to
    kept = ["touch_id"] if "touch_id" in t.columns else []
    table = joined.select(
        "journey_id", "step", "channel", "touch_at", *ROLE_FLAGS.values(), "n", "converted_at",
        *kept, touch_channel=joined[own], conversions=joined.c_conversions, value=joined.c_value,
    )  # fmt: skip
    return Touches(table, from_paths=False)


def _converting_paths(journeys: Journeys) -> ibis.Table:
    """:func:`converting_touches` read from the journeys' ``channels`` arrays (path data).

    A path has no times and no lead or opportunity events; its last touch closed it. Reading
    the arrays is one pass over the journeys, with no join to the touches.
    """
    j = journeys.journeys
    converting = j.filter((j.conversions != 0) | (j.value != 0))
    n = converting.channels.length().cast("int64")
    rows = converting.select(
        "journey_id", "conversions", "value", "converted_at",
        channel=converting.channels.unnest(),
        step=ibis.range(1, n + 1).unnest().cast("int64"),
        n=n,
    )  # fmt: skip
    return rows.select(
        "journey_id", "step", "channel",
        touch_at=ibis.null("timestamp"),
        is_lead_touch=ibis.literal(False),
        is_opportunity_touch=ibis.literal(False),
        is_won_touch=rows.step == rows.n,
        n="n", converted_at="converted_at", touch_channel=rows.channel,
        conversions="conversions", value="value",
    )  # fmt: skip


def _channels(journeys: Journeys) -> ibis.Table:
    """Every channel of the journeys, once (``channel``).

    From the touches' ``channel`` column when the touches are a stored table (a column of
    strings reads far faster than arrays unnest), else from the journeys' arrays, which
    :func:`~baton.analytics.attribution.journeys.from_path_table`'s touches are made from.
    """
    j = journeys.journeys
    if "channels" in j.columns and not isinstance(journeys.touches.op(), ops.PhysicalTable):
        return j.select(channel=j.channels.unnest()).distinct()
    return journeys.touches.select("channel").distinct()


# -- several models in one query ---------------------------------------------------------------
def rule_credit(
    journeys: Journeys, weights: Sequence[tuple[WeightFunction, Mapping[str, Any]]]
) -> ibis.Table:
    """The credit of several rule models in one query: one pass, one ``group by channel``.

    Parameters
    ----------
    journeys
        The journeys.
    weights
        Each model's weight function and the parameters to call it with.

    Returns
    -------
    ibis.Table
        ``channel`` (every channel of the journeys, once) and, for the ``i``-th model,
        ``conversions_i`` and ``value_i``: the sums of ``weight x conversions`` and
        ``weight x value`` of each channel's touches, 0 for a channel that earned nothing.
    """
    touches = _touches(journeys)
    steps = [weight(f"m{i}", touches.from_paths, **params) for i, (weight, params) in
             enumerate(weights)]  # fmt: skip
    t = touches.table
    for level in range(max((len(s) for s in steps), default=0)):
        added = {name: f for s in steps if level < len(s) for name, f in s[level].items()}
        table = t
        t = t.mutate(**{name: f(table) for name, f in added.items()})
    sums: dict[str, ibis.Value] = {}
    for i in range(len(weights)):
        sums[f"c{i}"] = (t[f"m{i}"] * t.conversions).sum()
        sums[f"v{i}"] = (t[f"m{i}"] * t.value).sum()
    summed = t.group_by(s_channel=t.channel).aggregate(**sums)
    channels = _channels(journeys)
    joined = channels.left_join(summed, [("channel", "s_channel")])
    columns: dict[str, ibis.Value] = {}
    for i in range(len(weights)):
        columns[f"conversions_{i}"] = joined[f"c{i}"].fill_null(0.0).cast("float64")
        columns[f"value_{i}"] = joined[f"v{i}"].fill_null(0.0).cast("float64")
    return joined.select("channel", **columns)


#: :func:`credit_together`'s queries, by the journeys and the models: building one takes about
#: 0.1 s of Python, and the same models run again and again over journeys made into tables of
#: the same names (:func:`baton.service.attribution.attribute`), whatever the period.
_BUILT = Built(size=32)


def credit_together(
    journeys: Journeys, models: Sequence[Model], given: Mapping[str, Any] | None = None
) -> dict[str, pd.DataFrame]:
    """The credit of several rule models, computed together by :func:`rule_credit` in one query.

    Parameters
    ----------
    journeys
        The journeys.
    models
        Registered rule models (each with a ``weight``), in the order wanted.
    given
        The caller's parameters; each model takes the ones it reads, as when run alone.

    Returns
    -------
    dict
        Model name to its credit frame: ``channel``, ``conversions`` and ``value``, the same
        numbers as the model run alone.
    """
    given = {} if given is None else given
    weights = [(m.weight, m.parameters(given)) for m in models if m.weight is not None]
    if len(weights) < len(models):
        others = [m.name for m in models if m.weight is None]
        raise InvalidInput(f"{', '.join(others)}: not a rule model; run it on its own")
    if not models:
        return {}
    key = (
        journeys.touches.op(), journeys.journeys.op(),
        tuple((weight, repr(parameters)) for weight, parameters in weights),
    )  # fmt: skip
    # equal tables of another connection are equal operations: the backend is part of the key
    backend = ibis.get_backend(journeys.touches)
    wide = _BUILT.get(key, lambda: rule_credit(journeys, weights), backend)
    frame = wide.execute(params=journeys.params or None)
    return {
        m.name: pd.DataFrame(
            {
                "channel": frame["channel"],
                "conversions": frame[f"conversions_{i}"],
                "value": frame[f"value_{i}"],
            }
        )
        for i, m in enumerate(models)
    }


def alone(journeys: Journeys, weight: WeightFunction, **params: Any) -> ibis.Table:
    """One model's credit (``channel``, ``conversions``, ``value``): :func:`rule_credit` of it
    alone."""
    wide = rule_credit(journeys, [(weight, params)])
    return wide.select("channel", conversions=wide.conversions_0, value=wide.value_0)


# -- the weights -------------------------------------------------------------------------------
def _journey(t: ibis.Table) -> Any:
    """The window over a touch's journey."""
    return ibis.window(group_by=t.journey_id)


def first_weight(column: str, from_paths: bool) -> list[Columns]:
    """1 to the first touch."""
    return [{column: lambda t: (t.step == 1).ifelse(1.0, 0.0)}]


def last_weight(column: str, from_paths: bool) -> list[Columns]:
    """1 to the last touch."""
    return [{column: lambda t: (t.step == t.n).ifelse(1.0, 0.0)}]


def last_non_direct_weight(
    column: str,
    from_paths: bool,
    *,
    direct_channels: Iterable[str] = tuple(DEFAULTS.direct_channels),
) -> list[Columns]:
    """1 to the last touch not direct, or to the last touch when all are."""
    direct_list = sorted(set(direct_channels))

    def weight(t: ibis.Table) -> Any:
        direct = t.touch_channel.isin(direct_list)
        chosen = ibis.ifelse(direct, ibis.null("int64"), t.step).max().over(_journey(t))
        return (t.step == chosen.coalesce(t.n)).ifelse(1.0, 0.0)

    return [{column: weight}]


def linear_weight(column: str, from_paths: bool) -> list[Columns]:
    """``1 / n`` to each touch."""
    return [{column: lambda t: 1.0 / t.n.cast("float64")}]


def time_decay_weight(
    column: str, from_paths: bool, *, half_life_days: float = DEFAULTS.half_life_days
) -> list[Columns]:
    """``2 ** (-age / half_life)`` normalised over the journey."""
    if not half_life_days > 0:
        raise InvalidInput(f"--half-life must be a positive number of days (got {half_life_days})")
    half_life = float(half_life_days)
    age, raw = f"{column}_age", f"{column}_raw"

    def steps(t: ibis.Table) -> Any:
        return (t.n - t.step).cast("float64")

    def decay(halves: Any) -> Any:
        return ibis.literal(0.5) ** ibis.least(halves, MAX_HALF_LIVES)

    def timed_age(t: ibis.Table) -> Any:
        timed = (t.touch_at.count().over(_journey(t)) == t.n) & t.converted_at.notnull()
        days = (t.converted_at.epoch_seconds() - t.touch_at.epoch_seconds()).cast(
            "float64"
        ) / DAY_SECONDS
        return ibis.ifelse(timed, days, steps(t))

    def normalised(t: ibis.Table) -> Any:
        return t[raw] / t[raw].sum().over(_journey(t))

    if from_paths:
        # no times: age in steps, and the last touch is 0 steps old, the youngest
        return [{raw: lambda t: decay(steps(t) / half_life)}, {column: normalised}]
    # ages from the youngest touch: the same ratios, and no underflow for old journeys
    return [
        {age: timed_age},
        {raw: lambda t: decay((t[age] - t[age].min().over(_journey(t))) / half_life)},
        {column: normalised},
    ]


def positional_weight(column: str, from_paths: bool, *, weights: PositionWeights) -> list[Columns]:
    """Position weights (rules 1-4 of the module's docstring).

    The step holding each role is the same on every touch of a journey; the touches holding no
    role are ``n`` less the number of distinct holding steps, so only the flagged roles of
    journeys with flags need a window.
    """
    shares = weights.weights()
    middle = shares.pop("middle")
    roles = {role: share for role, share in shares.items() if share > 0}
    flagged = [r for r in roles if r in ROLE_FLAGS and not from_paths]

    def holder_step(role: str) -> Callable[[ibis.Table], Any]:
        def step(t: ibis.Table) -> Any:  # rule 1: the flagged touch, or the last
            flag = ibis.ifelse(t[ROLE_FLAGS[role]], t.step, ibis.null("int64"))
            return flag.max().over(_journey(t)).coalesce(t.n)

        return step

    def weight(t: ibis.Table) -> Any:
        holder = [
            ibis.literal(1, "int64") if role == "first"
            else t[f"{column}_{role}"] if role in flagged else t.n
            for role in roles
        ]  # fmt: skip
        holds = [t.step == step for step in holder]
        role_weight = _sum(
            (h.ifelse(share, 0.0) for h, share in zip(holds, roles.values(), strict=True)),
            ibis.literal(0.0),
        )
        any_role = functools.reduce(operator.or_, holds) if holds else ibis.literal(False)
        # rule 3: the touches holding no role are the journey's less the distinct holding steps
        held = _sum(
            (
                functools.reduce(operator.and_, [step != other for other in holder[:i]])
                .ifelse(1, 0) if i else ibis.literal(1, "int64")
                for i, step in enumerate(holder)
            ),
            ibis.literal(0, "int64"),
        )  # fmt: skip
        middles = t.n - held
        # every touch holds a role: the middle share goes to them pro rata (rule 4)
        scale = 1.0 / (1.0 - middle) if middle < 1.0 else 0.0
        return ibis.ifelse(
            middles > 0,
            role_weight + (~any_role).ifelse(middle / middles.nullif(0).cast("float64"), 0.0),
            role_weight * scale,
        )

    holders: Columns = {f"{column}_{role}": holder_step(role) for role in flagged}
    return [holders, {column: weight}] if holders else [{column: weight}]


def _sum(values: Iterable[Any], empty: Any) -> Any:
    """The sum of Ibis values (no leading ``0 +`` in the SQL); ``empty`` when there are none."""
    listed = list(values)
    return functools.reduce(operator.add, listed) if listed else empty


def positional(journeys: Journeys, *, weights: PositionWeights) -> ibis.Table:
    """Credit by position weights (rules 1-4 of the module's docstring)."""
    return alone(journeys, positional_weight, weights=weights)


def position_weights(
    t: ibis.Table, weights: PositionWeights, *, from_paths: bool = False
) -> ibis.Table:
    """Each touch of :func:`converting_touches` with its ``weight`` by position (rules 1-4).

    The weights of a journey add up to 1. :func:`positional` sums them per channel; the weekly
    report reads them touch by touch, to show which touches of a won deal earned what.
    """
    for step in positional_weight("weight", from_paths, weights=weights):
        table = t
        t = t.mutate(**{name: f(table) for name, f in step.items()})
    return t


def _u_shaped_weight(
    column: str, from_paths: bool, *, u_shaped: PositionWeights = DEFAULTS.u_shaped
) -> list[Columns]:
    return positional_weight(column, from_paths, weights=u_shaped)


def _w_shaped_weight(
    column: str, from_paths: bool, *, w_shaped: PositionWeights = DEFAULTS.w_shaped
) -> list[Columns]:
    return positional_weight(column, from_paths, weights=w_shaped)


def _full_path_weight(
    column: str, from_paths: bool, *, full_path: PositionWeights = DEFAULTS.full_path
) -> list[Columns]:
    return positional_weight(column, from_paths, weights=full_path)


# -- the registered models ---------------------------------------------------------------------
@register("first", "first touch: all credit to the journey's first touch", weight=first_weight)
def first_touch(journeys: Journeys) -> ibis.Table:
    return alone(journeys, first_weight)


@register("last", "last touch: all credit to the touch nearest the conversion", weight=last_weight)
def last_touch(journeys: Journeys) -> ibis.Table:
    return alone(journeys, last_weight)


@register(
    "last-non-direct",
    "last non-direct touch: the last touch that is not direct (the last touch if all are)",
    params=("direct_channels",),
    weight=last_non_direct_weight,
)
def last_non_direct(
    journeys: Journeys, *, direct_channels: Iterable[str] = tuple(DEFAULTS.direct_channels)
) -> ibis.Table:
    return alone(journeys, last_non_direct_weight, direct_channels=direct_channels)


@register("linear", "linear: an equal share to every touch", weight=linear_weight)
def linear(journeys: Journeys) -> ibis.Table:
    return alone(journeys, linear_weight)


@register(
    "time-decay",
    "time decay: a touch's share halves with every half-life before the conversion",
    params=("half_life_days",),
    weight=time_decay_weight,
)
def time_decay(
    journeys: Journeys, *, half_life_days: float = DEFAULTS.half_life_days
) -> ibis.Table:
    return alone(journeys, time_decay_weight, half_life_days=half_life_days)


@register(
    "u-shaped",
    "U-shaped: 40% first, 40% lead creation, 20% the rest",
    params=("u_shaped",),
    weight=_u_shaped_weight,
)
def u_shaped(journeys: Journeys, *, u_shaped: PositionWeights = DEFAULTS.u_shaped) -> ibis.Table:
    return positional(journeys, weights=u_shaped)


@register(
    "w-shaped",
    "W-shaped: 30% first, 30% lead creation, 30% opportunity creation, 10% the rest",
    params=("w_shaped",),
    weight=_w_shaped_weight,
)
def w_shaped(journeys: Journeys, *, w_shaped: PositionWeights = DEFAULTS.w_shaped) -> ibis.Table:
    return positional(journeys, weights=w_shaped)


@register(
    "full-path",
    "full path: 22.5% each to first, lead, opportunity and won touches, 10% the rest",
    params=("full_path",),
    weight=_full_path_weight,
)
def full_path(journeys: Journeys, *, full_path: PositionWeights = DEFAULTS.full_path) -> ibis.Table:
    return positional(journeys, weights=full_path)
