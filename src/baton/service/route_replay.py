"""Use case: replay past MQLs through today's routing rules (``baton route dry-run``).

Every entry into the MQL stage in the window is routed again, in time order, with the rules of
the contract in force now and the reps in the store now, but each rep's state as it would have
been at that moment: their time off and working hours at the MQL's time, today's count from
the replay's own assignments, and their open load from the replay's assignments still open
(an assignment closes when the lead next changed stage in the real history). Round-robin
starts afresh. Nothing is written.

The report gives the leads each rep would have got and, per round-robin pool, how even that
was once weights are taken out: the ratio of the largest to the smallest load per unit of
weight among the pool's reps, and the Gini coefficient of those loads (0 is perfectly even).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from baton.contract.routing import Assign
from baton.domain.routing import Candidate, LeadView, Roster, pool_members, route
from baton.errors import InvalidInput
from baton.service.contracts import contract_in_force
from baton.store import handoff as store
from baton.store import tables as t
from baton.store.uow import UnitOfWork


@dataclass(frozen=True)
class RepLoad:
    """What one rep would have got."""

    rep: str
    team: str | None
    weight: float
    leads: int
    share: float
    by_step: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PoolFairness:
    """How evenly a round-robin pool's leads went, weights taken out."""

    pool: str
    leads: int
    reps: int
    max_min_ratio: float | None
    gini: float | None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ReplayReport:
    """The result of a dry run."""

    since: dt.datetime
    until: dt.datetime
    contract_version: int
    mqls: int
    assigned: int
    unassigned: int
    by_step: dict[str, int]
    reps: tuple[RepLoad, ...]
    pools: tuple[PoolFairness, ...]
    elapsed_ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "contract_version": self.contract_version,
            "mqls": self.mqls,
            "assigned": self.assigned,
            "unassigned": self.unassigned,
            "by_step": self.by_step,
            "reps": [r.as_dict() for r in self.reps],
            "pools": [p.as_dict() for p in self.pools],
        }


def gini(values: Sequence[float]) -> float | None:
    """Gini coefficient: mean absolute difference over twice the mean; ``None`` if all zero."""
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return None
    ordered = sorted(values)
    # sum over pairs |x_i - x_j| = 2 * sum_i (2i - n - 1) x_(i), with i from 1
    weighted = sum((2 * i - n - 1) * x for i, x in enumerate(ordered, start=1))
    return round(weighted / (n * total), 4)


