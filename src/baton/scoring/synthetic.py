"""Leads shaped like the X Education data, as many as wanted, from a seed: for benchmarks.

:func:`synthetic_leads` draws the X Education columns the score uses (origin, source, opt-outs,
visits, time on site, pages per visit, country, specialisation, occupation, city, the free
guide) with about the real shares of each value and of missing values, and a ``Converted``
outcome from a logistic model of them (about 38% convert, as in the real file). The same seed
and size give the same table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from baton.scoring.datasets import X_EDUCATION_LABELS, Dataset
from baton.scoring.features import FeatureSet

#: Column: (values, shares, effect on the log-odds of converting per value). Shares that do
#: not sum to one leave the rest missing.
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]] = {
    "Lead Origin": (
        ("Landing Page Submission", "API", "Lead Add Form", "Lead Import", "Quick Add Form"),
        (0.53, 0.39, 0.077, 0.002, 0.001),
        (0.0, -0.2, 2.2, -0.5, 1.0),
    ),
    "Lead Source": (
        (
            "Google",
            "Direct Traffic",
            "Olark Chat",
            "Organic Search",
            "Reference",
            "Welingak Website",
            "Referral Sites",
            "Facebook",
            "bing",
            "Click2call",
        ),
        (0.31, 0.275, 0.19, 0.125, 0.058, 0.015, 0.013, 0.006, 0.001, 0.001),
        (0.2, -0.2, -0.6, 0.0, 1.9, 2.5, -0.3, -0.4, 0.0, 0.8),
    ),
    "Do Not Email": (("No", "Yes"), (0.92, 0.08), (0.0, -1.0)),
    "Country": (
        ("India", "United States", "United Arab Emirates", "Singapore", "Saudi Arabia"),
        (0.70, 0.008, 0.006, 0.0025, 0.0023),
        (0.0, -0.3, 0.1, 0.2, -0.2),
    ),
    "Specialization": (
        (
            "Finance Management",
            "Human Resource Management",
            "Marketing Management",
            "Operations Management",
            "Business Administration",
            "IT Projects Management",
            "Supply Chain Management",
            "Banking, Investment And Insurance",
            "Media and Advertising",
        ),
        (0.106, 0.092, 0.091, 0.054, 0.044, 0.04, 0.038, 0.037, 0.022),
        (0.3, 0.35, 0.4, 0.3, 0.3, 0.2, 0.25, 0.45, 0.1),
    ),
    "What is your current occupation": (
        ("Unemployed", "Working Professional", "Student", "Other", "Housewife", "Businessman"),
        (0.606, 0.076, 0.023, 0.0017, 0.001, 0.0009),
        (0.3, 2.4, 0.1, 0.5, 2.0, 0.5),
    ),
    "City": (
        (
            "Mumbai",
            "Thane & Outskirts",
            "Other Cities",
            "Other Cities of Maharashtra",
            "Other Metro Cities",
            "Tier II Cities",
        ),
        (0.348, 0.081, 0.074, 0.049, 0.041, 0.008),
        (0.0, 0.1, 0.0, 0.05, 0.0, -0.1),
    ),
    "A free copy of Mastering The Interview": (("No", "Yes"), (0.69, 0.31), (0.0, -0.1)),
}
INTERCEPT = -1.9


def synthetic_leads(leads: int, *, seed: int = 7) -> pd.DataFrame:
    """``leads`` X Education-like leads with ``Lead Number``, features and ``Converted``."""
    rng = np.random.default_rng(seed)
    logit = np.full(leads, INTERCEPT)
    columns: dict[str, object] = {"Lead Number": np.arange(600_000, 600_000 + leads)}
    for name, (values, shares, effects) in CATEGORIES.items():
        p = np.array([*shares, max(0.0, 1.0 - sum(shares))])
        code = rng.choice(len(p), size=leads, p=p / p.sum())
        labels = np.array([*values, None], dtype=object)
        columns[name] = labels[code]
        logit += np.array([*effects, 0.0])[code]
    engaged = rng.random(leads) > 0.24  # about a quarter never came back to the website
    visits = np.where(engaged, rng.poisson(3.4, leads) + 1, 0).astype(np.float64)
    seconds = np.where(engaged, rng.lognormal(6.2, 1.0, leads), 0.0).round()
    pages = np.where(engaged, np.minimum(rng.gamma(3.0, 0.8, leads), 12.0), 0.0).round(2)
    visits[rng.random(leads) < 0.015] = np.nan
    columns["TotalVisits"] = visits
    columns["Total Time Spent on Website"] = seconds
    columns["Page Views Per Visit"] = np.where(np.isnan(visits), np.nan, pages)
    logit += 0.0012 * np.minimum(seconds, 2400) - 0.6 * (seconds == 0) - 0.05 * np.nan_to_num(pages)
    logit += rng.normal(0.0, 0.8, leads)
    columns["Converted"] = (rng.random(leads) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pd.DataFrame(columns)


def synthetic_dataset(leads: int, *, seed: int = 7) -> Dataset:
    """:func:`synthetic_leads` as a :class:`Dataset`, in ``Lead Number`` order."""
    table = synthetic_leads(leads, seed=seed)
    frame = table.drop(columns=["Lead Number", "Converted"])
    return Dataset(
        name="synthetic",
        source=f"synthetic X Education-like leads, seed {seed}",
        frame=frame,
        label=table["Converted"].to_numpy(dtype=np.int8),
        labelled=np.ones(leads, dtype=bool),
        ids=table["Lead Number"].astype(str).rename("Lead Number"),
        features=FeatureSet.from_frame(frame, labels=X_EDUCATION_LABELS),
        order="Lead Number",
    )
