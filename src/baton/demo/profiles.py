"""The simulated company's market: channels and their quality, industries, countries, names.

These numbers are the simulator's ground truth. They are set so the funnel looks like a
B2B software company's (about a third of leads become MQLs, a few percent customers) and so
channels differ the way they usually do: referrals and partners convert far better than paid
social, events bring big deals at a high cost per lead, email is cheap and middling.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

FLAT = (1.0,) * 12


@dataclass(frozen=True)
class Channel:
    """How one marketing channel behaves.

    Rates are the chance of each move for an average account; the account's fit and the
    rep's skill scale them. Days are medians of lognormal dwell times.
    """

    key: str
    label: str
    share: float  # weight among new leads
    subscriber: float  # share entering as newsletter subscribers, not yet leads
    hand_raise: float  # share of MQLs that asked for sales at once (demo request)
    mql: float  # lead -> MQL
    sql: float  # MQL -> SQL (sales accepts)
    opp: float  # SQL -> opportunity
    win: float  # opportunity -> customer
    mql_days: float  # median days from lead to MQL
    deal: float  # median deal size in the contract currency
    cost_per_lead: float  # campaign spend per lead it brings; 0 for unpaid channels
    themes: tuple[str, ...]  # campaign themes; no themes, no campaigns
    per_flight: int  # campaigns running at once
    touch: str  # the touch that turns a visitor into a lead
    medium: str | None  # utm_medium
    sources: tuple[str, ...]  # utm_source values
    pages: tuple[str, ...]  # landing pages
    season: tuple[float, ...] = FLAT  # volume by calendar month, January first


# Tables are laid out by hand, a record to a line or a few.
# fmt: off
CHANNELS: tuple[Channel, ...] = (
    Channel(
        "organic_search", "Organic search",
        0.22, 0.30, 0.15, 0.27, 0.55, 0.60, 0.26, 12, 16_000, 35,
        ("SEO content hub", "Comparison pages", "Buyer guides"), 1, "content_download",
        "organic", ("google", "bing", "duckduckgo"),
        ("/blog/funnel-metrics", "/guides/lead-scoring", "/compare"),
    ),
    Channel(
        "paid_search", "Paid search", 0.17, 0.05, 0.30, 0.34, 0.45, 0.55, 0.21, 6, 14_000, 170,
        ("Brand keywords", "Competitor keywords", "Category keywords"), 2, "ad_click", "cpc",
        ("google", "bing"), ("/lp/demo", "/lp/pricing", "/lp/alignment"),
    ),
    Channel(
        "paid_social", "Paid social", 0.16, 0.10, 0.08, 0.20, 0.36, 0.48, 0.17, 14, 11_000, 110,
        ("LinkedIn lead gen", "Retargeting", "Thought leadership"), 2, "ad_click", "paid_social",
        ("linkedin", "facebook", "twitter"), ("/lp/report-2025", "/lp/checklist", "/lp/webinar"),
        (1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 0.8, 1.1, 1.1, 1.2, 0.9),
    ),
    Channel(
        "email", "Email", 0.11, 0.50, 0.10, 0.26, 0.42, 0.50, 0.20, 10, 13_000, 20,
        ("Monthly newsletter", "Nurture track", "Product updates"), 2, "email_click", "email",
        ("newsletter", "nurture"), ("/newsletter", "/resources", "/product/updates"),
    ),
    Channel(
        "events", "Events", 0.10, 0.05, 0.20, 0.42, 0.52, 0.58, 0.24, 3, 26_000, 380,
        ("Trade show", "Webinar series", "Customer roadshow"), 2, "event_scan", "event",
        ("saastr", "webinar", "roadshow"), ("/events", "/webinars", "/events/roadshow"),
        (0.7, 0.9, 1.4, 1.5, 1.3, 0.8, 0.4, 0.4, 1.4, 1.6, 1.3, 0.5),
    ),
    Channel(
        "referral", "Referral", 0.06, 0.02, 0.45, 0.62, 0.70, 0.70, 0.36, 2, 24_000, 60,
        ("Customer referral program",), 1, "referral_visit", "referral",
        ("customer-referral", "g2", "capterra"), ("/referral", "/reviews", "/"),
    ),
    Channel(
        "partner", "Partner", 0.08, 0.05, 0.30, 0.48, 0.60, 0.65, 0.30, 4, 32_000, 140,
        ("Reseller co-marketing", "Integration partners"), 1, "partner_referral", "partner",
        ("partner-portal", "integrations"), ("/partners", "/integrations", "/lp/partner-offer"),
    ),
    Channel(
        "direct", "Direct", 0.10, 0.15, 0.35, 0.38, 0.55, 0.60, 0.27, 5, 19_000, 0,
        (), 0, "visit", None, (), ("/", "/pricing", "/demo"),
    ),
)

#: New-lead volume by calendar month (January first): slow summers and Decembers.
SEASON = np.array([1.10, 1.05, 1.15, 1.00, 1.00, 0.90, 0.75, 0.70, 1.10, 1.20, 1.05, 0.65])
#: Month-on-month growth of lead volume.
GROWTH = 0.02
#: Relative chance of a lead arriving in each hour of the day (local time).
HOURS = np.array(
    [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 10, 9, 9, 10, 10, 9, 7, 5, 4, 3, 3, 2, 1], dtype=float
)

# name, weight among accounts, fit (scales conversion), revenue per employee
INDUSTRIES = (
    ("Software", 0.20, 1.25, 250_000), ("Financial services", 0.12, 1.10, 400_000),
    ("Healthcare", 0.10, 0.95, 180_000), ("Manufacturing", 0.12, 0.85, 220_000),
    ("Retail", 0.09, 0.80, 150_000), ("Education", 0.06, 0.70, 90_000),
    ("Logistics", 0.07, 0.90, 200_000), ("Media", 0.07, 1.00, 210_000),
    ("Professional services", 0.11, 1.05, 190_000), ("Telecommunications", 0.06, 1.00, 350_000),
)
# name, weight, top-level domain
COUNTRIES = (
    ("United States", 0.42, "com"), ("United Kingdom", 0.12, "co.uk"), ("Germany", 0.09, "de"),
    ("Canada", 0.07, "ca"), ("France", 0.06, "fr"), ("Netherlands", 0.05, "nl"),
    ("Australia", 0.05, "com.au"), ("Sweden", 0.04, "se"), ("Spain", 0.04, "es"),
    ("Brazil", 0.03, "com.br"), ("India", 0.03, "in"),
)
# key, label, smallest head count, deal size factor, fit factor, median sales cycle in days
SEGMENTS = (
    ("smb", "SMB", 0, 0.45, 0.90, 30),
    ("mid", "Mid-market", 200, 1.00, 1.05, 55),
    ("ent", "Enterprise", 2000, 2.80, 1.15, 95),
)
#: Chance a buying committee has 1, 2, ... 5 people who become leads.
COMMITTEE = np.array([0.35, 0.25, 0.20, 0.12, 0.08])

NAME_ROOTS = (
    "North", "Blue", "Bright", "Iron", "Silver", "Cedar", "Maple", "Red", "Stone", "Clear",
    "Swift", "Green", "Summit", "Harbor", "Oak", "River", "Granite", "Golden", "Pine", "Sky",
    "Crest", "Ever", "True", "Nova", "Prime", "Alder", "Falcon", "Copper", "Lake", "Sun",
    "Aspen", "Coral", "Delta", "Echo", "Fern", "Hollow", "Indigo", "Juniper", "Kite", "Lumen",
    "Mesa", "Noble", "Orchid", "Pioneer", "Quartz", "Raven", "Sage", "Tidal",
)
NAME_ENDINGS = (
    "wind", "stone", "field", "bridge", "point", "line", "wave", "path", "gate", "works",
    "light", "ridge", "view", "brook", "forge", "port", "vale", "crest", "mark", "wood",
    "side", "well", "shore", "haven", "peak", "way", "land", "cliff", "moor", "dale",
    "glen", "star",
)
NAME_NOUNS = (
    "Analytics", "Systems", "Labs", "Logistics", "Health", "Foods", "Capital", "Media",
    "Networks", "Software", "Partners", "Group", "Industries", "Dynamics", "Solutions",
    "Robotics", "Energy", "Retail", "Learning", "Telecom", "Bank", "Insurance", "Clinics",
    "Freight", "Studios", "Consulting", "Devices", "Materials", "Cloud", "Security",
)
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Carlos", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra",
    "Mark", "Ashley", "Paul", "Emily", "Steven", "Donna", "Andrew", "Michelle", "Joshua",
    "Carol", "Kevin", "Amanda", "Brian", "Melissa", "Priya", "Wei", "Ahmed", "Fatima",
    "Lukas", "Sofia", "Mateo", "Ingrid", "Hiroshi", "Aisha", "Olivia", "Noah", "Emma", "Liam",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill",
    "Patel", "Kim", "Chen", "Singh", "Müller", "Schmidt", "Dubois", "Rossi", "Jansen",
    "Larsson", "Silva", "Santos", "Kowalski", "Tanaka", "Okafor",
)
#: Titles by role in the buying committee: the first person in, the buyer, the others.
TITLES = (
    ("Marketing Manager", "Head of Growth", "Sales Operations Manager", "Director of Marketing",
     "RevOps Lead"),
    ("VP Marketing", "VP Sales", "CFO", "Chief Revenue Officer", "CMO"),
    ("Marketing Analyst", "CRM Administrator", "IT Manager", "Data Engineer", "SDR Manager"),
)
# team key, name, region, segment it works, reps
TEAMS = (
    ("smb", "SMB Inbound", "North America", 0, 5),
    ("mid", "Mid-Market", "North America and EMEA", 1, 4),
    ("ent", "Enterprise", "Global", 2, 3),
)

# fmt: on


def channel_column(name: str) -> NDArray[np.float64]:
    """One numeric field of every channel, in :data:`CHANNELS` order, e.g. ``"win"``."""
    if name not in {f.name for f in fields(Channel)}:
        raise KeyError(f'channels have no field "{name}"')
    return np.array([getattr(c, name) for c in CHANNELS], dtype=float)


def column(table: tuple[tuple[object, ...], ...], index: int) -> NDArray[np.float64]:
    """One numeric column of a table above (``INDUSTRIES``, ``COUNTRIES``, ``SEGMENTS``)."""
    return np.array([row[index] for row in table], dtype=float)
