"""Tables a predictive score learns from: the public lead datasets and any CSV with a label.

Every loader returns a :class:`Dataset`: the feature columns in time order, the 0/1 outcome,
an id people can look a lead up by, the month of each row when the data has dates, and the
columns it left out with the reason. The store's own leads are read by
:mod:`baton.scoring.store_features`.

Two public datasets are known by name (see ``docs/scoring.md``):

``x-education``
    ``x-education-leads/Leads.csv``, label ``Converted``. The file has no dates; ``Lead
    Number`` is assigned as leads arrive, so rows are put in ``Lead Number`` order and that
    order stands for time. ``Select`` means "not filled in" and is read as missing.
``bank``
    ``uci-bank-marketing/bank-additional-full.csv``, label ``y``. Rows are in time order,
    May 2008 to November 2010; the file gives the month but not the year, so the year is
    counted up each time the month goes back (December to March).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from baton.errors import InvalidInput, NotFound
from baton.scoring.features import FeatureSet

X_EDUCATION = "x-education"
BANK = "bank"
#: Where each named dataset lives under the datasets folder (``BATON_DATASETS``).
NAMED = {
    X_EDUCATION: Path("x-education-leads") / "Leads.csv",
    BANK: Path("uci-bank-marketing") / "bank-additional-full.csv",
}


@dataclass(frozen=True)
class LeftOut:
    """A column a loader does not use as a feature, and why."""

    column: str
    reason: str


@dataclass(frozen=True)
class Dataset:
    """Leads as a model sees them: features in time order and the outcome of each.

    ``labelled`` marks the rows whose outcome is known (every row of a file; in the store,
    leads old enough); ``label`` is 1 for converted and is
    only meaningful where ``labelled``. ``at`` is when each lead arrived, when the data says
    (the month for the bank data), else ``None``. ``aliases`` is a second id a lead can be
    looked up by (the store's external ids).
    """

    name: str
    source: str
    frame: pd.DataFrame
    label: NDArray[np.int8]
    labelled: NDArray[np.bool_]
    ids: pd.Series
    features: FeatureSet
    order: str
    at: pd.Series | None = None
    left_out: tuple[LeftOut, ...] = field(default_factory=tuple)
    aliases: pd.Series | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def training_rows(self) -> NDArray[np.intp]:
        """Positions of the labelled rows, in time order."""
        return np.flatnonzero(self.labelled)

    def months(self) -> NDArray[np.str_] | None:
        """Each row's month as ``YYYY-MM`` when the data has dates."""
        if self.at is None:
            return None
        return np.asarray(pd.to_datetime(self.at).dt.strftime("%Y-%m").to_numpy(dtype=str))

    def window(self, rows: NDArray[np.intp] | None = None) -> dict[str, str]:
        """The first and last lead of ``rows`` (all rows by default): dates, or ids in order."""
        rows = np.arange(len(self)) if rows is None else rows
        if len(rows) == 0:
            return {"first": "", "last": "", "by": self.order}
        if self.at is not None:
            at = pd.to_datetime(self.at.iloc[rows])
            return {
                "first": f"{at.min():%Y-%m-%d}",
                "last": f"{at.max():%Y-%m-%d}",
                "by": self.order,
            }
        ids = self.ids.iloc[rows]
        return {"first": str(ids.iloc[0]), "last": str(ids.iloc[-1]), "by": self.order}

    def find(self, lead: str) -> int:
        """The row of the lead with this id (or alias); :class:`NotFound` when there is none."""
        wanted = str(lead).strip()
        hits = np.flatnonzero(self.ids.astype(str).to_numpy() == wanted)
        if not len(hits) and self.aliases is not None:
            hits = np.flatnonzero(self.aliases.astype(str).to_numpy() == wanted)
        if not len(hits):
            raise NotFound(
                f'no lead "{lead}" in {self.name}; leads there are known by {self.ids.name}, '
                f"e.g. {self.ids.iloc[0]}"
            )
        return int(hits[0])


# -- X Education -----------------------------------------------------------------------------
#: Columns of Leads.csv the score does not use, and why.
X_EDUCATION_LEFT_OUT = (
    LeftOut("Prospect ID", "an identifier; kept as the lead's id, not a feature"),
    LeftOut("Lead Number", "an identifier given as leads arrive; used to order rows in time"),
    LeftOut("Converted", "the outcome being predicted"),
    LeftOut(
        "Tags",
        "the lead's status as sales records it after contact ('Closed by Horizzon', "
        "'Ringing', 'Will revert after reading the email'); it states the outcome",
    ),
    LeftOut("Lead Quality", "sales' own judgement of the lead after working it"),
    LeftOut("Lead Profile", "a level sales assigns to the lead while working it"),
    LeftOut(
        "Asymmetrique Activity Index",
        "an index sales' tooling assigns from the lead's activity, including after contact",
    ),
    LeftOut(
        "Asymmetrique Profile Index", "an index assigned from the lead's profile by sales' tooling"
    ),
    LeftOut(
        "Asymmetrique Activity Score", "the score behind the activity index, assigned the same way"
    ),
    LeftOut(
        "Asymmetrique Profile Score", "the score behind the profile index, assigned the same way"
    ),
    LeftOut(
        "Last Activity",
        "the last thing that happened to the lead when the file was exported; it includes "
        "sales' own work ('SMS Sent', 'Had a Phone Conversation', 'Unreachable') after contact",
    ),
    LeftOut(
        "Last Notable Activity", "the same as Last Activity, filtered; also recorded after contact"
    ),
    LeftOut(
        "I agree to pay the amount through cheque",
        "a payment choice made on enrolling, after conversion (and 'No' on every row)",
    ),
    LeftOut("Magazine", "'No' on every row: says nothing"),
    LeftOut("Receive More Updates About Our Courses", "'No' on every row: says nothing"),
    LeftOut("Update me on Supply Chain Content", "'No' on every row: says nothing"),
    LeftOut("Get updates on DM Content", "'No' on every row: says nothing"),
)
#: Words a rep reads for the X Education columns (the rest read well as they are).
X_EDUCATION_LABELS = {
    "TotalVisits": "Website visits",
    "Total Time Spent on Website": "Seconds on the website",
    "Page Views Per Visit": "Pages per visit",
    "What is your current occupation": "Occupation",
    "What matters most to you in choosing a course": "What matters most to them",
    "How did you hear about X Education": "Heard of us through",
    "A free copy of Mastering The Interview": "Asked for the free interview guide",
}


def load_x_education(path: Path) -> Dataset:
    """The X Education leads (``Leads.csv``), in ``Lead Number`` order, label ``Converted``."""
    raw = _read_csv(path, sep=",", required=("Lead Number", "Prospect ID", "Converted"))
    raw = raw.sort_values("Lead Number", kind="stable").reset_index(drop=True)
    label = _binary(raw["Converted"], path, "Converted")
    dropped = [c.column for c in X_EDUCATION_LEFT_OUT if c.column in raw.columns]
    frame = raw.drop(columns=dropped).replace("Select", np.nan)
    features = FeatureSet.from_frame(frame, labels=X_EDUCATION_LABELS)
    return Dataset(
        name=X_EDUCATION,
        source=str(path),
        frame=frame,
        label=label,
        labelled=np.ones(len(frame), dtype=bool),
        ids=raw["Lead Number"].astype(str).rename("Lead Number"),
        features=features,
        order="Lead Number",
        left_out=X_EDUCATION_LEFT_OUT,
    )


# -- UCI bank marketing ----------------------------------------------------------------------
BANK_LEFT_OUT = (
    LeftOut("y", "the outcome being predicted"),
    LeftOut(
        "duration", "the length of the call, known only after the call, when the outcome is too"
    ),
)
BANK_LABELS = {
    "job": "Job",
    "marital": "Marital status",
    "education": "Education",
    "default": "Has credit in default",
    "housing": "Has a housing loan",
    "loan": "Has a personal loan",
    "contact": "Contacted by",
    "month": "Month of the call",
    "day_of_week": "Weekday of the call",
    "campaign": "Calls in this campaign",
    "pdays": "Days since the last campaign's call",
    "previous": "Calls before this campaign",
    "poutcome": "Outcome of the last campaign",
    "emp.var.rate": "Employment variation rate",
    "cons.price.idx": "Consumer price index",
    "cons.conf.idx": "Consumer confidence index",
    "euribor3m": "Euribor 3 months",
    "nr.employed": "Employees (thousands)",
    "age": "Age",
}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
BANK_FIRST_YEAR = 2008


def load_bank(path: Path) -> Dataset:
    """The UCI bank marketing calls (``bank-additional-full.csv``), label ``y``.

    ``pdays`` 999 means "not called in an earlier campaign" and is read as missing; the
    ``unknown`` values of the categorical columns stay a category of their own.
    """
    raw = _read_csv(path, sep=";", required=("y", "month"))
    label = _binary(raw["y"], path, "y")
    month = raw["month"].str.lower().map({m: i + 1 for i, m in enumerate(MONTHS)})
    if month.isna().any():
        row = int(np.flatnonzero(month.isna().to_numpy())[0]) + 2
        raise InvalidInput(
            f'{path} row {row} column month: "{raw["month"].iloc[row - 2]}" is not a month'
        )
    number = month.to_numpy(dtype=np.int64)
    year = BANK_FIRST_YEAR + np.concatenate([[0], np.cumsum(number[1:] < number[:-1])])
    days = pd.DataFrame({"year": year, "month": number, "day": np.ones_like(number)})
    at = pd.Series(pd.to_datetime(days), name="month")
    frame = raw.drop(columns=[c.column for c in BANK_LEFT_OUT if c.column in raw.columns])
    if "pdays" in frame.columns:
        frame["pdays"] = frame["pdays"].where(frame["pdays"] != 999)
    return Dataset(
        name=BANK,
        source=str(path),
        frame=frame,
        label=label,
        labelled=np.ones(len(frame), dtype=bool),
        ids=pd.Series(np.arange(2, len(frame) + 2).astype(str), name="row"),
        features=FeatureSet.from_frame(frame, labels=BANK_LABELS),
        order="row order (calls from May 2008 to November 2010)",
        at=at,
        left_out=BANK_LEFT_OUT,
    )


# -- any CSV ---------------------------------------------------------------------------------
def load_csv(
    path: Path,
    *,
    label: str,
    order: str | None = None,
    exclude: Sequence[str] = (),
) -> Dataset:
    """A CSV of leads with a 0/1 (yes/no, true/false, won/lost) label column.

    Parameters
    ----------
    path
        The file (comma or semicolon separated).
    label
        The outcome column.
    order
        A column of dates or increasing numbers giving the time order; without it, the
        rows' order in the file is taken as time order.
    exclude
        Columns that are not features (ids, fields filled in after contact).
    """
    raw = _read_csv(path, sep=None, required=(label, *([order] if order else [])))
    at = None
    if order:
        key = raw[order]
        if not pd.api.types.is_numeric_dtype(key):
            parsed = pd.to_datetime(key, errors="coerce", utc=True)
            if parsed.isna().any():
                row = int(np.flatnonzero(parsed.isna().to_numpy())[0]) + 2
                raise InvalidInput(
                    f'{path} row {row} column {order}: "{key.iloc[row - 2]}" is not a date; '
                    "give dates (ISO 8601) or numbers that grow with time"
                )
            raw = raw.assign(**{order: parsed.dt.tz_localize(None)})
        raw = raw.sort_values(order, kind="stable").reset_index(drop=True)
        if not pd.api.types.is_numeric_dtype(raw[order]):
            at = raw[order].rename("at")
    y = _binary(raw[label], path, label)
    skipped = [label, *([order] if order else []), *exclude]
    unknown = [c for c in exclude if c not in raw.columns]
    if unknown:
        raise InvalidInput(f"{path}: no column {', '.join(map(repr, unknown))} to leave out")
    frame = raw.drop(columns=skipped)
    ids = raw[order].astype(str) if order else pd.Series(np.arange(2, len(raw) + 2).astype(str))
    left = [LeftOut(label, "the outcome being predicted")]
    left += [LeftOut(order, "the time order")] if order else []
    left += [LeftOut(c, "left out when training") for c in exclude]
    return Dataset(
        name=path.stem,
        source=str(path),
        frame=frame,
        label=y,
        labelled=np.ones(len(frame), dtype=bool),
        ids=ids.rename(order or "row"),
        features=FeatureSet.from_frame(frame),
        order=order or "row order",
        at=at,
        left_out=tuple(left),
    )


# -- reading ---------------------------------------------------------------------------------
def named_path(name: str, folder: Path) -> Path:
    """Where the named dataset ``x-education`` or ``bank`` is under ``folder``."""
    path = folder / NAMED[name]
    if not path.is_file():
        raise NotFound(
            f"{path}: no such file; set BATON_DATASETS to the folder holding "
            f"{NAMED[name].parent}/ (see docs/scoring.md)"
        )
    return path


def load_file(path: Path, *, label: str | None = None, order: str | None = None) -> Dataset:
    """A CSV: the X Education or bank layout when its header says so, else :func:`load_csv`."""
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    header = _header(path)
    if label is None and {"Prospect ID", "Lead Number", "Converted"} <= header:
        return load_x_education(path)
    if label is None and {"y", "duration", "poutcome", "month"} <= header:
        return load_bank(path)
    if label is None:
        raise InvalidInput(
            f"{path}: say which column holds the outcome with --label (the columns are "
            f"{', '.join(sorted(header)[:12])}{', ...' if len(header) > 12 else ''})"
        )
    return load_csv(path, label=label, order=order)


def load_named(name: str, folder: Path) -> Dataset:
    """One of the public datasets by name: ``x-education`` or ``bank``."""
    path = named_path(name, folder)
    return load_x_education(path) if name == X_EDUCATION else load_bank(path)


def _header(path: Path) -> set[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    sep = ";" if first.count(";") > first.count(",") else ","
    return {c.strip() for c in next(csv.reader([first], delimiter=sep))}


def _read_csv(path: Path, *, sep: str | None, required: Sequence[str]) -> pd.DataFrame:
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    if sep is None:
        with path.open(encoding="utf-8-sig") as handle:
            first = handle.readline()
        sep = ";" if first.count(";") > first.count(",") else ","
    try:
        frame = pd.read_csv(path, sep=sep, encoding="utf-8-sig", low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{path}: no column {', '.join(map(repr, missing))}")
    return frame


_TRUE = {"1", "yes", "y", "true", "t", "won", "converted"}
_FALSE = {"0", "no", "n", "false", "f", "lost", "not converted"}


def _binary(series: pd.Series, path: Path, column: str) -> NDArray[np.int8]:
    """A 0/1 label from 0/1, yes/no, true/false or won/lost; other values are refused."""
    text = series.astype(str).str.strip().str.lower()
    text = text.str.replace(r"\.0$", "", regex=True)
    good = text.isin(_TRUE | _FALSE)
    if not good.all():
        row = int(np.flatnonzero(~good.to_numpy())[0])
        raise InvalidInput(
            f'{path} row {row + 2} column {column}: "{series.iloc[row]}" is not an outcome; '
            "use 1/0, yes/no, true/false or won/lost"
        )
    return np.asarray(text.isin(_TRUE).to_numpy(), dtype=np.int8)
