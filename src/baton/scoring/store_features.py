"""The store's own leads as a feature table, for training and scoring on Baton's history.

One row per lead, in order of arrival (``created_at``, then id), built with Ibis in the
store's database (SQLite, PostgreSQL, or DuckDB/Parquet exports of it); only the table comes
back. The features are what is known about a lead soon after it arrives:

- the lead: ``channel``, ``country``, ``title``, and ``email_kind`` (``personal`` for a free
  mail domain, else ``work``);
- its account: ``industry``, ``employees``, ``annual_revenue``, ``account_country``;
- its marketing touches up to ``touch_days`` days after it arrived (those before it came
  included): ``touches`` in all and ``touches_<type>`` per touch type.

Left out, because they are written by sales or by the funnel itself after contact: the stage
and when it was entered, the owner, the stored score, sales activities (calls, emails,
meetings), opportunities, and touches later than ``touch_days`` (marketing nurtures leads
that sales is working, so late touches follow the outcome). Lead and account ``properties``
are left out too: imports keep whatever columns a CRM export had there, including fields
sales fills in.

The label is 1 when the lead reached a stage of kind ``won`` (the customer stage) by
``as_of``. A lead's outcome counts as known (``labelled``) when it arrived at least
``maturity_days`` before ``as_of``; younger leads are scored, not learned from. (Taking the
young leads already won or disqualified as well would fill the latest weeks with decided
leads only, and the holdout with a conversion rate no month really had.)
"""

from __future__ import annotations

import calendar
import datetime as dt

import ibis
import numpy as np
import pandas as pd

from baton.analytics.source import Tables
from baton.analytics.timing import naive_utc
from baton.contract.model import Contract, StageKind
from baton.scoring.datasets import Dataset, LeftOut
from baton.scoring.features import Feature, FeatureSet, Kind

STORE = "store"
DAY = 86_400
#: Days after arrival whose touches count (and before which an outcome is not awaited).
TOUCH_DAYS = 7
MATURITY_DAYS = 120
#: Mail domains of personal addresses.
FREE_MAIL = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
    "mail.ru",
    "yandex.ru",
    "qq.com",
    "163.com",
)
BASE_FEATURES = (
    Feature("channel", Kind.CATEGORICAL, "Channel"),
    Feature("country", Kind.CATEGORICAL, "Country"),
    Feature("title", Kind.CATEGORICAL, "Title"),
    Feature("email_kind", Kind.CATEGORICAL, "Email address"),
    Feature("industry", Kind.CATEGORICAL, "Industry"),
    Feature("employees", Kind.NUMERIC, "Employees"),
    Feature("annual_revenue", Kind.NUMERIC, "Annual revenue"),
    Feature("account_country", Kind.CATEGORICAL, "Account country"),
    Feature("touches", Kind.NUMERIC, "Marketing touches in the first week"),
)
STORE_LEFT_OUT = (
    LeftOut("stage, stage_entered_at", "where the funnel has taken the lead: the outcome itself"),
    LeftOut("owner_id", "given when sales takes the lead"),
    LeftOut("score", "a score someone stored; the model makes its own"),
    LeftOut("activities", "sales work after contact"),
    LeftOut("opportunities", "opened by sales after qualification"),
    LeftOut(
        "late touchpoints", f"touches more than {TOUCH_DAYS} days after arrival follow the outcome"
    ),
    LeftOut("properties", "whatever an export held, including fields sales fills in"),
)


