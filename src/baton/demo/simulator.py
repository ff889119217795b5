"""A seeded simulator of a B2B company's funnel, as an import bundle the store can take.

:func:`simulate` draws a market (accounts and their buying committees), a sales organisation
(teams of reps who differ in speed and skill), eighteen months of leads arriving through
eight channels of different quality, what marketing and sales did with them, and the deals
that followed; then it keeps what had happened before ``end``. The same contract, seed and
arguments always give the same bundle, with the same external ids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from baton.contract.model import Contract
from baton.demo import build
from baton.demo.arrivals import Arrivals, Window, draw_arrivals
from baton.demo.calendar import BusinessCalendar, Moments
from baton.demo.journeys import Journeys, draw_journeys
from baton.demo.marketing import Campaigns, Touches, draw_touches, plan_campaigns
from baton.demo.stages import Stages
from baton.demo.world import (
    Accounts,
    Floats,
    Ints,
    People,
    SalesOrg,
    draw_accounts,
    draw_people,
    draw_sales_org,
    or_none,
)
from baton.errors import InvalidInput
from baton.ingest.records import ImportBundle, OpportunityIn

SOURCE = "demo"


@dataclass(frozen=True)
class Simulation:
    """Everything one run drew, as arrays: what both the records and the columns are built from.

    ``owner`` is each lead's owning rep (row of ``org``) or -1 before it became an MQL;
    ``moves`` are the lead moves before the window's end, ordered by lead and time.
    """

    stages: Stages
    window: Window
    org: SalesOrg
    accounts: Accounts
    arrivals: Arrivals
    people: People
    journeys: Journeys
    campaigns: Campaigns
    spend: Floats
    moves: dict[str, NDArray[np.generic]]
    touches: Touches
    score: Floats
    owner: Ints
    currency: str
    probability: dict[str, float]


def draw(
    contract: Contract,
    *,
    seed: int = 7,
    leads: int = 20_000,
    months: int = 18,
    end: dt.date,
    touches: float = 1.0,
) -> Simulation:
    """Draw ``months`` of a B2B funnel ending just before ``end``, as arrays.

    Parameters are those of :func:`simulate`; ``touches`` scales the number of marketing
    touches per lead (visits before it arrives and nurture after), 1 for the demo's usual mix.
    """
    if leads < 1 or months < 1:
        raise InvalidInput(
            f"the demo needs at least one lead and one month, not {leads} leads and {months} months"
        )
    if touches <= 0:
        raise InvalidInput(f"the touch scale must be positive, not {touches}")
    stages = Stages.from_contract(contract)
    calendar = BusinessCalendar(contract.business_hours)
    window = Window.ending(end, months, calendar)
    rng = np.random.default_rng(seed)

    org = draw_sales_org(rng)
    accounts = draw_accounts(rng, leads, org)
    arrivals = draw_arrivals(rng, window, calendar, accounts)
    people = draw_people(rng, arrivals.role, accounts.domain[arrivals.account])
    journeys = draw_journeys(rng, calendar, stages, arrivals, accounts, org)
    plan = plan_campaigns(window)
    lead_campaign = plan.pick(rng, arrivals.channel, arrivals.created)
    spend = plan.spend(rng, lead_campaign, arrivals.created)
    moves = journeys.moves.before(window.end)
    last_move, depth = _progress(moves, arrivals, stages)
    drawn_touches = draw_touches(
        rng,
        plan,
        arrivals,
        lead_campaign=lead_campaign,
        hand_raiser=journeys.hand_raiser,
        last_move=last_move,
        depth=depth,
        scale=touches,
    )
    qualified = np.zeros(len(arrivals), dtype=bool)
    qualified[moves["subject"][moves["stage"] == stages.mql]] = True
    score = _scores(rng, qualified, contract.qualification.mql.min_score)
    return Simulation(
        stages=stages,
        window=window,
        org=org,
        accounts=accounts,
        arrivals=arrivals,
        people=people,
        journeys=journeys,
        campaigns=plan,
        spend=spend,
        moves=moves,
        touches=drawn_touches,
        score=score,
        # a lead gets its account owner as owner when it becomes an MQL
        owner=np.where(qualified, journeys.owner, -1).astype(np.int64),
        currency=contract.organization.currency,
        probability={s.key: s.probability for s in contract.pipeline},
    )


def simulate(
    contract: Contract,
    *,
    seed: int = 7,
    leads: int = 20_000,
    months: int = 18,
    end: dt.date,
) -> ImportBundle:
    """Simulate ``months`` of a B2B funnel ending just before ``end``.

    Parameters
    ----------
    contract
        The contract whose stages, pipeline, reason codes and business hours the records
        follow; every history passes its lifecycle rules.
    seed
        Seed of the one :class:`numpy.random.Generator` every draw comes from.
    leads
        How many people arrive as leads (subscribers included) over the window.
    months
        Length of the window in months.
    end
        The first day after the window, usually the first day of the current month. Nothing
        dated on or after it is kept, so recent leads are still on their way.

    Returns
    -------
    ImportBundle
        Source ``demo``: teams, users, accounts, contacts, campaigns with their monthly spend,
        leads with stage histories, touchpoints, activities and opportunities.

    Raises
    ------
    InvalidInput
        When ``leads`` or ``months`` is not positive, or the contract lacks a stage or a
        move the demo needs.
    """
    sim = draw(contract, seed=seed, leads=leads, months=months, end=end)
    bundle = ImportBundle(source=SOURCE)
    bundle.teams, bundle.users = build.teams_and_users(sim.org)
    bundle.accounts = build.accounts(sim.accounts, sim.arrivals, sim.org)
    owner = or_none(sim.owner >= 0, sim.org.rep_ids[sim.owner]).tolist()
    bundle.contacts, bundle.leads = build.contacts_and_leads(
        sim.stages,
        sim.arrivals,
        sim.accounts,
        sim.people,
        sim.moves,
        owner,
        sim.score,
        sim.org,
    )
    bundle.campaigns = build.campaigns(sim.campaigns, sim.spend, sim.currency)
    bundle.spend = build.spend(sim.campaigns, sim.spend, sim.currency)
    bundle.touchpoints = build.touchpoints(sim.touches, sim.arrivals, sim.campaigns)
    bundle.opportunities = opportunities(sim)
    bundle.activities = build.activities(
        sim.journeys.activities, sim.arrivals, sim.org, sim.window.end, sim.journeys.deals.lead
    )
    bundle.files = describe(seed=seed, leads=leads, months=months, end=end)
    bundle.notes.append(
        f"simulated {leads} leads from {sim.window.first:%Y-%m-%d} to "
        f"{end - dt.timedelta(days=1):%Y-%m-%d} with seed {seed}"
    )
    return bundle


def opportunities(sim: Simulation) -> list[OpportunityIn]:
    """The deals opened before the window's end, as records."""
    return build.opportunities(
        sim.stages,
        sim.journeys,
        sim.arrivals,
        sim.accounts,
        sim.org,
        sim.probability,
        sim.currency,
        sim.window.end,
    )


def describe(*, seed: int, leads: int, months: int, end: dt.date) -> dict[str, str]:
    """The options a bundle was simulated with, as its import run records them."""
    return {"seed": str(seed), "leads": str(leads), "months": str(months), "end": end.isoformat()}


def _progress(
    moves: dict[str, NDArray[np.generic]], arrivals: Arrivals, stages: Stages
) -> tuple[Moments, Ints]:
    """Each lead's last main-path move before the end (its arrival if none) and how many it made."""
    forward = np.isin(moves["stage"], [stages.mql, stages.sql, stages.opportunity, stages.customer])
    lead = moves["subject"][forward].astype(np.int64)
    last = arrivals.created.copy()
    np.maximum.at(last, lead, moves["at"][forward])
    return last, np.bincount(lead, minlength=len(arrivals)).astype(np.int64)


def _scores(rng: np.random.Generator, scored: NDArray[np.bool_], threshold: float) -> Floats:
    """Lead scores on 0 to 100: at or above the MQL threshold for leads that became MQLs."""
    above = threshold + (100 - threshold) * 0.95 * rng.beta(2, 2, scored.size)
    below = threshold * 0.98 * rng.beta(2, 3, scored.size)
    return np.round(np.where(scored, above, below)).astype(np.float64)
