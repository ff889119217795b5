"""Stuck items: leads waiting in a stage longer than the contract allows.

The contract's ``[stuck_after_days]`` gives, per lifecycle stage, how many days a lead may
wait there. A lead is stuck at a moment ``as_of`` when the stage it was in at that moment is
one of those and it entered that stage more than that many days (calendar days, as 24-hour
periods) before ``as_of``. The stage a lead was in, and since when, come from the stage log: its
latest move at or before ``as_of`` (so a past ``as_of`` sees the stages of that day, and
``as_of`` = now sees ``leads.stage``); two moves at the same moment are told apart by the
order they were logged in. A lead that left and came back counts from its latest entry.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping

import ibis

from baton.analytics.breakdowns import UNKNOWN
from baton.analytics.source import Tables
from baton.analytics.timing import Moment
from baton.errors import InvalidInput

DAY = 86400
#: The columns of :func:`stuck_leads`.
STUCK_COLUMNS = (
    "lead_id", "external_id", "email", "owner", "stage", "entered_at", "days_in_stage",
    "stuck_after_days",
)


def stuck_leads(tables: Tables, thresholds: Mapping[str, int], as_of: Moment) -> ibis.Table:
    """Leads in a stage longer than its threshold at ``as_of``, longest wait first.

    Parameters
    ----------
    tables
        The store's tables (stage log, leads, users).
    thresholds
        Days a lead may wait per stage key, usually ``contract.stuck_after_days``.
    as_of
        The moment to judge at: an aware datetime, or a naive one in UTC, or a timestamp
        parameter (naive UTC; ``ibis.param("timestamp")``), whose value is given when the
        query runs: its SQL is then the same at every moment.

    Returns
    -------
    ibis.Table
        :data:`STUCK_COLUMNS`: the lead's ``lead_id``, ``external_id``, ``email``, ``owner``
        (the owner's name, :data:`~baton.analytics.breakdowns.UNKNOWN` without one),
        ``stage``, ``entered_at`` (naive UTC), ``days_in_stage`` (float) and the stage's
        ``stuck_after_days``. Ordered by ``days_in_stage`` descending, then lead id.
    """
    bad = {k: v for k, v in thresholds.items() if v < 0}
    if bad:
        raise InvalidInput(f"stuck_after_days must not be negative: {bad}")
    now: int | ibis.IntegerValue
    if isinstance(as_of, dt.datetime):
        now = calendar.timegm(as_of.utctimetuple())  # a naive one is read as UTC
    else:
        now = as_of.epoch_seconds().floor().cast("int64")
    log = tables.stage_changes
    moves = log.filter(log.subject == "lead").select(
        lead_id=log.subject_id, stage=log.to_stage, entered_at=log.at, logged=log.id,
        entered_s=log.at.epoch_seconds().floor().cast("int64"),
    )
    moves = moves.filter(moves.entered_s <= now)
    latest = moves.mutate(
        _n=ibis.row_number().over(
            group_by=moves.lead_id, order_by=[ibis.desc(moves.entered_s), ibis.desc(moves.logged)]
        )
    )
    current = latest.filter(latest._n == 0)
    limits = [(current.stage == key, ibis.literal(n, "int64")) for key, n in thresholds.items()]
    limit = ibis.cases(*limits) if limits else ibis.null("int64")
    waited = current.mutate(stuck_after_days=limit, waited_s=now - current.entered_s)
    over = waited.waited_s > waited.stuck_after_days * DAY
    stuck = waited.filter(waited.stuck_after_days.notnull() & over)
    leads = tables.leads.select(
        lead=tables.leads.id, external_id=tables.leads.external_id, email=tables.leads.email,
        owner_id=tables.leads.owner_id,
    )
    users = tables.users.select(user=tables.users.id, owner=tables.users.name)
    joined = stuck.join(leads, stuck.lead_id == leads.lead).left_join(
        users, leads.owner_id == users.user
    )
    return joined.select(
        "lead_id", "external_id", "email",
        owner=joined.owner.fill_null(UNKNOWN),
        stage=joined.stage,
        entered_at=joined.entered_at.cast("timestamp"),  # naive UTC on PostgreSQL too
        days_in_stage=joined.waited_s.cast("float64") / float(DAY),
        stuck_after_days=joined.stuck_after_days,
    ).order_by(ibis.desc("days_in_stage"), "lead_id")
