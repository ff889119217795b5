"""What marketing does: campaigns with monthly spend, and the touches that bring leads in.

Every channel but direct runs campaigns in three-month flights; a campaign's spend each month
follows the leads it brought (at the channel's cost per lead) on top of an always-on base.
Each lead has the touch that converted it (a form, an ad click, a badge scan), a few
anonymous visits before it that are tied to it once it is known, and nurture touches between
its arrival and its last stage move, more for leads that go further.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from baton.demo.arrivals import Arrivals, Window
from baton.demo.calendar import Moments, days
from baton.demo.profiles import CHANNELS, channel_column
from baton.demo.world import Floats, Ints, Texts, or_none, pick_within, texts

FLIGHT_MONTHS = 3
KEYS = tuple(c.key for c in CHANNELS)
#: The touch a channel makes after the first one.
FOLLOW_KIND = {
    "paid_search": "ad_click",
    "paid_social": "ad_click",
    "email": "email_click",
    "events": "webinar",
}
#: Where anonymous visits before a lead form come from, and what nurtures a known lead.
BEFORE = {
    "organic_search": 0.35,
    "direct": 0.25,
    "paid_search": 0.15,
    "paid_social": 0.15,
    "referral": 0.10,
}
NURTURE = {
    "email": 0.45,
    "paid_social": 0.20,
    "organic_search": 0.15,
    "direct": 0.10,
    "events": 0.10,
}
KEYWORDS = (
    "marketing sales alignment",
    "lead scoring software",
    "revops platform",
    "funnel analytics",
    "sla for leads",
)
CREATIVES = ("hero-cta", "sidebar", "carousel", "video", "ebook")


@dataclass(frozen=True)
class Campaigns:
    """Campaigns, one per row, and the lookup from (channel, flight) to the ones running."""

    window: Window
    flights: int
    channel: Ints
    flight: Ints
    theme: Texts

    @property
    def per_flight(self) -> Ints:
        return np.array([c.per_flight for c in CHANNELS], dtype=np.int64)

    @property
    def first(self) -> Ints:
        """Row of each channel's first campaign."""
        return (np.cumsum(self.per_flight * self.flights) - self.per_flight * self.flights).astype(
            np.int64
        )

    def __len__(self) -> int:
        return self.channel.size

    def external_ids(self) -> list[str]:
        """``cmp-<channel>-<flight>-<slot>`` per campaign, e.g. ``cmp-paid_search-03-2``."""
        slot = (
            np.arange(len(self))
            - self.first[self.channel]
            - self.flight * self.per_flight[self.channel]
        )
        return [
            f"cmp-{KEYS[c]}-{f + 1:02d}-{s + 1}"
            for c, f, s in zip(
                self.channel.tolist(), self.flight.tolist(), slot.tolist(), strict=True
            )
        ]

    def pick(self, rng: np.random.Generator, channel: Ints, at: Moments) -> Ints:
        """A campaign of ``channel`` running at ``at`` for each row; -1 where none runs."""
        flight = np.where(np.isnat(at), -1, self.window.month_index(at) // FLIGHT_MONTHS)
        running = (flight >= 0) & (flight < self.flights)
        within = pick_within(rng, channel, np.zeros(len(CHANNELS), np.int64), self.per_flight)
        row = self.first[channel] + flight * self.per_flight[channel] + within
        return np.where(running & (within >= 0), row, -1)

    def spend(self, rng: np.random.Generator, campaign: Ints, at: Moments) -> Floats:
        """Spend per campaign (rows) and month (columns), given each lead's campaign and arrival."""
        months = self.window.months
        brought = np.zeros((len(self), months))
        has = campaign >= 0
        np.add.at(brought, (campaign[has], self.window.month_index(at[has])), 1)
        running = (np.arange(months)[None, :] // FLIGHT_MONTHS) == self.flight[:, None]
        per_lead = channel_column("cost_per_lead")[self.channel][:, None]
        noise = rng.lognormal(0, 0.15, brought.shape)
        spent: Floats = np.round((brought + 4) * per_lead * noise * running, 2)
        return spent


def plan_campaigns(window: Window) -> Campaigns:
    """The campaigns each channel runs, ``per_flight`` at a time, flight after flight."""
    flights = -(-window.months // FLIGHT_MONTHS)
    rows = [
        (c, f, ch.themes[(f * ch.per_flight + j) % len(ch.themes)])
        for c, ch in enumerate(CHANNELS)
        for f in range(flights)
        for j in range(ch.per_flight)
    ]
    return Campaigns(
        window=window,
        flights=flights,
        channel=np.array([r[0] for r in rows], dtype=np.int64),
        flight=np.array([r[1] for r in rows], dtype=np.int64),
        theme=texts([r[2] for r in rows]),
    )


@dataclass(frozen=True)
class Touches:
    """Marketing touches, one per row, with the campaign (-1 for none) and UTM values."""

    lead: Ints
    at: Moments
    channel: Ints
    kind: Texts
    campaign: Ints
    source: Texts
    term: Texts
    content: Texts
    page: Texts


def draw_touches(
    rng: np.random.Generator,
    campaigns: Campaigns,
    arrivals: Arrivals,
    *,
    lead_campaign: Ints,
    hand_raiser: NDArray[np.bool_],
    last_move: Moments,
    depth: Ints,
    scale: float = 1.0,
) -> Touches:
    """Touches of every lead: visits before it, the converting touch, nurture after it.

    ``last_move`` is each lead's last main-path move before the window's end (its arrival if
    none) and ``depth`` how many main-path stages it passed; nurture falls between arrival
    and the last move, or in the 45 days after arrival for a lead that has not moved.
    ``scale`` multiplies the expected number of visits and nurture touches.
    """
    n = len(arrivals)
    created = arrivals.created
    before = np.repeat(np.arange(n), rng.poisson(1.2 * scale, n))
    before_at = created[before] - days(rng.exponential(7, before.size))
    nurture = np.repeat(np.arange(n), rng.poisson((0.8 + 1.2 * depth) * scale))
    span = np.where(last_move > created, last_move - created, days(45.0))[nurture]
    nurture_at = created[nurture] + days(rng.random(nurture.size) * (span / np.timedelta64(1, "D")))

    lead = np.concatenate([before, np.arange(n), nurture])
    at = np.concatenate([before_at, created, nurture_at])
    channel = np.concatenate(
        [_mix(rng, BEFORE, before.size), arrivals.channel, _mix(rng, NURTURE, nurture.size)]
    )
    converting = np.concatenate(
        [np.zeros(before.size, bool), np.ones(n, bool), np.zeros(nurture.size, bool)]
    )
    keep = at < campaigns.window.end
    lead, at, channel, converting = lead[keep], at[keep], channel[keep], converting[keep]

    follow = texts([FOLLOW_KIND.get(k, "visit") for k in KEYS])[channel]
    kind = np.where(converting, texts([c.touch for c in CHANNELS])[channel], follow)
    asked = converting & hand_raiser[lead]
    kind = np.where(asked, "demo_request", kind).astype(object)
    campaign = campaigns.pick(rng, channel, at)
    campaign[converting] = lead_campaign[lead[converting]]
    paid = texts(["" if c.medium is None else c.medium for c in CHANNELS])[channel] != ""
    return Touches(
        lead=lead,
        at=at,
        channel=channel,
        kind=kind,
        campaign=campaign,
        source=_options(rng, channel, [c.sources for c in CHANNELS]),
        term=or_none(
            channel == KEYS.index("paid_search"),
            texts(KEYWORDS)[rng.integers(len(KEYWORDS), size=lead.size)],
        ),
        content=or_none(paid, texts(CREATIVES)[rng.integers(len(CREATIVES), size=lead.size)]),
        page=np.where(asked, "/demo", _options(rng, channel, [c.pages for c in CHANNELS])).astype(
            object
        ),
    )


def _mix(rng: np.random.Generator, shares: dict[str, float], size: int) -> Ints:
    """Channels drawn with the given shares."""
    p = np.array([shares.get(k, 0.0) for k in KEYS])
    return rng.choice(len(KEYS), size=size, p=p / p.sum()).astype(np.int64)


def _options(rng: np.random.Generator, channel: Ints, options: list[tuple[str, ...]]) -> Texts:
    """For each row, one of its channel's options (``None`` for a channel with none)."""
    count = np.array([len(o) for o in options], dtype=np.int64)
    flat = texts([value for group in options for value in group] + [""])
    picked = pick_within(rng, channel, np.cumsum(count) - count, count)
    return or_none(picked >= 0, flat[picked])
