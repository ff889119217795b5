"""Why sales sent leads back in a week: the reason codes of moves to recycled or disqualified.

A rejection is a lead's stage change into a stage of kind ``recycled`` or ``disqualified``
(``baton lead reject`` records the contract's reason code as the change's ``reason``; imports
and the lifecycle require a reason for these kinds). Counting runs in the database; one small
row per reason comes back.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract.model import Contract, StageKind

#: Kinds of stage whose entry is a rejection of the lead.
REJECTING_KINDS = (StageKind.RECYCLED, StageKind.DISQUALIFIED)
#: The reason shown for a rejection recorded without one.
NO_REASON = "(no reason)"
COLUMNS = ["reason", "label", "recycled", "disqualified", "rejections", "share"]


def rejection_counts(tables: Tables, contract: Contract, week: Period) -> ibis.Table:
    """Rejections in ``week`` per reason code and kind: ``reason``, ``kind``, ``rejections``."""
    kinds = {s.key: str(s.kind) for s in contract.stages if s.kind in REJECTING_KINDS}
    start, end = week.bounds()
    log = tables.stage_changes
    moves = log.filter(_.subject == "lead", _.to_stage.isin(list(kinds)), _.at >= start, _.at < end)
    kind = moves.to_stage.cases(*kinds.items(), else_=ibis.null("string"))
    rows = moves.select(reason=moves.reason.fill_null(NO_REASON), kind=kind)
    return rows.group_by("reason", "kind").aggregate(rejections=rows.count())


def top_rejections(
    tables: Tables, contract: Contract, week: Period, limit: int = 8
) -> pd.DataFrame:
    """The week's rejection reasons, most frequent first.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`: the reason code, its label from the contract's ``rejection_reasons``
        (the code itself when the contract does not list it), rejections to recycled and to
        disqualified stages, their sum and its share of all the week's rejections. At most
        ``limit`` rows; the rest are summed into one ``(other)`` row.
    """
    counts = tables.backend.execute(rejection_counts(tables, contract, week))
    if counts.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    wide = (
        counts.pivot_table(index="reason", columns="kind", values="rejections", aggfunc="sum")
        .reindex(columns=[str(k) for k in REJECTING_KINDS])
        .fillna(0)
        .astype("int64")
        .reset_index()
    )
    wide["rejections"] = wide[[str(k) for k in REJECTING_KINDS]].sum(axis=1)
    wide = wide.sort_values(["rejections", "reason"], ascending=[False, True], ignore_index=True)
    if len(wide) > limit:
        rest = wide.iloc[limit - 1 :]
        other = {"reason": "(other)", **{c: int(rest[c].sum()) for c in wide.columns[1:]}}
        wide = pd.concat([wide.iloc[: limit - 1], pd.DataFrame([other])], ignore_index=True)
    labels = {r.key: r.label for r in contract.rejection_reasons}
    wide["label"] = wide["reason"].map(lambda code: labels.get(code, code))
    wide["share"] = wide["rejections"] / wide["rejections"].sum()
    return wide[COLUMNS]
