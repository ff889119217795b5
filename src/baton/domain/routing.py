"""Routing: who gets a lead, and a reason a person can read.

:func:`route` takes a lead (its fields, its contact's and its account's), the contract's
``[routing]`` section, the reps who could take it with their state right now (open load,
today's load, capacity, weight, working now or not, out of office), the account's owner, and
the round-robin cursors of the pools; it returns a :class:`Decision`: the assignee, the rule
that placed the lead, why each rule did or did not take it, which reps were passed over and
why, and the pool's new cursor. No SQL and no clock: the service reads the state and stores
the decision, so the rules test in microseconds and a dry run replays months in seconds.

Order: the account's owner first (``owner_first``) unless inactive, out of office or already
tried for this lead; then the rules in order, the first whose conditions all hold *and* that
has a rep available; then ``[routing.default]``. Within a pool the pick is smooth weighted
round-robin (nginx's): every available rep's *current* grows by their weight, the largest
current wins (ties to the first listed) and loses the total weight of those available. Over
any run of picks among the same reps each gets leads in proportion to weight, interleaved
rather than in bursts (weights 5, 1, 1 give a a b a c a a, not a a a a a b c). Reps passed
over keep their current, so one back from leave does not receive a burst.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from baton.contract.routing import Assign, Match, Routing
from baton.contract.scoring import RECORDS

_EMPTY: Mapping[str, Any] = MappingProxyType({})
#: The ``rule`` of a decision made by account ownership, and by the default.
OWNER, DEFAULT = "owner", "default"


@dataclass(frozen=True)
class LeadView:
    """What conditions read: the lead's fields and its contact's and account's, if any.

    Each mapping holds a record's columns by name and its properties under ``"properties"``.
    """

    lead: Mapping[str, Any]
    contact: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    account: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def value(self, name: str, routing: Routing) -> Any:
        """The value of field ``name``; ``None`` when it or its record is missing."""
        if name == "territory":
            return territory_of(self, routing)
        if name == "size_band":
            return size_band_of(self.account.get("employees"), routing)
        head, dot, rest = name.partition(".")
        record, inner = (head, rest) if dot and head in RECORDS else ("lead", name)
        data = {"lead": self.lead, "contact": self.contact, "account": self.account}[record]
        properties = data.get("properties") or {}
        if inner.startswith("properties."):
            return properties.get(inner.removeprefix("properties."))
        if inner in data and inner != "properties":
            return data[inner]
        return properties.get(inner)


def territory_of(lead: LeadView, routing: Routing) -> str | None:
    """The territory whose countries include the lead's country, or else its account's."""
    for country in (lead.lead.get("country"), lead.account.get("country")):
        if not country:
            continue
        folded = str(country).strip().casefold()
        for name, countries in routing.territories.items():
            if any(folded == c.strip().casefold() for c in countries):
                return name
    return None


def size_band_of(employees: Any, routing: Routing) -> str | None:
    """The band whose lower bound is the largest one at or below ``employees``."""
    number = _number(employees)
    if number is None or not routing.size_bands:
        return None
    fitting = [(low, name) for name, low in routing.size_bands.items() if low <= number]
    return max(fitting)[1] if fitting else None


# -- conditions ------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    try:
        return float(str(value).replace(",", "").strip())
    except ValueError:
        return None


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(value, bool):
        return value is wanted or str(value).strip().casefold() == str(wanted).casefold()
    if isinstance(wanted, int | float):
        number = _number(value)
        return number is not None and number == float(wanted)
    return str(value).strip().casefold() == str(wanted).strip().casefold()


def holds(match: Match, value: Any) -> bool:
    """Whether ``value`` passes ``match``'s one test; a missing value passes only
    ``present = false``."""
    filled = value is not None and str(value).strip() != ""
    if match.present is not None:
        return filled == match.present
    if not filled:
        return False
    if match.equals is not None:
        wanted = match.equals if isinstance(match.equals, list) else [match.equals]
        return any(_same(value, w) for w in wanted)
    if match.contains is not None:
        parts = match.contains if isinstance(match.contains, list) else [match.contains]
        text = str(value).casefold()
        return any(p.casefold() in text for p in parts)
    if match.matches is not None:
        return _regex(match.matches).search(str(value)) is not None
    number = _number(value)
    if number is None:
        return False
    low_ok = match.at_least is None or number >= match.at_least
    return low_ok and (match.below is None or number < match.below)


def first_failing(lead: LeadView, conditions: Sequence[Match], routing: Routing) -> str | None:
    """``None`` when every condition holds, else the first that does not, with the value seen."""
    for match in conditions:
        value = lead.value(match.field, routing)
        if not holds(match, value):
            seen = "empty" if value is None or str(value).strip() == "" else repr(value)
            return f"{match.describe()} (it is {seen})"
    return None


def matching_pools(lead: LeadView, routing: Routing) -> list[str]:
    """Pool keys of the rules whose conditions hold, in order, and the default's: the
    round-robin cursors :func:`route` may move, so the service can lock them first."""
    pools = [f"rule:{r.key}" for r in routing.rules if first_failing(lead, r.when, routing) is None]
    return pools + (["default"] if routing.default is not None else [])


# -- reps ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """A rep who could take a lead, and their state at the moment of routing.

    ``max_open`` and ``max_per_day`` are the rep's own caps (``None``: the contract's, if any);
    ``open_load`` counts their open assignments, ``today_load`` those made today in their time
    zone. ``back_on`` is the first day after their current time off, when out of office.
    """

    user_id: int
    email: str | None
    name: str
    team: str | None = None
    weight: float = 1.0
    active: bool = True
    open_load: int = 0
    today_load: int = 0
    max_open: int | None = None
    max_per_day: int | None = None
    working_now: bool = True
    out_of_office: bool = False
    back_on: str | None = None

    @property
    def label(self) -> str:
        return self.email or self.name or f"user {self.user_id}"


@dataclass(frozen=True)
class Roster:
    """The reps routing may choose from: by id, team members by case-folded team name
    (managers left out by the service), and ids by case-folded email."""

    reps: Mapping[int, Candidate]
    teams: Mapping[str, Sequence[int]] = field(default_factory=dict)
    by_email: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, candidates: Iterable[Candidate], members: Mapping[str, Sequence[int]]) -> Roster:
        reps = {c.user_id: c for c in candidates}
        emails = {c.email.casefold(): c.user_id for c in reps.values() if c.email}
        teams = {name.casefold(): tuple(ids) for name, ids in members.items()}
        return cls(reps, teams, emails)


@dataclass(frozen=True)
class Skip:
    """A rep passed over in a pool, and why."""

    user_id: int
    rep: str
    pool: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "rep": self.rep, "pool": self.pool, "why": self.why}


@dataclass(frozen=True)
class Check:
    """What one step of the order (the owner, a rule, the default) made of the lead."""

    step: str
    matched: bool
    outcome: str

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "matched": self.matched, "outcome": self.outcome}


@dataclass(frozen=True)
class Decision:
    """Where a lead goes and why. ``assignee`` is ``None`` when nobody could take it."""

    assignee: Candidate | None
    rule: str | None
    pool: str | None
    reason: str
    checks: tuple[Check, ...] = ()
    skipped: tuple[Skip, ...] = ()
    eligible: tuple[tuple[str, float, float], ...] = ()
    cursor: Mapping[int, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The decision as JSON-ready data, as stored with it and shown by the API."""
        who = self.assignee
        return {
            "assignee": None
            if who is None
            else {"user_id": who.user_id, "email": who.email, "name": who.name, "team": who.team},
            "rule": self.rule,
            "pool": self.pool,
            "reason": self.reason,
            "checks": [c.as_dict() for c in self.checks],
            "skipped": [s.as_dict() for s in self.skipped],
            "round_robin": [
                {"rep": rep, "weight": weight, "current_before": before}
                for rep, weight, before in self.eligible
            ],
        }


