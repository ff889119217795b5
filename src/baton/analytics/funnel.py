"""The funnel: how many leads reached each stage, how many went on to the next, and how fast.

Counts come from the append-only stage log, so a lead that was recycled and came back counts
once per stage, and a lead imported straight into a later stage still counts as having passed
the earlier ones (the cumulative funnel). Only main-path stages of the contract are counted
(recycled, disqualified and lost sit beside the path), in the contract's order, so renaming a
stage renames its row and nothing else.

:func:`funnel` is the full table (pairs of stages with conversion and time between them, by
cohort and breakdown); :func:`funnel_by_channel` is the plain count per channel the demo prints.
The definitions are in ``docs/metrics.md`` (Funnel conversion, Time between stages).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import ibis
from ibis import _

from baton.analytics.breakdowns import UNKNOWN, check_breakdown, lead_labels
from baton.analytics.cohorts import check_cohort, label_cohorts, with_cohort_key
from baton.analytics.period import Period
from baton.analytics.quantiles import TIME_PERCENTILES, exact_quantiles
from baton.analytics.source import Tables
from baton.contract.model import Stage
from baton.errors import InvalidInput

#: The breakdown label of the rows that count every group together.
OVERALL = "(all)"
#: Seconds in a day: times between stages are reported in days.
DAY = 86400
#: The columns of :func:`funnel` after the breakdown and cohort columns.
FUNNEL_COLUMNS = (
    "step",
    "stage",
    "next_stage",
    "entered",
    "converted",
    "conversion",
    "timed",
    *TIME_PERCENTILES,
)
__all__ = ["DAY", "FUNNEL_COLUMNS", "OVERALL", "UNKNOWN", "funnel", "funnel_by_channel"]


def funnel_by_channel(
    stage_changes: ibis.Table,
    leads: ibis.Table,
    stages: Sequence[Stage],
    *,
    cumulative: bool = True,
) -> ibis.Table:
    """Leads reaching each stage and the conversion to the next, per channel and overall.

    Parameters
    ----------
    stage_changes
        The stage log (``subject``, ``subject_id``, ``to_stage``); only lead moves are read.
    leads
        Leads (``id``, ``channel``); a lead with no channel counts under :data:`UNKNOWN`.
    stages
        The main-path stages in funnel order, usually ``contract.main_path()``.
    cumulative
        If true, a lead reached a stage when it entered it or any stage after it on the path;
        if false, only when it entered that stage itself.

    Returns
    -------
    ibis.Table
        One row per channel and stage, plus the rows of channel :data:`OVERALL`:
        ``channel``, ``step`` (0 for the first stage), ``stage``, ``reached``, ``next_stage``,
        ``converted`` (leads that reached the next stage; null on the last one) and
        ``conversion`` (``converted / reached``; null when nothing reached the stage).
        Ordered by channel and step.
    """
    keys = [s.key for s in stages]
    if not keys:
        raise ValueError("the funnel needs at least one stage")
    moves = stage_changes.filter((_.subject == "lead") & _.to_stage.isin(keys))
    step = moves.to_stage.cases(*((key, i) for i, key in enumerate(keys)))
    if cumulative:
        # a lead reached every stage up to the furthest one it entered: one max per lead
        per_lead = moves.group_by(lead_id=moves.subject_id).aggregate(step=step.max())
    else:
        per_lead = moves.select(lead_id=moves.subject_id, step=step).distinct()
    joined = per_lead.join(leads, per_lead.lead_id == leads.id)
    # leads per channel and step: a few rows per channel, all the rest works on these
    counted = joined.group_by(
        channel=leads.channel.fill_null(UNKNOWN), step=per_lead.step
    ).aggregate(n=_.count())
    counted = counted.union(
        counted.group_by("step")
        .aggregate(n=_.n.sum())
        .mutate(channel=ibis.literal(OVERALL))
        .select("channel", "step", "n")
    )
    # every (channel, stage) pair: a lead counts at a stage when its furthest step is at or
    # past it (or exactly it, when not cumulative); six literal rows, joined to a few per channel
    steps = ibis.memtable(
        {
            "at": list(range(len(keys))),
            "stage": keys,
            "next_stage": [*keys[1:], None],
        },
        schema={"at": "int64", "stage": "string", "next_stage": "string"},
    )
    pairs = counted.cross_join(steps)
    counts = (pairs.step >= pairs.at) if cumulative else (pairs.step == pairs.at)
    reached = pairs.group_by(
        "channel", step=pairs.at, stage=pairs.stage, next_stage=pairs.next_stage
    ).aggregate(
        # 1/0 rather than a cast: PostgreSQL casts booleans to int4 but not to int8; the cast
        # keeps DuckDB's sums (128-bit) ordinary integers
        reached=counts.ifelse(pairs.n, 0).sum().cast("int64")
    )
    following = ibis.window(group_by=reached.channel, order_by=reached.step)
    long = reached.mutate(converted=reached.reached.lead().over(following))
    return long.select(
        "channel",
        "step",
        "stage",
        "reached",
        "next_stage",
        "converted",
        conversion=long.converted.cast("float64") / long.reached.nullif(0).cast("float64"),
    ).order_by("channel", "step")


def funnel(
    tables: Tables,
    stages: Sequence[Stage],
    *,
    by: str | None = None,
    cohort: str | None = None,
    period: Period | None = None,
    zone: ZoneInfo | None = None,
    only: Sequence[str] | None = None,
) -> ibis.Table:
    """Conversion and time between each pair of consecutive stages, by cohort and breakdown.

    A lead *reached* a stage at the first moment it entered that stage or any later stage of
    ``stages``. For each pair of consecutive stages ``A → B``: ``entered`` counts the leads
    that reached ``A``; ``converted`` those of them that reached ``B`` (when ``B`` was
    skipped, reaching a later stage counts); the time is ``reached B - reached A`` in days,
    over converted leads that entered ``A`` itself when they first reached it (``timed``);
    a lead that jumped over ``A`` spent no time there and is left out of the times only.

    Parameters
    ----------
    tables
        The store's tables (stage log, leads, and what the breakdown reads).
    stages
        The main path in funnel order, usually ``contract.main_path()``.
    by
        A breakdown of :data:`baton.analytics.breakdowns.BREAKDOWNS` (``channel``,
        ``campaign``, ``segment``, ``team``, ``owner``); adds rows labelled :data:`OVERALL`.
    cohort
        ``week``, ``month`` or ``quarter``: group leads by the local period in which they
        reached the pair's first stage (see :mod:`baton.analytics.cohorts`).
    period
        Keep only leads that reached the pair's first stage within it.
    zone
        The time zone of the cohorts; by default the period's, else UTC.
    only
        Keys of the stages to pair up, a subset of ``stages`` in order (``["mql",
        "customer"]`` gives the one pair MQL → customer); all of them by default. Reaching a
        stage still counts entering any later stage of ``stages``.

    Returns
    -------
    ibis.Table
        Columns: the breakdown (named ``by``) if any, ``cohort`` if any, then
        :data:`FUNNEL_COLUMNS`: ``step`` (0 for the first pair), ``stage``, ``next_stage``,
        ``entered``, ``converted``, ``conversion`` (null when nothing entered), ``timed`` and
        ``median_days``, ``p75_days``, ``p90_days`` (null when nothing was timed; quantiles by
        linear interpolation, see :mod:`baton.analytics.quantiles`). Every group has a row for
        every pair. Ordered by breakdown, cohort and step.
    """
    path = [s.key for s in stages]
    shown = _shown(path, only)
    rows = _pair_rows(tables.stage_changes, path, shown)
    span: tuple[int, int] | None = None
    if period is not None:
        start, end = (calendar.timegm(b.timetuple()) for b in period.bounds())
        span = (start, end)
        rows = rows.filter((rows.start_s >= start) & (rows.start_s < end))
    dims: list[str] = []
    if cohort is not None:
        local = zone or (period.zone if period else ZoneInfo("UTC"))
        kind = check_cohort(cohort)
        rows = with_cohort_key(
            rows, at="start", seconds="start_s", kind=kind, zone=local, within=span
        )
        dims.append("cohort")
    if by is not None:
        labels = lead_labels(tables, check_breakdown(by))
        rows = rows.join(labels, "lead_id")
        rows = rows.union(rows.mutate(**{by: ibis.literal(OVERALL)}).select(rows.columns))
        dims.insert(0, by)
    keys = [*dims, "step"]
    rows = rows.mutate(
        duration=((rows.stop_s.notnull()) & (rows.own_s == rows.start_s)).ifelse(
            rows.stop_s - rows.start_s, ibis.null("int64")
        )
    )
    also = {"entered": _.count(), "converted": _.stop_s.notnull().ifelse(1, 0).sum()}
    stats = exact_quantiles(rows, "duration", keys, TIME_PERCENTILES, unit=DAY, also=also)
    out = _grid(stats, dims, shown).left_join(stats, keys)
    entered = out.entered.fill_null(0)
    table = out.select(
        *dims,
        step=out.step,
        stage=out.stage,
        next_stage=out.next_stage,
        entered=entered,
        converted=out.converted.fill_null(0),
        conversion=out.converted.cast("float64") / entered.nullif(0).cast("float64"),
        timed=out.n.fill_null(0),
        **{name: out[name] for name in TIME_PERCENTILES},
    )
    # labels sort like their periods
    return (label_cohorts(table, cohort) if cohort is not None else table).order_by(*keys)


def _shown(path: list[str], only: Sequence[str] | None) -> list[str]:
    shown = list(only) if only else path
    unknown = [k for k in shown if k not in path]
    if unknown:
        raise InvalidInput(
            f"{', '.join(unknown)}: not on the funnel's path; use stages of: {', '.join(path)}"
        )
    if len(shown) < 2 or [k for k in path if k in shown] != shown:  # also refuses repeats
        raise InvalidInput(
            f"the funnel needs two or more different stages in path order ({' → '.join(path)}); "
            f"got {', '.join(shown) or 'none'}"
        )
    return shown


def _pair_rows(stage_changes: ibis.Table, path: list[str], shown: list[str]) -> ibis.Table:
    """One row per lead and pair it entered: when it reached the pair's first stage (``start``;
    ``start_s`` in whole epoch seconds), first entered that stage itself (``own_s``) and
    reached the second (``stop_s``, null if it did not)."""
    log = stage_changes
    moves = log.filter((log.subject == "lead") & log.to_stage.isin(path))
    never = ibis.null("timestamp")
    firsts = {}
    for j, key in enumerate(shown):
        later = path[path.index(key) :]
        firsts[f"r{j}"] = moves.to_stage.isin(later).ifelse(moves.at, never).min()
        if j < len(shown) - 1:
            firsts[f"e{j}"] = (moves.to_stage == key).ifelse(moves.at, never).min()
    per_lead = moves.group_by(lead_id=moves.subject_id).aggregate(**firsts)
    parts = []
    for j in range(len(shown) - 1):
        reached = per_lead[f"r{j}"]
        parts.append(
            per_lead.filter(reached.notnull()).select(
                "lead_id",
                step=ibis.literal(j, "int64"),
                start=reached,
                start_s=_seconds(reached),
                own_s=_seconds(per_lead[f"e{j}"]),
                stop_s=_seconds(per_lead[f"r{j + 1}"]),
            )
        )
    return ibis.union(*parts)


def _seconds(moment: ibis.TimestampValue) -> ibis.IntegerValue:
    """Whole epoch seconds; the floor makes every backend drop fractions the same way."""
    return moment.epoch_seconds().floor().cast("int64")


def _grid(stats: ibis.Table, dims: list[str], shown: list[str]) -> ibis.Table:
    """Every group (breakdown and cohort seen in ``stats``) with every pair of stages."""
    count = {"_n": stats.count()}
    groups = stats.group_by(dims).aggregate(**count) if dims else stats.aggregate(**count)
    return ibis.union(
        *(
            groups.select(
                *dims,
                step=ibis.literal(j, "int64"),
                stage=ibis.literal(shown[j], "string"),
                next_stage=ibis.literal(shown[j + 1], "string"),
            )
            for j in range(len(shown) - 1)
        )
    )
