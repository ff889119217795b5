"""Who is in the simulated market: the sales teams and reps, and the accounts buying from them.

Everything is drawn as whole arrays from one :class:`numpy.random.Generator`, so the same seed
gives the same world.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from baton.demo.profiles import (
    COMMITTEE,
    COUNTRIES,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    NAME_ENDINGS,
    NAME_NOUNS,
    NAME_ROOTS,
    SEGMENTS,
    TEAMS,
    TITLES,
    column,
)

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]
Texts = NDArray[np.object_]


def texts(values: tuple[str, ...] | list[str]) -> Texts:
    """An object array of strings, which numpy indexes and concatenates elementwise."""
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def or_none(keep: NDArray[np.bool_], values: Texts) -> Texts:
    """``values`` where ``keep``, ``None`` elsewhere."""
    out = values.copy()
    out[~keep] = None
    return out


def pick_within(rng: np.random.Generator, group: Ints, first: Ints, count: Ints) -> Ints:
    """For each row, a uniform pick among the ``count[group]`` options starting at ``first[group]``.

    Groups with no options give ``-1``.
    """
    n = count[group]
    picked = first[group] + np.floor(rng.random(len(group)) * n).astype(np.int64)
    return np.where(n > 0, picked, -1)


@dataclass(frozen=True)
class SalesOrg:
    """Teams by segment, each with a manager and reps who differ in speed and skill.

    ``speed`` is a rep's median business hours from MQL to first touch; ``skill`` scales the
    chance that their deals are won.
    """

    team_keys: tuple[str, ...]
    managers: Texts  # external id of each team's manager
    rep_ids: Texts
    rep_names: Texts
    rep_team: Ints
    speed: Floats
    skill: Floats
    manager_names: Texts

    @property
    def team_first(self) -> Ints:
        """Index of each team's first rep (reps are ordered by team)."""
        return np.searchsorted(self.rep_team, np.arange(len(self.team_keys))).astype(np.int64)

    @property
    def team_size(self) -> Ints:
        return np.bincount(self.rep_team, minlength=len(self.team_keys)).astype(np.int64)


def draw_sales_org(rng: np.random.Generator) -> SalesOrg:
    """Three teams (SMB, mid-market, enterprise) of 3 to 5 reps and a manager each."""
    reps = np.array([t[4] for t in TEAMS])
    people = len(TEAMS) + int(reps.sum())
    first = texts(FIRST_NAMES)[rng.choice(len(FIRST_NAMES), people, replace=False)]
    last = texts(LAST_NAMES)[rng.choice(len(LAST_NAMES), people, replace=False)]
    names = first + " " + last
    rep_team = np.repeat(np.arange(len(TEAMS)), reps).astype(np.int64)
    # enterprise reps juggle bigger accounts and answer more slowly
    slow = np.array([1.0, 1.1, 1.5])[rep_team]
    speed = np.round(rng.lognormal(np.log(1.4), 0.75, rep_team.size) * slow, 2)
    skill = np.round(np.clip(rng.normal(1.0, 0.12, rep_team.size), 0.75, 1.25), 2).astype(
        np.float64
    )
    return SalesOrg(
        team_keys=tuple(t[0] for t in TEAMS),
        managers=texts([f"mgr-{t[0]}" for t in TEAMS]),
        manager_names=names[: len(TEAMS)],
        rep_ids=texts([f"rep-{i + 1:02d}" for i in range(rep_team.size)]),
        rep_names=names[len(TEAMS) :],
        rep_team=rep_team,
        speed=speed,
        skill=skill,
    )


@dataclass(frozen=True)
class Accounts:
    """Companies in the market, each with a buying committee of 1 to 5 people who become leads."""

    name: Texts
    domain: Texts
    industry: Ints
    country: Ints
    employees: Ints
    revenue: Floats
    segment: Ints
    fit: Floats
    owner: Ints  # index of the rep who owns the account
    committee: Ints  # how many of its people become leads

    def __len__(self) -> int:
        return len(self.name)


def draw_accounts(rng: np.random.Generator, leads: int, org: SalesOrg) -> Accounts:
    """Enough accounts for ``leads`` people, with names, domains, firmographics and an owner."""
    sizes = rng.choice(np.arange(1, COMMITTEE.size + 1), size=leads, p=COMMITTEE)
    total = np.cumsum(sizes)
    n = int(np.searchsorted(total, leads)) + 1
    sizes = sizes[:n].astype(np.int64)
    sizes[-1] -= int(total[n - 1]) - leads

    shape = (len(NAME_ROOTS), len(NAME_ENDINGS), len(NAME_NOUNS))
    pool = int(np.prod(shape))
    order = rng.permutation(pool)[np.arange(n) % pool]
    root, ending, noun = np.unravel_index(order, shape)
    repeat = np.arange(n) // pool
    suffix = np.where(repeat > 0, repeat.astype(str), "").astype(object)
    stem = texts(NAME_ROOTS)[root] + texts(NAME_ENDINGS)[ending]
    industry = rng.choice(len(INDUSTRIES), size=n, p=column(INDUSTRIES, 1)).astype(np.int64)
    country = rng.choice(len(COUNTRIES), size=n, p=column(COUNTRIES, 1)).astype(np.int64)
    tld = texts([c[2] for c in COUNTRIES])[country]
    lower = texts([w.lower() for w in NAME_NOUNS])
    employees = np.clip(np.round(rng.lognormal(np.log(150), 1.7, n)), 5, 80_000).astype(np.int64)
    segment = (np.searchsorted(column(SEGMENTS, 2), employees, side="right") - 1).astype(np.int64)
    revenue = np.round(employees * column(INDUSTRIES, 3)[industry] * rng.lognormal(0, 0.3, n), -3)
    fit = column(INDUSTRIES, 2)[industry] * column(SEGMENTS, 4)[segment]
    # segment i is worked by team i
    owner = pick_within(rng, segment, org.team_first, org.team_size)
    return Accounts(
        name=stem + " " + texts(NAME_NOUNS)[noun] + suffix,
        domain=np.char.lower(stem.astype(str)).astype(object) + lower[noun] + suffix + "." + tld,
        industry=industry,
        country=country,
        employees=employees,
        revenue=revenue,
        segment=segment,
        fit=fit,
        owner=owner,
        committee=sizes,
    )


@dataclass(frozen=True)
class People:
    """The people who become leads: names, a title that fits their committee role, an email."""

    first: Texts
    last: Texts
    title: Texts
    email: Texts


def draw_people(rng: np.random.Generator, role: Ints, domain: Texts) -> People:
    """A person per row; ``role`` is 0 for the first in the committee, 1 the buyer, 2 the rest."""
    n = role.size
    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    per_role = len(TITLES[0])
    title = texts([t for group in TITLES for t in group])[
        role * per_role + rng.integers(per_role, size=n)
    ]
    local = (
        texts([_ascii(f) for f in FIRST_NAMES])[first]
        + "."
        + texts([_ascii(s) for s in LAST_NAMES])[last]
    )
    return People(
        first=texts(FIRST_NAMES)[first],
        last=texts(LAST_NAMES)[last],
        title=title,
        email=local + "@" + domain,
    )


def _ascii(name: str) -> str:
    """A name as an email's local part: lower case, accents dropped."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
