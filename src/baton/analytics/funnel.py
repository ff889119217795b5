"""The funnel scoreboard: how many leads reached each stage, and how many went on to the next.

Counts come from the append-only stage log, so a lead that was recycled and came back counts
once per stage, and a lead imported straight into a later stage still counts as having passed
the earlier ones (the cumulative funnel). Only main-path stages of the contract are counted
(recycled, disqualified and lost sit beside the path), in the contract's order, so renaming a
stage renames its row and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
from ibis import _

from baton.contract.model import Stage

#: The ``channel`` of the row that counts every channel together.
OVERALL = "(all)"
#: The ``channel`` of leads with none.
UNKNOWN = "unknown"


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
    flags = {
        # 1/0 rather than a cast: PostgreSQL casts booleans to int4 but not to int8
        f"s{i}": (moves.to_stage.isin(keys[i:]) if cumulative else moves.to_stage == key)
        .ifelse(1, 0)
        .max()
        for i, key in enumerate(keys)
    }
    per_lead = moves.group_by(lead_id=moves.subject_id).aggregate(**flags)
    labelled = per_lead.join(leads, per_lead.lead_id == leads.id).select(
        channel=leads.channel.fill_null(UNKNOWN), **{name: per_lead[name] for name in flags}
    )
    sums = {name: labelled[name].sum() for name in flags}
    wide = (
        labelled.group_by("channel")
        .aggregate(**sums)
        .union(
            labelled.aggregate(**sums)
            .mutate(channel=ibis.literal(OVERALL))
            .select("channel", *flags)
        )
    )
    rows = [
        wide.select(
            channel=wide.channel,
            step=ibis.literal(i, "int64"),
            stage=ibis.literal(key, "string"),
            reached=wide[f"s{i}"],
            next_stage=ibis.literal(keys[i + 1] if i + 1 < len(keys) else None, "string"),
            converted=wide[f"s{i + 1}"] if i + 1 < len(keys) else ibis.null("int64"),
        )
        for i, key in enumerate(keys)
    ]
    long = ibis.union(*rows)
    return long.mutate(
        conversion=long.converted.cast("float64") / long.reached.nullif(0).cast("float64")
    ).order_by("channel", "step")
