"""Journeys: the ordered touches that came before an outcome, the input of every attribution model.

A :class:`Journeys` is two Ibis tables on one backend:

``touches``
    one row per touch: ``journey_id`` (string), ``step`` (int64, 1 for the first touch of the
    journey, consecutive), ``channel`` (string: what credit goes to — a channel, a campaign's
    name, ...), ``touch_at`` (timestamp, null where the source has no times, as in path data),
    ``is_lead_touch``, ``is_opportunity_touch``, ``is_won_touch`` (booleans: the touch that
    created the lead, the opportunity, or closed the deal; at most one of each per journey).
    Optional: ``touch_channel`` (string), the channel of the touch when ``channel`` holds
    something else (a campaign's name); last non-direct reads it to tell direct touches.
``journeys``
    one row per journey: ``journey_id``, ``n_steps`` (int64, the number of touches),
    ``conversions`` (float64: how many conversions the journey stands for), ``value``
    (float64: the revenue or value they brought), ``nulls`` (float64: how many journeys on
    the same path did not convert), ``converted_at`` (timestamp, null where unknown).
    Journeys built from the store add ``subject`` (``"lead 12"`` or ``"account 3"``) and
    ``ended_at`` (the conversion, or the last touch of a journey that did not convert).
    Optionally, ``channels`` (an array of the journey's touch channels in order, no nulls),
    which engines with arrays (DuckDB, PostgreSQL) use instead of ordering the touches:
    :func:`from_path_table` gives it, since a path already holds its touches in order.

A journey from the store stands for one buyer's conversion (``conversions`` 1 and ``nulls`` 0,
or 0 and 1); a journey from aggregated path data stands for every buyer who took the same path,
so each model weighs journeys by these counts.

:func:`~baton.analytics.attribution.store_journeys.build_journeys` makes journeys from the
store's tables (see docs/attribution.md, Journeys); :func:`read_paths` and
:func:`from_path_table` from ChannelAttribution path files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
from ibis.backends import BaseBackend

from baton.errors import InvalidInput, NotFound

#: What separates channels in a path of the ChannelAttribution format (``a > b > c``).
PATH_SEPARATOR = " > "

TOUCH_COLUMNS = (
    "journey_id",
    "step",
    "channel",
    "touch_at",
    "is_lead_touch",
    "is_opportunity_touch",
    "is_won_touch",
)
JOURNEY_COLUMNS = ("journey_id", "n_steps", "conversions", "value", "nulls", "converted_at")


@dataclass(frozen=True)
class Journeys:
    """Touches in order and one row of outcome per journey, as Ibis tables on one backend.

    ``params`` are the values of the query parameters the tables take, to give when running
    anything made from them (``execute(params=...)``): journeys of a period take its bounds as
    parameters, so that the journeys of every period are one query, compiled once.
    """

    touches: ibis.Table
    journeys: ibis.Table
    params: Mapping[Any, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name, table, wanted in (
            ("touches", self.touches, TOUCH_COLUMNS),
            ("journeys", self.journeys, JOURNEY_COLUMNS),
        ):
            missing = [c for c in wanted if c not in table.columns]
            if missing:
                raise InvalidInput(f"journeys: the {name} table lacks {', '.join(missing)}")


def from_path_table(paths: ibis.Table) -> Journeys:
    """Journeys from aggregated paths in the ChannelAttribution format.

    Parameters
    ----------
    paths
        A table with ``path`` (channels joined by ``" > "``), ``total_conversions``,
        ``total_conversion_value`` and ``total_null``: one row per distinct path.

    Returns
    -------
    Journeys
        One journey per row of ``paths`` (its id is the row's rank once sorted by path and
        counts, from 1: unlike the order rows are read in, the same on every evaluation, so
        touches and journeys computed apart still match), with its counts
        and its ``channels`` in order; touches have no times, and the last touch of a
        converting path is its won touch.
    """
    order = [paths.path, paths.total_conversions, paths.total_conversion_value, paths.total_null]
    numbered = paths.mutate(journey_id=(ibis.row_number().over(order_by=order) + 1).cast(dt.string))
    split = numbered.mutate(channel=numbered.path.split(PATH_SEPARATOR))
    long = split.select("journey_id", "channel").unnest("channel", offset="position")
    long = long.mutate(channel=long.channel.strip(), step=(long.position + 1).cast(dt.int64))
    sizes = long.group_by("journey_id").aggregate(n_steps=long.step.max())
    numbered = numbered.mutate(
        channels=numbered.path.split(PATH_SEPARATOR).map(lambda c: c.strip())
    )
    journeys = numbered.join(sizes, "journey_id").select(
        "journey_id",
        "n_steps",
        conversions=numbered.total_conversions.cast(dt.float64),
        value=numbered.total_conversion_value.cast(dt.float64),
        nulls=numbered.total_null.cast(dt.float64),
        converted_at=ibis.null(dt.timestamp),
        channels=numbered.channels,
    )
    touches = long.join(journeys.select("journey_id", "n_steps", "conversions"), "journey_id")
    touches = touches.select(
        "journey_id",
        "step",
        "channel",
        touch_at=ibis.null(dt.timestamp),
        is_lead_touch=ibis.literal(False),
        is_opportunity_touch=ibis.literal(False),
        is_won_touch=(touches.step == touches.n_steps) & (touches.conversions > 0),
    )
    return Journeys(touches=touches, journeys=journeys)


def read_paths(path: Path, backend: BaseBackend | None = None) -> Journeys:
    """Journeys from a ChannelAttribution path file (`;`-separated, one row per path).

    Parameters
    ----------
    path
        The CSV file.
    backend
        The DuckDB backend to read it into; a new in-memory one when left out.
    """
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    con = backend if backend is not None else ibis.duckdb.connect()
    table = con.read_csv(path, delim=";", header=True)
    wanted = {"path", "total_conversions", "total_conversion_value", "total_null"}
    missing = sorted(wanted - set(table.columns))
    if missing:
        raise InvalidInput(
            f"{path}: not a path file, the columns {', '.join(missing)} are missing; "
            "expected path;total_conversions;total_conversion_value;total_null"
        )
    return from_path_table(table)