def store_dataset(
    tables: Tables,
    contract: Contract,
    *,
    as_of: dt.datetime,
    touch_days: int = TOUCH_DAYS,
    maturity_days: int = MATURITY_DAYS,
    source: str = STORE,
) -> Dataset:
    """The store's leads that arrived before ``as_of`` as a :class:`Dataset`.

    Parameters
    ----------
    tables
        The store's tables.
    contract
        Tells which stages are won, lost and disqualified, by kind.
    as_of
        The moment the table describes (an aware datetime); touches and moves after it are
        not read.
    touch_days, maturity_days
        See the module's description.
    source
        Where the tables came from, for the model card.
    """
    now = calendar.timegm(naive_utc(as_of).timetuple())
    won = [s.key for s in contract.stages_of_kind(StageKind.WON)]
    lead = tables.leads
    leads = lead.select(
        lead_id=lead.id,
        external_id=lead.external_id,
        created_at=lead.created_at,
        created_s=lead.created_at.epoch_seconds().floor().cast("int64"),
        channel=lead.channel,
        country=lead.country,
        title=lead.title,
        email=lead.email,
        account_id=lead.account_id,
    )
    leads = leads.filter(leads.created_s <= now)
    log = tables.stage_changes
    reached = log.filter(
        (log.subject == "lead")
        & log.to_stage.isin(won or ["-"])
        & (log.at.epoch_seconds().floor().cast("int64") <= now)
    )
    reached = reached.group_by(won_lead=reached.subject_id).aggregate(n_won=reached.count())
    a = tables.accounts
    accounts = a.select(
        account=a.id,
        industry=a.industry,
        employees=a.employees.cast("float64"),
        annual_revenue=a.annual_revenue.cast("float64"),
        account_country=a.country,
    )
    joined = leads.left_join(reached, leads.lead_id == reached.won_lead).left_join(
        accounts, leads.account_id == accounts.account
    )
    rows = joined.select(
        "lead_id",
        "external_id",
        "created_at",
        "created_s",
        "channel",
        "country",
        "title",
        "email",
        "industry",
        "employees",
        "annual_revenue",
        "account_country",
        won=joined.n_won.notnull(),
    ).order_by("created_s", "lead_id")
    frame = rows.to_pandas()
    types, touches = _touch_counts(tables, leads, touch_days=touch_days, now=now)
    return _dataset(frame, types, touches, now=now, maturity_days=maturity_days, source=source)


def _touch_counts(
    tables: Tables, leads: ibis.Table, *, touch_days: int, now: int
) -> tuple[list[str], pd.DataFrame]:
    """Every touch type of the leads' touches, and touches per lead and type within
    ``touch_days`` of arrival as a long table."""
    t = tables.touchpoints
    touches = t.filter(t.lead_id.notnull()).select(
        touched=t.lead_id,
        touch_type=t.touch_type,
        at_s=t.occurred_at.epoch_seconds().floor().cast("int64"),
    )
    touches = touches.filter(touches.at_s <= now)
    kinds = touches.select("touch_type").distinct().to_pandas()["touch_type"]
    window = touches.join(leads.select("lead_id", "created_s"), touches.touched == leads.lead_id)
    early = window.filter(window.at_s <= window.created_s + touch_days * DAY)
    counts = early.group_by(lead_id=early.touched, touch_type=early.touch_type).aggregate(
        n=early.count()
    )
    return sorted(str(k) for k in kinds.dropna()), counts.to_pandas()


def _dataset(
    frame: pd.DataFrame,
    types: list[str],
    touches: pd.DataFrame,
    *,
    now: int,
    maturity_days: int,
    source: str,
) -> Dataset:
    wide = touches.pivot_table(index="lead_id", columns="touch_type", values="n", aggfunc="sum")
    wide.columns = [f"touches_{c}" for c in wide.columns.astype(str)]
    wide.index = wide.index.astype(frame["lead_id"].dtype) if len(wide) else wide.index
    features = frame[["lead_id"]].join(wide, on="lead_id").drop(columns="lead_id")
    features = features.reindex(columns=[f"touches_{t}" for t in types]).fillna(0.0)
    domain = frame["email"].astype("string").str.rsplit("@", n=1).str[-1].str.lower()
    email_kind = pd.Series(np.where(domain.isin(FREE_MAIL), "personal", "work"), index=frame.index)
    table = pd.DataFrame(
        {
            "channel": frame["channel"],
            "country": frame["country"],
            "title": frame["title"],
            "email_kind": email_kind.where(frame["email"].notna().to_numpy(), None),
            "industry": frame["industry"],
            "employees": frame["employees"].astype(float),
            "annual_revenue": frame["annual_revenue"].astype(float),
            "account_country": frame["account_country"],
            "touches": features.sum(axis=1).astype(float),
        }
    )
    table = pd.concat([table, features.astype(float)], axis=1)
    per_type = tuple(
        Feature(
            f"touches_{t}",
            Kind.NUMERIC,
            f"{t.replace('_', ' ').capitalize()} touches in the first week",
        )
        for t in types
    )
    won = frame["won"].fillna(False).to_numpy(dtype=bool)
    mature = frame["created_s"].to_numpy(dtype=np.int64) <= now - maturity_days * DAY
    labelled = mature
    at = pd.to_datetime(frame["created_at"], utc=True).dt.tz_localize(None)
    return Dataset(
        name=STORE,
        source=source,
        frame=table,
        label=won.astype(np.int8),
        labelled=labelled,
        ids=frame["lead_id"].astype(str).rename("lead id"),
        features=FeatureSet(BASE_FEATURES + per_type),
        order="arrival (created_at)",
        at=at.rename("created_at"),
        left_out=STORE_LEFT_OUT,
        aliases=frame["external_id"].astype(str).rename("external id"),
    )