def replay_routing(
    uow: UnitOfWork, *, since: dt.datetime, until: dt.datetime, now: dt.datetime
) -> ReplayReport:
    """Route every MQL entry of ``[since, until)`` again under the rules in force at ``now``."""
    if until <= since:
        raise InvalidInput(f"--until {until:%Y-%m-%d} must be after --since {since:%Y-%m-%d}")
    started = time.perf_counter()
    session = uow.session
    applied = contract_in_force(session, now)
    contract = applied.contract
    routing = contract.routing
    mql = contract.mql_stage.key
    entries = session.execute(
        select(t.StageChangeRow.subject_id, t.StageChangeRow.at)
        .where(
            t.StageChangeRow.subject == "lead",
            t.StageChangeRow.to_stage == mql,
            t.StageChangeRow.at >= since,
            t.StageChangeRow.at < until,
        )
        .order_by(t.StageChangeRow.at, t.StageChangeRow.id)
    ).all()
    lead_ids = sorted({lead for lead, _ in entries})
    changes: dict[int, list[dt.datetime]] = defaultdict(list)
    views: dict[int, tuple[LeadView, int | None]] = {}
    for chunk in _chunks(lead_ids, 5_000):
        for lead, at in session.execute(
            select(t.StageChangeRow.subject_id, t.StageChangeRow.at)
            .where(t.StageChangeRow.subject == "lead", t.StageChangeRow.subject_id.in_(chunk))
            .order_by(t.StageChangeRow.at)
        ):
            changes[lead].append(at)
        views.update(_views(session, chunk))
    base = store.load_all_reps(session, contract, now)
    ids = list(base.reps)
    avail = store.availability_of(session, ids)
    off: dict[int, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    for row in session.scalars(select(t.RepTimeOff).where(t.RepTimeOff.user_id.in_(ids))):
        off[row.user_id].append((row.starts_on, row.ends_on))
    clocks = {uid: store.rep_clock(contract, avail.get(uid)) for uid in ids}
    zones = {uid: ZoneInfo(clocks[uid].hours.timezone) for uid in ids}

    open_load: Counter[int] = Counter()
    per_day: Counter[tuple[int, dt.date]] = Counter()
    closing: list[tuple[dt.datetime, int]] = []
    cursors: dict[str, dict[int, float]] = {}
    got: Counter[int] = Counter()
    steps: dict[int, Counter[str]] = defaultdict(Counter)
    by_step: Counter[str] = Counter()
    pool_got: dict[str, Counter[int]] = defaultdict(Counter)
    unassigned = 0
    for lead_id, at in entries:
        while closing and closing[0][0] <= at:
            _, uid = heapq.heappop(closing)
            open_load[uid] -= 1
        roster = _roster_at(base, at, open_load, per_day, off, clocks, zones)
        view, owner = views[lead_id]
        decision = route(view, routing, roster, cursors, owner_id=owner)
        if decision.assignee is None:
            unassigned += 1
            by_step["(nobody)"] += 1
            continue
        uid = decision.assignee.user_id
        step = decision.rule or "?"
        got[uid] += 1
        steps[uid][step] += 1
        by_step[step] += 1
        if decision.pool is not None and decision.cursor is not None:
            cursors[decision.pool] = dict(decision.cursor)
            pool_got[decision.pool][uid] += 1
        open_load[uid] += 1
        per_day[(uid, at.astimezone(zones[uid]).date())] += 1
        later = [c for c in changes.get(lead_id, []) if c > at]
        if later:
            heapq.heappush(closing, (later[0], uid))
    assigned = sum(got.values())
    reps = tuple(
        RepLoad(
            base.reps[uid].label,
            base.reps[uid].team,
            base.reps[uid].weight,
            n,
            round(n / assigned, 4) if assigned else 0.0,
            dict(steps[uid]),
        )
        for uid, n in sorted(got.items(), key=lambda kv: (-kv[1], base.reps[kv[0]].label))
    )
    pools = tuple(
        _fairness(pool, routing_assign(routing, pool), base, pool_got[pool])
        for pool in sorted(pool_got)
    )
    return ReplayReport(
        since, until, applied.version, len(entries), assigned, unassigned, dict(by_step), reps,
        pools, round((time.perf_counter() - started) * 1000, 1),
    )


def routing_assign(routing: Any, pool: str) -> Assign | None:
    if pool == "default":
        return routing.default  # type: ignore[no-any-return]
    key = pool.removeprefix("rule:")
    return next((r for r in routing.rules if r.key == key), None)


def _fairness(pool: str, assign: Assign | None, base: Roster, got: Counter[int]) -> PoolFairness:
    members = pool_members(assign, base)[0] if assign is not None else []
    weights = {c.user_id: w for c, w in members if c.active}
    loads = [got.get(uid, 0) / w for uid, w in weights.items()]
    ratio = None
    if loads and min(loads) > 0:
        ratio = round(max(loads) / min(loads), 3)
    return PoolFairness(pool, sum(got.values()), len(weights), ratio, gini(loads))


def _roster_at(
    base: Roster,
    at: dt.datetime,
    open_load: Counter[int],
    per_day: Counter[tuple[int, dt.date]],
    off: dict[int, list[tuple[dt.date, dt.date]]],
    clocks: dict[int, Any],
    zones: dict[int, ZoneInfo],
) -> Roster:
    reps: dict[int, Candidate] = {}
    for uid, rep in base.reps.items():
        day = at.astimezone(zones[uid]).date()
        back = store.out_of_office(off.get(uid, []), day) if uid in off else None
        reps[uid] = dataclasses.replace(
            rep,
            open_load=open_load[uid],
            today_load=per_day[(uid, day)],
            working_now=clocks[uid].is_open(at),
            out_of_office=back is not None,
            back_on=back.isoformat() if back else None,
        )
    return Roster(reps, base.teams, base.by_email)


def _views(session: Any, lead_ids: Sequence[int]) -> dict[int, tuple[LeadView, int | None]]:
    leads = list(session.scalars(select(t.Lead).where(t.Lead.id.in_(lead_ids))))
    contact_ids = {x.contact_id for x in leads if x.contact_id}
    contacts = {
        c.id: c for c in session.scalars(select(t.Contact).where(t.Contact.id.in_(contact_ids)))
    }
    account_ids = {x.account_id for x in leads if x.account_id} | {
        c.account_id for c in contacts.values() if c.account_id
    }
    accounts = {
        a.id: a for a in session.scalars(select(t.Account).where(t.Account.id.in_(account_ids)))
    }
    out = {}
    for lead in leads:
        contact = contacts.get(lead.contact_id) if lead.contact_id else None
        account_id = lead.account_id or (contact.account_id if contact else None)
        account = accounts.get(account_id) if account_id else None
        view = LeadView(
            store.record_dict(lead, store.LEAD_COLUMNS),
            store.record_dict(contact, store.CONTACT_COLUMNS) if contact else {},
            store.record_dict(account, store.ACCOUNT_COLUMNS) if account else {},
        )
        out[lead.id] = (view, account.owner_id if account else None)
    return out


def _chunks(values: Sequence[int], size: int) -> list[Sequence[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
