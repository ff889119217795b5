"""The handoff of each MQL to sales, found in the database: when it came, when it was first
touched, how many attempts its owner made, and whether sales accepted it.

One MQL is one entry of a lead into the contract's MQL stage (``qualification.mql.stage``): a
lead recycled and qualified again is handed over again, and each handoff is judged on its own.
Its work runs from that entry to the lead's next entry into the MQL stage, if any.

* **First touch**: the earliest call, email or meeting by any user on the lead in that span.
* **Attempts**: calls, emails and meetings by the lead's owner in that span, up to the close of
  the N-th business day (N is ``sla.sales.attempts_within_days``). Business days are the
  working days of the contract's business hours, from :class:`BusinessClock.working_days`;
  day 1 is the first one that closes after the MQL came (an MQL on Friday evening starts on
  Monday), so ten business days after an MQL on Monday 10:00 end on Friday of the next week at
  closing time.
* **Outcome**: *accepted* if the lead then reached the SQL stage or a later main-path stage,
  *rejected* if it first moved to a stage of kind recycled or disqualified, *pending* if
  neither happened yet.

Everything up to here runs in the database; :mod:`baton.analytics.sla_report` then measures the
pulled narrow rows against the SLA with the vectorised business-hours clock.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
from ibis import _

from baton.analytics.memo import same_table
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.analytics.timing import Moment, compared
from baton.contract.model import Contract, StageKind
from baton.domain.business_hours import BusinessClock

#: Activity kinds that count as touching a lead; notes and tasks do not.
TOUCH_KINDS = ("call", "email", "meeting")
#: The outcome of an MQL, as sales decided it.
ACCEPTED, REJECTED, PENDING = "accepted", "rejected", "pending"
TOUCH = "touch"
#: The ``rep`` of MQLs whose lead has no owner, and the ``team`` of reps without one.
UNASSIGNED, NO_TEAM = "(unassigned)", "(no team)"

_DAY = 86_400
#: Later than any stage move or activity: the end of the work of an MQL no later MQL follows.
_NEVER = dt.datetime(9999, 1, 1)


def attempt_windows(
    clock: BusinessClock, days: int, start: dt.datetime, end: dt.datetime
) -> pd.DataFrame:
    """Where the attempts window of an MQL closes, for MQLs arriving on each UTC day.

    The window of an MQL at ``t`` closes at the close of working day ``f + days - 1``, where
    ``f`` is the first working day closing after ``t``. Closing times of working days are at
    least 23 hours apart, so at most two fall on one UTC day; for each UTC day ``D`` the table
    keeps the first two closing times after its midnight (``c1``, ``c2``) and the window ends
    for an MQL before ``c1``, before ``c2`` and after both (``w0``, ``w1``, ``w2``). The
    database then needs only an equality join on the day and two comparisons.

    Parameters
    ----------
    clock
        The contract's business-hours clock.
    days
        Business days in the window (``sla.sales.attempts_within_days``), at least 1.
    start, end
        Aware datetimes; the table covers every UTC day from ``start`` to ``end``.

    Returns
    -------
    pandas.DataFrame
        ``day`` (days since 1970-01-01 UTC) and ``c1``, ``c2``, ``w0``, ``w1``, ``w2`` in
        seconds since the epoch, all ``int64``.
    """
    first = int(start.timestamp()) // _DAY
    last = int(end.timestamp()) // _DAY
    midnights = np.arange(first, last + 1, dtype=np.int64) * _DAY
    span = dt.timedelta(days=days * 2 + 40)
    while True:  # holidays could push the last window past the span; widen until it fits
        upto = end + span
        closes = clock.working_days(start - dt.timedelta(days=1), upto)[1]
        seconds = closes.astype("datetime64[s]").astype(np.int64)
        k = np.searchsorted(seconds, midnights, side="right")
        if seconds.size and k.max() + days + 1 < seconds.size:
            break
        span *= 2
    return pd.DataFrame(
        {
            "day": midnights // _DAY,
            "c1": seconds[k],
            "c2": seconds[k + 1],
            "w0": seconds[k + days - 1],
            "w1": seconds[k + days],
            "w2": seconds[k + days + 1],
        }
    )


def mql_handoffs(
    tables: Tables,
    contract: Contract,
    clock: BusinessClock,
    period: Period,
    as_of: Moment,
) -> ibis.Table:
    """One row per MQL that entered the MQL stage in ``period``, up to ``as_of``.

    Parameters
    ----------
    tables
        The store's tables (stage log, leads, activities, users, teams).
    contract
        Gives the MQL and SQL stages, the stage kinds and the attempts window.
    clock
        The business-hours clock of the contract, for the attempts window.
    period
        The MQLs counted are those that entered the stage in this period.
    as_of
        Aware datetime, or a timestamp parameter (:data:`baton.analytics.timing.AS_OF`, naive
        UTC given when the query runs: the query is then the same whatever the moment, and
        compiled once); stage moves and activities after it are ignored, as if the report had
        been run then.

    Returns
    -------
    ibis.Table
        ``mql_id`` (the stage-log row), ``lead_id``, ``mql_at``, ``owner_id``, ``rep``,
        ``team``, ``first_touch_at`` (null if never touched), ``attempts``, ``window_end_s``
        (the attempts window's end, seconds since the epoch) and ``outcome`` (one of
        :data:`ACCEPTED`, :data:`REJECTED`, :data:`PENDING`).
    """
    start, end = period.bounds()
    cut = compared(as_of)
    path = [s.key for s in contract.main_path()]
    accept = path[path.index(contract.sql_stage.key) :]
    reject = [
        s.key for s in contract.stages if s.kind in (StageKind.RECYCLED, StageKind.DISQUALIFIED)
    ]

    moves = tables.stage_changes.filter(_.subject == "lead", _.at <= cut)
    entries = moves.filter(_.to_stage == contract.mql_stage.key).select(
        mql_id=_.id, lead_id=_.subject_id, mql_at=_.at
    )
    entries = entries.mutate(
        next_mql_at=entries.mql_at.lead().over(
            group_by=entries.lead_id, order_by=[entries.mql_at, entries.mql_id]
        )
    ).filter(_.mql_at >= start, _.mql_at < end)

    people = tables.users.left_join(tables.teams, tables.users.team_id == tables.teams.id).select(
        user_id=tables.users.id, rep=tables.users.name, team=tables.teams.name
    )
    owners = tables.leads.select(owned_lead=_.id, owner_id=_.owner_id)
    # the whole period's days, whatever the cut: the table (and so the query) is the same at
    # every moment, and days after the cut have no MQL to join
    windows = same_table(
        attempt_windows(
            clock,
            contract.sla.sales.attempts_within_days,
            start.replace(tzinfo=dt.UTC),
            end.replace(tzinfo=dt.UTC),
        )
    )
    seconds = entries.mql_at.epoch_seconds().cast("int64")
    dated = entries.mutate(mql_s=seconds, day=seconds // _DAY)
    base = (
        dated.join(owners, dated.lead_id == owners.owned_lead)
        .left_join(people, _.owner_id == people.user_id)
        .join(windows, dated.day == windows.day)
    )
    base = base.select(
        "mql_id",
        "lead_id",
        "mql_at",
        "next_mql_at",
        "owner_id",
        rep=base.rep.fill_null(UNASSIGNED),
        team=base.team.fill_null(NO_TEAM),
        window_end_s=ibis.cases(
            (base.mql_s < base.c1, base.w0), (base.mql_s < base.c2, base.w1), else_=base.w2
        ),
    )

    # Touches and sales' decisions as one list of events, so each MQL meets them in a single
    # join and aggregate rather than in per-MQL aggregates joined back together.
    touches = tables.activities.filter(
        _.kind.isin(TOUCH_KINDS), _.user_id.notnull(), _.lead_id.notnull(), _.occurred_at <= cut
    ).select(
        event_lead=_.lead_id.cast("int64"),
        event_at=_.occurred_at,
        event_user=_.user_id.cast("int64"),
        event=ibis.literal(TOUCH).cast("string"),
    )
    decisions = moves.filter(_.to_stage.isin(accept + reject)).select(
        event_lead=_.subject_id.cast("int64"),
        event_at=_.at,
        event_user=ibis.null("int64"),
        event=_.to_stage.isin(accept).ifelse(ACCEPTED, REJECTED).cast("string"),
    )
    events = touches.union(decisions)
    # "before the next MQL, if any" as one comparison: every event is at or before ``cut``,
    # so before _NEVER. (An OR here turns DuckDB's hash join into a nested loop, 40x slower at
    # 100k leads.)
    until = base.next_mql_at.fill_null(ibis.literal(_NEVER, "timestamp"))
    paired = base.left_join(
        events,
        (base.lead_id == events.event_lead)
        & (events.event_at >= base.mql_at)
        & (events.event_at < until),
    )
    touch = paired.event == TOUCH
    in_window = (
        touch
        & (paired.event_user == paired.owner_id)
        & (paired.event_at.epoch_seconds().cast("int64") <= paired.window_end_s)
    )
    joined = paired.group_by(
        "mql_id", "lead_id", "mql_at", "owner_id", "rep", "team", "window_end_s"
    ).aggregate(
        first_touch_at=paired.event_at.min(where=touch),
        attempts=paired.event_at.count(where=in_window),
        accepted_at=paired.event_at.min(where=paired.event == ACCEPTED),
        rejected_at=paired.event_at.min(where=paired.event == REJECTED),
    )
    accepted = joined.accepted_at.notnull() & (
        joined.rejected_at.isnull() | (joined.accepted_at <= joined.rejected_at)
    )
    return joined.select(
        "mql_id",
        "lead_id",
        "mql_at",
        "owner_id",
        "rep",
        "team",
        "first_touch_at",
        "attempts",
        "window_end_s",
        outcome=ibis.cases(
            (accepted, ACCEPTED), (joined.rejected_at.notnull(), REJECTED), else_=PENDING
        ),
    ).order_by("mql_at", "mql_id")
