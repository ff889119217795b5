"""Rule-based attribution: a weight per touch from its place in the journey, as one Ibis expression.

Every model here gives each touch of a converting journey a weight; the weights of a journey
add up to 1, and a touch earns ``weight x conversions`` and ``weight x value`` of its journey
for its channel. The weight is a window expression over the journey's touches, so the engine
does all the work; only the credit per channel comes back.

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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ibis

from baton.analytics.attribution.journeys import Journeys
from baton.analytics.attribution.registry import register
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


def converting_touches(journeys: Journeys) -> ibis.Table:
    """The touches of converting journeys with their journey's ``n``, counts and time.

    Columns: ``journey_id``, ``step``, ``channel``, ``touch_channel`` (``channel`` when the
    touches have none), ``touch_at``, the three role flags, ``n`` (touches in the journey),
    ``conversions``, ``value`` and ``converted_at``.
    """
    j = journeys.journeys
    if "channels" in j.columns:
        return _converting_paths(journeys)
    converting = j.filter((j.conversions != 0) | (j.value != 0)).select(
        c_id=j.journey_id, n=j.n_steps, c_conversions=j.conversions, c_value=j.value,
        converted_at=j.converted_at,
    )  # fmt: skip
    t = journeys.touches
    joined = t.join(converting, [("journey_id", "c_id")])
    own = "touch_channel" if "touch_channel" in t.columns else "channel"
    # the store's touch ids ride along, so a report can name the touch each weight went to
    kept = ["touch_id"] if "touch_id" in t.columns else []
    return joined.select(
        "journey_id", "step", "channel", "touch_at", *ROLE_FLAGS.values(), "n", "converted_at",
        *kept, touch_channel=joined[own], conversions=joined.c_conversions, value=joined.c_value,
    )  # fmt: skip


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
    """Every channel of the journeys, once (``channel``)."""
    j = journeys.journeys
    if "channels" in j.columns:
        return j.select(channel=j.channels.unnest()).distinct()
    return journeys.touches.select("channel").distinct()


def credit(weighted: ibis.Table, journeys: Journeys) -> ibis.Table:
    """Credit per channel from touches with a ``weight``; every channel of the journeys listed.

    Returns
    -------
    ibis.Table
        ``channel``, ``conversions`` and ``value``: the sums of ``weight x conversions`` and
        ``weight x value`` of each channel's touches; 0 for a channel that earned nothing.
    """
    sums = weighted.group_by(s_channel=weighted.channel).aggregate(
        s_conversions=(weighted.weight * weighted.conversions).sum(),
        s_value=(weighted.weight * weighted.value).sum(),
    )
    channels = _channels(journeys)
    joined = channels.left_join(sums, [("channel", "s_channel")])
    return joined.select(
        "channel",
        conversions=joined.s_conversions.fill_null(0.0).cast("float64"),
        value=joined.s_value.fill_null(0.0).cast("float64"),
    )


def _journey(t: ibis.Table) -> Any:
    """The window over a touch's journey."""
    return ibis.window(group_by=t.journey_id)


def _held(t: ibis.Table, role: str) -> ibis.BooleanValue:
    """Whether each touch holds ``role`` (rule 1 of the module's docstring)."""
    if role == "first":
        return t.step == 1
    if role == "last":
        return t.step == t.n
    flagged = ibis.ifelse(t[ROLE_FLAGS[role]], t.step, ibis.null("int64")).max().over(_journey(t))
    return t.step == flagged.coalesce(t.n)


def positional(journeys: Journeys, *, weights: PositionWeights) -> ibis.Table:
    """Credit by position weights (rules 1-4 of the module's docstring)."""
    return credit(position_weights(converting_touches(journeys), weights), journeys)