def unavailable(
    rep: Candidate, routing: Routing, exclude: frozenset[int] = frozenset()
) -> str | None:
    """Why ``rep`` cannot take a lead now, or ``None`` when they can."""
    if not rep.active:
        return "inactive"
    if rep.user_id in exclude:
        return "already had this lead"
    if rep.out_of_office:
        return "out of office" + (f" until {rep.back_on}" if rep.back_on else "")
    cap = rep.max_open if rep.max_open is not None else routing.max_open_per_rep
    if cap is not None and rep.open_load >= cap:
        return f"at capacity ({rep.open_load} open leads of {cap})"
    daily = rep.max_per_day if rep.max_per_day is not None else routing.max_per_day_per_rep
    if daily is not None and rep.today_load >= daily:
        return f"reached today's cap ({rep.today_load} new leads of {daily})"
    return None


def pool_members(assign: Assign, roster: Roster) -> tuple[list[tuple[Candidate, float]], list[str]]:
    """The reps of a rule or the default, each with their weight, and what could not be found.

    Reps listed by email come first with the rule's weight; then the team's members by user
    id with their own weight (a member also listed keeps the listed weight).
    """
    members: list[tuple[Candidate, float]] = []
    notes: list[str] = []
    taken: set[int] = set()
    for share in assign.reps:
        uid = roster.by_email.get(share.email.casefold())
        if uid is None:
            notes.append(f"{share.email} is not a user in the store")
            continue
        members.append((roster.reps[uid], share.weight))
        taken.add(uid)
    if assign.team is not None:
        ids = roster.teams.get(assign.team.casefold())
        if ids is None:
            notes.append(f'no team named "{assign.team}" in the store')
        else:
            for uid in sorted(ids):
                if uid not in taken and uid in roster.reps:
                    members.append((roster.reps[uid], roster.reps[uid].weight))
                    taken.add(uid)
    return members, notes


