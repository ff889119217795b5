"""Each lead's way through the lifecycle: which stages it reaches, when, and why it stops.

Channel, account fit (industry and size) and the rep's skill set the chance of each move;
dwell times are lognormal. Sales rejects some MQLs (recycled or disqualified, with a reason
code of the contract), some recycled leads come back as MQLs months later, SQLs become
opportunities (one open deal per account: the first of its committee to get there), and
deals are won or lost. Moves are drawn past the end of the window too; the bundle keeps only
those before it, so recent leads are still on their way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from numpy.typing import NDArray

from baton.demo.arrivals import Arrivals
from baton.demo.calendar import BusinessCalendar, Moments, days, seconds
from baton.demo.profiles import SEGMENTS, channel_column, column
from baton.demo.sales import (
    ACCEPT,
    DISQUALIFY,
    RECYCLE,
    Activities,
    Deals,
    Worked,
    run_deals,
    work_mqls,
)
from baton.demo.stages import MARKETING_DISQUALIFY, SQL_DISQUALIFY, SQL_RECYCLE, Stages
from baton.demo.world import Accounts, Floats, Ints, SalesOrg

MARKETING = -1  # the actor of moves no rep made


@dataclass
class Moves:
    """Stage moves, collected in any order: who moved, to which stage, when, why, by whom.

    ``subject`` is a lead's or a deal's row; ``stage`` and ``reason`` index the keys and codes
    of :class:`~baton.demo.stages.Stages`; ``actor`` is a rep's row or :data:`MARKETING`.
    """

    subject: list[Ints] = field(default_factory=list)
    stage: list[Ints] = field(default_factory=list)
    at: list[Moments] = field(default_factory=list)
    reason: list[Ints] = field(default_factory=list)
    actor: list[Ints] = field(default_factory=list)

    def add(
        self,
        subject: Ints,
        stage: int,
        at: Moments,
        *,
        reason: Ints | None = None,
        actor: Ints | int = MARKETING,
    ) -> None:
        n = subject.size
        self.subject.append(subject)
        self.stage.append(np.full(n, stage))
        self.at.append(at.astype("datetime64[s]"))
        self.reason.append(np.full(n, -1) if reason is None else reason)
        self.actor.append(np.broadcast_to(np.asarray(actor), n))

    def before(self, end: np.datetime64) -> dict[str, NDArray[np.generic]]:
        """The moves before ``end`` as arrays, ordered by subject, then time, then as added."""
        table = {f.name: np.concatenate(getattr(self, f.name)) for f in fields(self)}
        keep = table["at"] < end
        order = np.lexsort((np.arange(keep.sum()), table["at"][keep], table["subject"][keep]))
        return {name: values[keep][order] for name, values in table.items()}


@dataclass(frozen=True)
class Journeys:
    """Everything that happened to the leads: moves, deals, sales work, and who owned them."""

    moves: Moves
    deal_moves: Moves
    deals: Deals
    activities: Activities
    owner: Ints
    hand_raiser: NDArray[np.bool_]


def draw_journeys(
    rng: np.random.Generator,
    calendar: BusinessCalendar,
    stages: Stages,
    arrivals: Arrivals,
    accounts: Accounts,
    org: SalesOrg,
) -> Journeys:
    """Draw every lead's moves, the sales work on it and its deal, if any."""
    n = len(arrivals)
    lead = np.arange(n)
    rate = {
        name: channel_column(name)[arrivals.channel]
        for name in ("subscriber", "hand_raise", "mql", "sql", "opp", "win", "mql_days", "deal")
    }
    fit = accounts.fit[arrivals.account]
    segment = accounts.segment[arrivals.account]
    rep = accounts.owner[arrivals.account]
    created = arrivals.created
    moves, deal_moves = Moves(), Moves()

    subscriber = (
        rng.random(n) < rate["subscriber"] if stages.subscriber is not None else np.zeros(n, bool)
    )
    is_lead = ~subscriber | (rng.random(n) < 0.55)
    lead_at = created + np.where(
        subscriber, days(rng.lognormal(np.log(20), 0.8, n)), np.timedelta64(0, "s")
    )
    if stages.subscriber is not None:
        moves.add(lead[subscriber], stages.subscriber, created[subscriber])
    moves.add(lead[is_lead], stages.lead, lead_at[is_lead])

    mql = is_lead & (rng.random(n) < np.clip(rate["mql"] * np.sqrt(fit), 0, 0.95))
    hand = mql & ~subscriber & (rng.random(n) < rate["hand_raise"])
    waited = np.where(
        hand, seconds(rng.uniform(60, 900, n)), days(rng.lognormal(np.log(rate["mql_days"]), 1.0))
    )
    mql_at = lead_at + waited
    moves.add(lead[mql], stages.mql, mql_at[mql])
    junk = is_lead & ~mql & (rng.random(n) < 0.07)
    moves.add(
        lead[junk],
        stages.disqualified,
        lead_at[junk] + days(rng.lognormal(np.log(9), 0.7, junk.sum())),
        reason=stages.draw_reasons(rng, int(junk.sum()), MARKETING_DISQUALIFY),
    )

    accept = np.clip(rate["sql"] * fit * np.where(hand, 1.2, 1.0), 0, 0.95)
    sql_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")

    def work(who: Ints, since: Moments, chance: Floats, cycle: int) -> Worked:
        """Sales works the MQLs ``who``; their decisions are logged, SQL times noted."""
        worked = work_mqls(
            rng, calendar, stages, lead=who, mql_at=since, rep=rep[who], speed=org.speed,
            accept=chance, cycle=cycle,
        )  # fmt: skip
        _record_decisions(moves, stages, who, rep[who], worked, sql_at)
        return worked

    first = lead[mql]
    worked = work(first, mql_at[first], accept[first], 1)
    # some recycled leads warm up again and come back as MQLs months later
    returns = (worked.outcome == RECYCLE) & (rng.random(first.size) < 0.22)
    back = first[returns]
    again = worked.decided[returns] + days(rng.lognormal(np.log(75), 0.5, back.size))
    moves.add(back, stages.mql, again)
    second = work(back, again, accept[back] * 0.7, 2)

    sql = ~np.isnat(sql_at)
    cycle = column(SEGMENTS, 5)[segment]
    wants = sql & (rng.random(n) < np.clip(rate["opp"] * fit, 0, 0.95))
    opp_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    opp_at[wants] = calendar.add_days(sql_at[wants], rng.lognormal(np.log(cycle[wants] / 8), 0.6))
    opened = _first_per_account(lead[wants], arrivals.account, opp_at)
    # SQLs that do not become deals: dropped later with a reason, or still talking
    dropped = lead[sql & ~wants]
    fate = rng.choice([RECYCLE, DISQUALIFY, -1], size=dropped.size, p=[0.5, 0.2, 0.3])
    dropped_at = calendar.add_days(sql_at[dropped], rng.lognormal(np.log(21), 0.6, dropped.size))
    for outcome, stage, weights in (
        (RECYCLE, stages.recycled, SQL_RECYCLE),
        (DISQUALIFY, stages.disqualified, SQL_DISQUALIFY),
    ):
        who = fate == outcome
        moves.add(
            dropped[who],
            stage,
            dropped_at[who],
            reason=stages.draw_reasons(rng, int(who.sum()), weights),
            actor=rep[dropped[who]],
        )

    moves.add(opened, stages.opportunity, opp_at[opened], actor=rep[opened])
    deals = run_deals(
        rng,
        calendar,
        stages,
        lead=opened,
        rep=rep[opened],
        opened=opp_at[opened],
        win=np.clip(rate["win"][opened] * fit[opened] * org.skill[rep[opened]], 0, 0.9),
        cycle_days=cycle[opened],
        amount=rate["deal"][opened] * column(SEGMENTS, 3)[segment[opened]],
    )
    _record_deals(moves, deal_moves, calendar, stages, deals)
    return Journeys(
        moves=moves,
        deal_moves=deal_moves,
        deals=deals,
        activities=Activities.concat([worked.activities, second.activities, deals.activities]),
        owner=rep,
        hand_raiser=hand,
    )


