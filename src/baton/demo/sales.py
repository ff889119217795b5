"""What sales does with MQLs and deals: first touches, follow-up attempts, meetings, pipeline.

Each rep has a usual speed; the first touch comes that many business hours after the MQL
(more or less), so slow reps miss the contract's first-touch SLA more often. Attempts follow
every half to two business days until the lead answers or the rep gives up after six. A deal
walks the open pipeline stages with dwell times that grow with the account's segment, and is
won or lost with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from baton.demo.calendar import BusinessCalendar, Moments, days, seconds
from baton.demo.stages import DEAL_LOSS, MQL_DISQUALIFY, MQL_RECYCLE, Stages
from baton.demo.world import Floats, Ints

ACCEPT, RECYCLE, DISQUALIFY, OPEN = range(4)
KINDS = ("call", "email", "meeting")
CALL, EMAIL, MEETING = range(3)
OUTCOMES = ("no_answer", "left_voicemail", "sent", "connected", "replied", "held")
NO_ANSWER, VOICEMAIL, SENT, CONNECTED, REPLIED, HELD = range(6)
#: Subjects of the activity logged as a deal enters each open pipeline stage, by order.
DEAL_WORK = (
    (MEETING, "Qualification call"),
    (MEETING, "Product demo"),
    (EMAIL, "Proposal sent"),
    (CALL, "Negotiation call"),
)
#: The outcome of deal work by kind: a call connects, an email is sent, a meeting is held.
DONE = np.array([CONNECTED, SENT, HELD])
MAX_ATTEMPTS = 6


@dataclass(frozen=True)
class Activities:
    """Sales activities, one per row; ``deal`` is -1 for work on a lead before any deal."""

    lead: Ints
    at: Moments
    kind: Ints
    outcome: Ints
    rep: Ints
    step: Ints  # attempt number for lead work, pipeline stage order for deal work
    cycle: Ints  # 1 for the first MQL, 2 for a recycled lead back as MQL, 0 for deal work
    deal: Ints

    @classmethod
    def concat(cls, parts: list[Activities]) -> Activities:
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__)
        )


@dataclass(frozen=True)
class Worked:
    """How sales handled a batch of MQLs: the outcome, when it was decided, why, and the work."""

    outcome: Ints
    decided: Moments
    reason: Ints
    activities: Activities


def work_mqls(
    rng: np.random.Generator,
    calendar: BusinessCalendar,
    stages: Stages,
    *,
    lead: Ints,
    mql_at: Moments,
    rep: Ints,
    speed: Floats,
    accept: Floats,
    cycle: int,
) -> Worked:
    """Work each MQL: a first touch after the rep's usual delay, attempts, then a decision.

    Accepted leads get a discovery meeting and become SQLs 45 minutes after it; rejected ones
    are recycled or disqualified with a reason; some are still being worked (``OPEN``).
    """
    n = lead.size
    accepted = rng.random(n) < accept
    outcome = np.where(
        accepted, ACCEPT, rng.choice([RECYCLE, DISQUALIFY, OPEN], size=n, p=[0.65, 0.2, 0.15])
    )
    reason = np.where(
        outcome == RECYCLE,
        stages.draw_reasons(rng, n, MQL_RECYCLE),
        np.where(outcome == DISQUALIFY, stages.draw_reasons(rng, n, MQL_DISQUALIFY), -1),
    )
    silent = (outcome == RECYCLE) & (reason == stages.reason_index("no-response"))
    tries = np.minimum(rng.geometric(np.where(accepted, 0.5, 0.6)), MAX_ATTEMPTS)
    tries = np.where(silent, MAX_ATTEMPTS, np.where(outcome == OPEN, rng.integers(1, 4, n), tries))
    answered = (outcome == ACCEPT) | ((outcome != OPEN) & ~silent)

    first = calendar.add_hours(mql_at, rng.lognormal(np.log(speed[rep]), 0.9))
    row = np.repeat(np.arange(n), tries)
    starts = np.cumsum(tries) - tries
    attempt = np.arange(row.size) - starts[row] + 1
    gaps = np.where(attempt > 1, rng.uniform(3, 14, row.size), 0.0)
    since_first = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[starts], tries)
    at = calendar.add_hours(first[row], since_first)
    kind = np.where(rng.random(row.size) < np.where(attempt == 1, 0.7, 0.5), CALL, EMAIL)
    last = attempt == tries[row]
    missed = np.where(
        kind == CALL, np.where(rng.random(row.size) < 0.5, NO_ANSWER, VOICEMAIL), SENT
    )
    result = np.where(last & answered[row], np.where(kind == CALL, CONNECTED, REPLIED), missed)

    ends = at[starts + tries - 1]
    meeting = calendar.add_hours(ends, rng.lognormal(np.log(10), 0.6, n))
    decided = np.where(
        outcome == ACCEPT,
        meeting + seconds(45 * 60),
        np.where(
            outcome == OPEN, np.datetime64("NaT"), calendar.add_hours(ends, rng.uniform(1, 16, n))
        ),
    )
    met = np.flatnonzero(accepted)
    work = Activities(
        lead=np.concatenate([lead[row], lead[met]]),
        at=np.concatenate([at, meeting[met]]),
        kind=np.concatenate([kind, np.full(met.size, MEETING)]),
        outcome=np.concatenate([result, np.full(met.size, HELD)]),
        rep=np.concatenate([rep[row], rep[met]]),
        step=np.concatenate([attempt, tries[met] + 1]),
        cycle=np.full(row.size + met.size, cycle),
        deal=np.full(row.size + met.size, -1),
    )
    return Worked(
        outcome=outcome, decided=decided.astype("datetime64[s]"), reason=reason, activities=work
    )


@dataclass(frozen=True)
class Deals:
    """Opportunities, one per row: when each open stage was entered (NaT if never) and the close."""

    lead: Ints
    rep: Ints
    entered: Moments  # shape (deals, open stages)
    closed: Moments
    won: NDArray[np.bool_]
    reason: Ints  # loss reason, -1 for won deals
    amount: Floats
    expected: Moments  # the close date the rep expects when the deal opens
    activities: Activities


def run_deals(
    rng: np.random.Generator,
    calendar: BusinessCalendar,
    stages: Stages,
    *,
    lead: Ints,
    rep: Ints,
    opened: Moments,
    win: Floats,
    cycle_days: Floats,
    amount: Floats,
) -> Deals:
    """Walk each deal through the open pipeline stages to won, or to lost at some stage.

    Reps move deals during business hours; dwell times are drawn in days.
    """
    n, k = lead.size, len(stages.open_deal)
    row = np.arange(n)
    won = rng.random(n) < win
    falls = 0.75 ** np.arange(k)
    lost_in = rng.choice(k, size=n, p=falls / falls.sum())
    reached = np.where(won, k, lost_in + 1)
    dwell = rng.lognormal(np.log(cycle_days / k)[:, None], 0.5, (n, k))
    since = np.cumsum(dwell, axis=1) - dwell
    stay = dwell[row, reached - 1] * np.where(won, 1.0, rng.uniform(0.3, 1.0, n))
    closed = calendar.add_days(opened, since[row, reached - 1] + stay)
    entered = calendar.add_days(np.repeat(opened, k), since.ravel()).reshape(n, k)
    entered = np.where(np.arange(k)[None, :] < reached[:, None], entered, np.datetime64("NaT"))
    reason = np.where(won, -1, stages.draw_reasons(rng, n, DEAL_LOSS))

    deal, step = np.nonzero(~np.isnat(entered))
    kind = np.array([DEAL_WORK[s % len(DEAL_WORK)][0] for s in range(k)], dtype=np.int64)[step]
    work = Activities(
        lead=lead[deal],
        at=entered[deal, step],
        kind=kind,
        outcome=DONE[kind],
        rep=rep[deal],
        step=step,
        cycle=np.zeros(deal.size, dtype=np.int64),
        deal=deal,
    )
    return Deals(
        lead=lead,
        rep=rep,
        entered=entered,
        closed=closed,
        won=won,
        reason=reason,
        amount=np.round(amount * rng.lognormal(0, 0.5, n), -2).clip(1_000),
        expected=opened + days(cycle_days * 1.1),
        activities=work,
    )