def smooth_pick(
    members: Sequence[tuple[Candidate, float]], cursor: Mapping[int, float]
) -> tuple[Candidate, dict[int, float], tuple[tuple[str, float, float], ...]]:
    """One step of smooth weighted round-robin among ``members`` (all available).

    Returns the chosen rep, the new cursor (every rep's current, members updated) and, for the
    record, each member's label, weight and current before the step.
    """
    current = {c.user_id: cursor.get(c.user_id, 0.0) + w for c, w in members}
    total = sum(w for _, w in members)
    chosen = members[0][0]
    for c, _ in members[1:]:  # the first largest current wins: ties go to the first listed
        if current[c.user_id] > current[chosen.user_id]:
            chosen = c
    current[chosen.user_id] -= total
    new = dict(cursor)
    new.update({uid: round(value, 9) for uid, value in current.items()})
    before = tuple((c.label, w, round(cursor.get(c.user_id, 0.0), 9)) for c, w in members)
    return chosen, new, before


def route(
    lead: LeadView,
    routing: Routing,
    roster: Roster,
    cursors: Mapping[str, Mapping[int, float]],
    *,
    owner_id: int | None = None,
    exclude: frozenset[int] = frozenset(),
) -> Decision:
    """Decide who takes ``lead``.

    Parameters
    ----------
    lead
        The lead's fields and its contact's and account's.
    routing
        The contract's ``[routing]`` section.
    roster
        The reps who could take it, with their state now.
    cursors
        Round-robin cursor of each pool (``rule:<key>`` or ``default``): each rep's current.
    owner_id
        The user who owns the lead's account, if any.
    exclude
        Reps who may not take it (they already had it and let its SLA run out).

    Returns
    -------
    Decision
        The assignee (or ``None``), the step that placed the lead, a one-line reason, every
        step's outcome, the reps passed over and why, and the chosen pool's new cursor.
    """
    checks: list[Check] = []
    skipped: list[Skip] = []
    if routing.owner_first and owner_id is not None:
        owner = roster.reps.get(owner_id)
        if owner is None:
            checks.append(Check(OWNER, True, f"account owner (user {owner_id}) is not a rep here"))
        else:
            why = unavailable(owner, routing, exclude)
            # capacity does not apply to the owner: the account stays with the person who knows it
            if why is None or why.startswith(("at capacity", "reached today")):
                checks.append(Check(OWNER, True, f"assigned to the account owner {owner.label}"))
                return Decision(
                    owner,
                    OWNER,
                    None,
                    f"account owner: {owner.label} owns the lead's account",
                    tuple(checks),
                )
            skipped.append(Skip(owner.user_id, owner.label, OWNER, why))
            checks.append(Check(OWNER, True, f"account owner {owner.label} passed over: {why}"))
    steps: list[tuple[str, str, Assign, str]] = []
    for rule in routing.rules:
        failing = first_failing(lead, rule.when, routing)
        step = f"rule {rule.key}"
        if failing is not None:
            checks.append(Check(step, False, f"did not match: {failing}"))
            continue
        said = "; ".join(m.describe() for m in rule.when) or "every lead"
        label = f' "{rule.key}"' + (f" ({rule.label})" if rule.label else "")
        steps.append((rule.key, f"rule:{rule.key}", rule, f"rule{label} matched: {said}"))
    if routing.default is not None:
        taken = "no rule took the lead" if routing.rules else "no rules"
        steps.append((DEFAULT, DEFAULT, routing.default, f"default ({taken})"))
    for rule_key, pool, assign, said in steps:
        step = DEFAULT if rule_key == DEFAULT else f"rule {rule_key}"
        members, notes = pool_members(assign, roster)
        available: list[tuple[Candidate, float]] = []
        passed: list[Skip] = []
        for rep, weight in members:
            why = unavailable(rep, routing, exclude)
            if why is None:
                available.append((rep, weight))
            else:
                passed.append(Skip(rep.user_id, rep.label, pool, why))
        if routing.prefer_working_now and available:
            working = [(r, w) for r, w in available if r.working_now]
            if working and len(working) < len(available):
                passed += [
                    Skip(r.user_id, r.label, pool, "outside working hours")
                    for r, _ in available
                    if not r.working_now
                ]
                available = working
        skipped += passed
        if not available:
            why_none = "; ".join(notes) or (
                f"all {len(members)} reps unavailable" if members else "no reps"
            )
            checks.append(Check(step, True, f"matched, but nobody could take it: {why_none}"))
            continue
        chosen, cursor, before = smooth_pick(available, cursors.get(pool, {}))
        not_here = f"; {len(passed)} passed over" if passed else ""
        checks.append(
            Check(step, True, f"assigned to {chosen.label} by weighted round-robin{not_here}")
        )
        among = f"weighted round-robin among {len(available)} available of {len(members)} reps"
        detail = [f"{s.rep} ({s.why})" for s in passed]
        reason = f"{said}; {among} of {assign.describe()}" + (
            f"; passed over: {', '.join(detail)}" if detail else ""
        )
        return Decision(
            chosen, rule_key, pool, reason, tuple(checks), tuple(skipped), before, cursor
        )
    tried = "; ".join(c.outcome for c in checks if c.matched) or "no rule matched and no default"
    return Decision(
        None, None, None, f"nobody could take the lead: {tried}", tuple(checks), tuple(skipped)
    )
