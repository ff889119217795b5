"""SLA compliance, both sides, measured on the per-MQL rows of :func:`.sla.mql_handoffs`.

Sales: the share of MQLs first touched within ``sla.sales.first_touch_hours`` business hours,
the median business hours to the first touch, attempts made and the share meeting the attempts
term, by rep or team and overall. Marketing: MQLs delivered per month against
``sla.marketing.mql_per_month``, and sales' acceptance rate against ``min_acceptance_rate``.
Business time comes from the contract's :class:`~baton.domain.business_hours.BusinessClock`,
on whole columns at once. The definitions are in ``docs/metrics.md`` under "SLA".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from baton.analytics.funnel import OVERALL
from baton.analytics.period import Period
from baton.analytics.sla import ACCEPTED, PENDING, REJECTED
from baton.analytics.timing import naive_utc, utc_times
from baton.contract.model import MarketingSLA, SalesSLA
from baton.domain.business_hours import BusinessClock
from baton.errors import InvalidInput

Grouping = Literal["rep", "team"]
GROUPINGS: dict[str, list[str]] = {"rep": ["rep", "team"], "team": ["team"]}

#: The columns of :func:`sales_compliance`, after the grouping columns.
SALES_COLUMNS = [
    "mqls", "touched", "within", "breached", "open", "within_rate", "median_hours",
    "attempts", "attempts_per_mql", "attempts_met", "attempts_missed", "attempts_open",
    "attempts_rate",
]  # fmt: skip
_SUMMED = [
    "mqls", "touched", "within", "breached", "open",
    "attempts", "attempts_met", "attempts_missed", "attempts_open",
]  # fmt: skip
# Float seconds of business time; a touch exactly on the due time is within the SLA.
_TOLERANCE = 1e-6


def judge_mqls(
    handoffs: pd.DataFrame, clock: BusinessClock, terms: SalesSLA, as_of: dt.datetime
) -> pd.DataFrame:
    """Each MQL measured against the sales SLA, as of ``as_of``.

    Parameters
    ----------
    handoffs
        The rows of :func:`baton.analytics.sla.mql_handoffs`.
    clock
        The contract's business-hours clock.
    terms
        The sales side of the SLA.
    as_of
        Aware datetime: an MQL never touched is a breach once its due time is before it.

    Returns
    -------
    pandas.DataFrame
        The input plus ``due_at`` (UTC), ``hours`` (business hours to the first touch; NaN if
        none), the flags ``touched``, ``within``, ``breached``, ``open`` (exactly one of the last
        three is set) and ``attempts_met``, ``attempts_missed``, ``attempts_open`` (exactly one).
    """
    mql_at = utc_times(handoffs["mql_at"])
    touched_at = utc_times(handoffs["first_touch_at"])
    now = np.datetime64(naive_utc(as_of), "ns")
    limit = terms.first_touch_hours * 3600
    seconds = clock.elapsed_many(mql_at, touched_at)
    due = clock.add_many(mql_at, limit)
    touched = touched_at.notna().to_numpy()
    within = touched & (seconds <= limit + _TOLERANCE)
    overdue = due < now
    window_end = pd.to_datetime(handoffs["window_end_s"], unit="s").to_numpy("datetime64[ns]")
    # An accepted MQL needs no more attempts: the term bounds the work before a recycle.
    met = (handoffs["outcome"] == ACCEPTED).to_numpy() | (
        handoffs["attempts"].to_numpy() >= terms.attempts
    )
    running = ~met & (now < window_end)
    return handoffs.assign(
        due_at=pd.to_datetime(due).tz_localize("UTC"),
        hours=seconds / 3600,
        touched=touched,
        within=within,
        breached=(touched & ~within) | (~touched & overdue),
        open=~touched & ~overdue,
        attempts_met=met,
        attempts_missed=~met & ~running,
        attempts_open=running,
    )


def sales_compliance(judged: pd.DataFrame, by: Grouping | None = "rep") -> pd.DataFrame:
    """The sales side of the SLA per rep or team, and overall.

    Parameters
    ----------
    judged
        The rows of :func:`judge_mqls`.
    by
        ``"rep"`` (the lead's owner, with the owner's team), ``"team"``, or None for the
        overall row only.

    Returns
    -------
    pandas.DataFrame
        The grouping columns, then :data:`SALES_COLUMNS`: counts of MQLs touched, within the
        SLA, breached and still open; ``within_rate`` = within / (within + breached);
        ``median_hours`` to the first touch over touched MQLs; ``attempts`` (sum) and
        ``attempts_per_mql``; MQLs meeting, missing and still inside the attempts term and
        ``attempts_rate`` = met / (met + missed). Rates are NaN when nothing was decided. The
        last row, with :data:`~baton.analytics.funnel.OVERALL` in every grouping column,
        counts everyone.
    """
    if by is not None and by not in GROUPINGS:
        raise InvalidInput(f'"{by}" is not a grouping of the SLA; use one of: rep, team')
    keys = GROUPINGS[by] if by else []
    frame = judged.assign(mqls=1, owner=judged["owner_id"].fillna(-1))
    named: dict[str, Any] = {m: (m, "sum") for m in _SUMMED} | {"median_hours": ("hours", "median")}
    parts = []
    if keys:
        ids = ["owner", *keys] if by == "rep" else keys  # two reps of one name stay apart
        groups = frame.groupby(ids, dropna=False).agg(**named).reset_index()
        groups = groups.sort_values(keys[::-1], kind="stable")  # team, then rep
        parts.append(groups.drop(columns="owner", errors="ignore"))
    whole = {m: frame[m].sum() for m in _SUMMED} | {"median_hours": frame["hours"].median()}
    parts.append(pd.DataFrame([whole | dict.fromkeys(keys, OVERALL)]))
    table = pd.concat(parts, ignore_index=True)
    table[_SUMMED] = table[_SUMMED].astype("int64")
    table["within_rate"] = _ratio(table["within"], table["within"] + table["breached"])
    table["attempts_per_mql"] = _ratio(table["attempts"], table["mqls"])
    decided = table["attempts_met"] + table["attempts_missed"]
    table["attempts_rate"] = _ratio(table["attempts_met"], decided)
    return table[[*keys, *SALES_COLUMNS]]


def _ratio(top: pd.Series, bottom: pd.Series) -> pd.Series:
    return top.astype("float64") / bottom.astype("float64").where(bottom > 0)


def mql_volume(
    handoffs: pd.DataFrame, period: Period, terms: MarketingSLA, as_of: dt.datetime
) -> pd.DataFrame:
    """MQLs delivered in each month of ``period`` against the monthly commitment.

    Parameters
    ----------
    handoffs
        The rows of :func:`baton.analytics.sla.mql_handoffs` (``mql_at``).
    period
        The reporting period; months are calendar months in its time zone.
    terms
        The marketing side of the SLA.
    as_of
        Aware datetime: a month not over by then is ``in progress``.

    Returns
    -------
    pandas.DataFrame
        ``month`` (``2026-07``), ``days`` (of the month inside the period), ``mqls``,
        ``commitment`` (``mql_per_month`` times the share of the month's days in the period),
        ``share`` (mqls / commitment; NaN for a zero commitment) and ``state``: ``met``,
        ``short``, ``in progress`` or ``not started``.
    """
    local = utc_times(handoffs["mql_at"]).dt.tz_convert(period.zone)
    counts = local.dt.strftime("%Y-%m").value_counts()
    cut = naive_utc(as_of)
    rows = []
    for month in pd.period_range(period.first, period.end - dt.timedelta(days=1), freq="M"):
        first = max(month.start_time.date(), period.first)
        end = min((month + 1).start_time.date(), period.end)
        part = Period(str(month), first, end, period.zone)
        start_at, end_at = part.bounds()
        commitment = terms.mql_per_month * part.days / month.days_in_month
        delivered = int(counts.get(str(month), 0))
        if cut < start_at:
            state = "not started"
        elif cut < end_at:
            state = "in progress"
        else:
            state = "met" if delivered >= commitment else "short"
        share = delivered / commitment if commitment else float("nan")
        rows.append((str(month), part.days, delivered, commitment, share, state))
    return pd.DataFrame(rows, columns=["month", "days", "mqls", "commitment", "share", "state"])


@dataclass(frozen=True)
class Acceptance:
    """Sales' decisions on the period's MQLs against the contract's minimum acceptance rate.

    ``rate`` is accepted / (accepted + rejected), None when nothing was decided; pending MQLs
    are not in it. ``met`` is None when the rate is.
    """

    accepted: int
    rejected: int
    pending: int
    rate: float | None
    target: float
    met: bool | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def acceptance(handoffs: pd.DataFrame, terms: MarketingSLA) -> Acceptance:
    """How many of the MQLs sales accepted, rejected or has not decided, and the rate."""
    outcome = handoffs["outcome"]
    accepted, rejected = int((outcome == ACCEPTED).sum()), int((outcome == REJECTED).sum())
    decided = accepted + rejected
    rate = accepted / decided if decided else None
    met = None if rate is None else rate >= terms.min_acceptance_rate
    return Acceptance(
        accepted, rejected, int((outcome == PENDING).sum()), rate, terms.min_acceptance_rate, met
    )
