"""A seeded simulator of a B2B company's funnel, as an import bundle the store can take.

:func:`simulate` draws a market (accounts and their buying committees), a sales organisation
(teams of reps who differ in speed and skill), eighteen months of leads arriving through
eight channels of different quality, what marketing and sales did with them, and the deals
that followed; then it keeps what had happened before ``end``. The same contract, seed and
arguments always give the same bundle, with the same external ids.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numpy.typing import NDArray

from baton.contract.model import Contract
from baton.demo import build
from baton.demo.arrivals import Arrivals, Window, draw_arrivals
from baton.demo.calendar import BusinessCalendar, Moments
from baton.demo.journeys import draw_journeys
from baton.demo.marketing import draw_touches, plan_campaigns
from baton.demo.stages import Stages
from baton.demo.world import (
    Floats,
    Ints,
    draw_accounts,
    draw_people,
    draw_sales_org,
    or_none,
)
from baton.errors import InvalidInput
from baton.ingest.records import ImportBundle

SOURCE = "demo"


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
    if leads < 1 or months < 1:
        raise InvalidInput(
            f"the demo needs at least one lead and one month, not {leads} leads and {months} months"
        )
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
    touches = draw_touches(
        rng,
        plan,
        arrivals,
        lead_campaign=lead_campaign,
        hand_raiser=journeys.hand_raiser,
        last_move=last_move,
        depth=depth,
    )
    qualified = np.zeros(len(arrivals), dtype=bool)
    qualified[moves["subject"][moves["stage"] == stages.mql]] = True
    score = _scores(rng, qualified, contract.qualification.mql.min_score)
    # a lead gets its account owner as owner when it becomes an MQL
    owner = or_none(qualified, org.rep_ids[journeys.owner]).tolist()

    currency = contract.organization.currency
    probability = {s.key: s.probability for s in contract.pipeline}
    bundle = ImportBundle(source=SOURCE)
    bundle.teams, bundle.users = build.teams_and_users(org)
    bundle.accounts = build.accounts(accounts, arrivals, org)
    bundle.contacts, bundle.leads = build.contacts_and_leads(
        stages,
        arrivals,
        accounts,
        people,
        moves,
        owner,
        score,
        org,
    )
    bundle.campaigns = build.campaigns(plan, spend, currency)
    bundle.spend = build.spend(plan, spend, currency)
    bundle.touchpoints = build.touchpoints(touches, arrivals, plan)
    bundle.opportunities = build.opportunities(
        stages,
        journeys,
        arrivals,
        accounts,
        org,
        probability,
        currency,
        window.end,
    )
    bundle.activities = build.activities(
        journeys.activities, arrivals, org, window.end, journeys.deals.lead
    )
    bundle.files = describe(seed=seed, leads=leads, months=months, end=end)
    bundle.notes.append(
        f"simulated {leads} leads from {window.first:%Y-%m-%d} to "
        f"{end - dt.timedelta(days=1):%Y-%m-%d} with seed {seed}"
    )
    return bundle


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