def position_weights(t: ibis.Table, weights: PositionWeights) -> ibis.Table:
    """Each touch of :func:`converting_touches` with its ``weight`` by position (rules 1-4).

    The weights of a journey add up to 1. :func:`positional` sums them per channel; the weekly
    report reads them touch by touch, to show which touches of a won deal earned what.
    """
    shares = weights.weights()
    middle = shares.pop("middle")
    roles = {role: share for role, share in shares.items() if share > 0}
    t = t.mutate(**{f"holds_{role}": _held(t, role) for role in roles})
    role_weight: ibis.FloatingValue = ibis.literal(0.0)
    any_role: ibis.BooleanValue = ibis.literal(False)
    for role, share in roles.items():
        role_weight = role_weight + t[f"holds_{role}"].ifelse(share, 0.0)
        any_role = any_role | t[f"holds_{role}"]
    t = t.mutate(role_weight=role_weight, in_middle=~any_role)
    middles = t.in_middle.ifelse(1, 0).sum().over(_journey(t))
    # every touch holds a role: the middle share goes to them pro rata (rule 4)
    scale = 1.0 / (1.0 - middle) if middle < 1.0 else 0.0
    weight = ibis.ifelse(
        middles > 0,
        t.role_weight + t.in_middle.ifelse(middle / middles.nullif(0).cast("float64"), 0.0),
        t.role_weight * scale,
    )
    return t.mutate(weight=weight)


def _only(t: ibis.Table, chosen: ibis.BooleanValue, journeys: Journeys) -> ibis.Table:
    return credit(t.mutate(weight=chosen.ifelse(1.0, 0.0)), journeys)


@register("first", "first touch: all credit to the journey's first touch")
def first_touch(journeys: Journeys) -> ibis.Table:
    t = converting_touches(journeys)
    return _only(t, t.step == 1, journeys)


@register("last", "last touch: all credit to the touch nearest the conversion")
def last_touch(journeys: Journeys) -> ibis.Table:
    t = converting_touches(journeys)
    return _only(t, t.step == t.n, journeys)


@register(
    "last-non-direct",
    "last non-direct touch: the last touch that is not direct (the last touch if all are)",
    params=("direct_channels",),
)
def last_non_direct(
    journeys: Journeys, *, direct_channels: Iterable[str] = tuple(DEFAULTS.direct_channels)
) -> ibis.Table:
    t = converting_touches(journeys)
    direct = t.touch_channel.isin(sorted(set(direct_channels)))
    chosen = ibis.ifelse(direct, ibis.null("int64"), t.step).max().over(_journey(t))
    return _only(t, t.step == chosen.coalesce(t.n), journeys)


@register("linear", "linear: an equal share to every touch")
def linear(journeys: Journeys) -> ibis.Table:
    t = converting_touches(journeys)
    return credit(t.mutate(weight=1.0 / t.n.cast("float64")), journeys)


@register(
    "time-decay",
    "time decay: a touch's share halves with every half-life before the conversion",
    params=("half_life_days",),
)
def time_decay(
    journeys: Journeys, *, half_life_days: float = DEFAULTS.half_life_days
) -> ibis.Table:
    if not half_life_days > 0:
        raise InvalidInput(f"--half-life must be a positive number of days (got {half_life_days})")
    t = converting_touches(journeys)
    journey = _journey(t)
    timed = (t.touch_at.count().over(journey) == t.n) & t.converted_at.notnull()
    days = (t.converted_at.epoch_seconds() - t.touch_at.epoch_seconds()).cast(
        "float64"
    ) / DAY_SECONDS
    age = ibis.ifelse(timed, days, (t.n - t.step).cast("float64"))
    t = t.mutate(age=age)
    # ages from the youngest touch: the same ratios, and no underflow for old journeys
    halves = (t.age - t.age.min().over(_journey(t))) / float(half_life_days)
    t = t.mutate(raw=ibis.literal(0.5) ** ibis.least(halves, MAX_HALF_LIVES))
    return credit(t.mutate(weight=t.raw / t.raw.sum().over(_journey(t))), journeys)


@register("u-shaped", "U-shaped: 40% first, 40% lead creation, 20% the rest", params=("u_shaped",))
def u_shaped(journeys: Journeys, *, u_shaped: PositionWeights = DEFAULTS.u_shaped) -> ibis.Table:
    return positional(journeys, weights=u_shaped)


@register(
    "w-shaped",
    "W-shaped: 30% first, 30% lead creation, 30% opportunity creation, 10% the rest",
    params=("w_shaped",),
)
def w_shaped(journeys: Journeys, *, w_shaped: PositionWeights = DEFAULTS.w_shaped) -> ibis.Table:
    return positional(journeys, weights=w_shaped)


@register(
    "full-path",
    "full path: 22.5% each to first, lead, opportunity and won touches, 10% the rest",
    params=("full_path",),
)
def full_path(journeys: Journeys, *, full_path: PositionWeights = DEFAULTS.full_path) -> ibis.Table:
    return positional(journeys, weights=full_path)