def _record_decisions(
    moves: Moves, stages: Stages, lead: Ints, rep: Ints, worked: Worked, sql_at: Moments
) -> None:
    """Log sales' decision on each worked MQL; note when the accepted ones became SQLs."""
    for outcome, stage in (
        (ACCEPT, stages.sql),
        (RECYCLE, stages.recycled),
        (DISQUALIFY, stages.disqualified),
    ):
        who = worked.outcome == outcome
        reason = None if outcome == ACCEPT else worked.reason[who]
        moves.add(lead[who], stage, worked.decided[who], reason=reason, actor=rep[who])
    accepted = worked.outcome == ACCEPT
    sql_at[lead[accepted]] = worked.decided[accepted]


def _first_per_account(lead: Ints, account: Ints, at: Moments) -> Ints:
    """Of ``lead``, the first of each account to reach ``at``: one open deal per account."""
    order = lead[np.lexsort((at[lead], account[lead]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = account[order][1:] != account[order][:-1]
    return np.sort(order[first])


def _record_deals(
    moves: Moves, deal_moves: Moves, calendar: BusinessCalendar, stages: Stages, deals: Deals
) -> None:
    """Log each deal's pipeline moves and what its close does to the lead."""
    row = np.arange(deals.lead.size)
    for order, stage in enumerate(stages.open_deal):
        was = ~np.isnat(deals.entered[:, order])
        deal_moves.add(row[was], stage, deals.entered[was, order], actor=deals.rep[was])
    won, lost = deals.won, ~deals.won
    deal_moves.add(row[won], stages.won, deals.closed[won], actor=deals.rep[won])
    deal_moves.add(
        row[lost], stages.lost, deals.closed[lost], reason=deals.reason[lost], actor=deals.rep[lost]
    )
    moves.add(deals.lead[won], stages.customer, deals.closed[won], actor=deals.rep[won])
    # a lost deal sends its lead back to marketing, with the loss reason
    moves.add(
        deals.lead[lost],
        stages.recycled,
        calendar.add_hours(deals.closed[lost], 1.0),
        reason=deals.reason[lost],
        actor=deals.rep[lost],
    )
