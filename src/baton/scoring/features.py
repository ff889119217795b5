"""What a predictive score reads: a feature set (names and kinds) and its encoder.

A :class:`FeatureSet` names the columns a model uses and whether each is a number or a
category. It is built from a table (:meth:`FeatureSet.from_frame`), written into the model's
card, and checked again whenever the model meets data (:meth:`FeatureSet.require`), so a model
never scores a table that lacks one of its features.

A :class:`FeatureEncoder` turns a table into the matrix LightGBM reads. Categories are learned
from the rows the encoder is fitted on, which are always the training rows: a category is kept
when it appears at least ``min_count`` times there, and every other value (rare in training,
or first seen later) becomes one shared "other" code. No outcome is looked at, and nothing
learned comes from the rows a model is tested on, so the encoding cannot leak the holdout.
Missing values stay missing (NaN), which LightGBM routes on its own.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from baton.errors import InvalidInput, NotFitted

Matrix = NDArray[np.float64]


class Kind(StrEnum):
    """How a feature is read."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class Feature:
    """One column a model reads: its name in the table, its kind, and words for people."""

    name: str
    kind: Kind
    label: str = ""

    @property
    def words(self) -> str:
        """What a rep reads for this feature: its label, or its name."""
        return self.label or self.name


@dataclass(frozen=True)
class FeatureSet:
    """The features of a model, in the order the model reads them."""

    features: tuple[Feature, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise InvalidInput(f"a feature set names {', '.join(map(repr, twice))} more than once")
        if not names:
            raise InvalidInput("a feature set needs at least one feature")

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame | pa.Table,
        *,
        exclude: Iterable[str] = (),
        categorical: Iterable[str] = (),
        labels: Mapping[str, str] | None = None,
    ) -> FeatureSet:
        """The features of a table: numbers are numeric, everything else categorical.

        Parameters
        ----------
        frame
            The table, pandas or Arrow; every column not excluded becomes a feature.
        exclude
            Columns that are not features (ids, the label, times).
        categorical
            Columns to read as categories even though they hold numbers (codes, flags).
        labels
            Words for people, by column name.
        """
        skip, forced, labels = set(exclude), set(categorical), labels or {}
        if isinstance(frame, pa.Table):
            kinds = {
                f.name: (
                    pa.types.is_integer(f.type)
                    or pa.types.is_floating(f.type)
                    or pa.types.is_decimal(f.type)
                )
                for f in frame.schema
            }
        else:
            kinds = {
                name: pd.api.types.is_numeric_dtype(frame[name])
                and not pd.api.types.is_bool_dtype(frame[name])
                for name in frame.columns
            }
        features = []
        for name, numeric in kinds.items():
            if name in skip:
                continue
            kind = Kind.NUMERIC if numeric and name not in forced else Kind.CATEGORICAL
            features.append(Feature(str(name), kind, labels.get(name, "")))
        return cls(tuple(features))

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    def by_name(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def digest(self) -> str:
        """A fingerprint of the names and kinds, in order (labels do not count)."""
        body = json.dumps([[f.name, f.kind.value] for f in self.features])
        return hashlib.sha256(body.encode()).hexdigest()

    def missing_from(self, columns: Iterable[str]) -> list[str]:
        """The features a table with these columns lacks, in the model's order."""
        present = set(columns)
        return [name for name in self.names if name not in present]

    def require(self, columns: Iterable[str], *, what: str = "the data") -> None:
        """Refuse a table that lacks any of the features, naming every one it lacks."""
        missing = self.missing_from(columns)
        if missing:
            shown = ", ".join(f'"{m}"' for m in missing)
            raise InvalidInput(
                f"{what} lacks the feature{'s' if len(missing) > 1 else ''} {shown} that the "
                "model was trained on; give data with these columns, or train a model on this "
                "data with `baton score train`"
            )

    def to_list(self) -> list[dict[str, str]]:
        return [{"name": f.name, "kind": f.kind.value, "label": f.label} for f in self.features]

    @classmethod
    def from_list(cls, items: Sequence[Mapping[str, str]]) -> FeatureSet:
        return cls(tuple(Feature(i["name"], Kind(i["kind"]), i.get("label", "")) for i in items))


def is_missing(value: Any) -> bool:
    """None, NaN, NA and empty text count as not filled in."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def category_text(values: pd.Series | Sequence[Any]) -> pa.Array:
    """Values as category text (Arrow strings), with missing and blank values as nulls.

    Text stays as it is; other values become the text ``str()`` gives them (``3``, ``1.5``,
    ``True``). Fitting, table scoring and single-lead scoring all go through here, so a value
    is read the same way on every path.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    try:
        text = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        text = None  # mixed types: write each value out below
    if text is None or not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
        present = series.notna().to_numpy()
        words = np.array([None] * len(series), dtype=object)
        words[present] = [str(v) for v in series.to_numpy(dtype=object)[present]]
        text = pa.array(words, type=pa.string())
    blank = pc.or_(pc.utf8_is_space(text), pc.equal(text, ""))
    if pc.any(blank).as_py():
        text = pc.if_else(blank, pa.scalar(None, text.type), text)
    return text


def category_counts(values: pd.Series) -> dict[str, int]:
    """How often each category occurs (missing values not counted)."""
    counts = pc.value_counts(category_text(values).drop_null())
    return {
        str(v): int(n)
        for v, n in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        )
    }


def category_codes(values: pd.Series, levels: pa.Array) -> NDArray[np.float64]:
    """Codes of categories among ``levels`` (0, 1, ...); others get ``len(levels)``, missing NaN."""
    text = category_text(values)
    found = pc.index_in(text, value_set=levels).to_numpy(zero_copy_only=False)
    codes = np.where(np.isnan(found), float(len(levels)), found).astype(np.float64)
    codes[text.is_null().to_numpy(zero_copy_only=False)] = np.nan
    return codes


class FeatureEncoder:
    """Turns a table into LightGBM's matrix: numbers as they are, categories as codes.

    Parameters
    ----------
    features
        The features to encode, in this order.
    min_count
        A category is kept when it appears at least this often in the rows the encoder is
        fitted on; every other value shares the "other" code.
    """

    def __init__(self, features: FeatureSet, min_count: int = 10) -> None:
        self.features = features
        self.min_count = min_count
        self.levels_: dict[str, list[str]] | None = None

    def fit(self, frame: pd.DataFrame) -> FeatureEncoder:
        """Learn the categories kept for each categorical feature, most frequent first."""
        self.features.require(frame.columns)
        levels: dict[str, list[str]] = {}
        for feature in self.features.features:
            if feature.kind is Kind.CATEGORICAL:
                counts = category_counts(frame[feature.name])
                kept = [(v, n) for v, n in counts.items() if n >= self.min_count]
                # most frequent first; ties by text, so the codes do not depend on row order
                levels[feature.name] = [v for v, _ in sorted(kept, key=lambda kv: (-kv[1], kv[0]))]
        self.levels_ = levels
        self._remember(levels)
        return self

    def _remember(self, levels: dict[str, list[str]]) -> None:
        self.levels_ = levels
        self._arrays = {k: pa.array(v, type=pa.string()) for k, v in levels.items()}
        self._lookup = {k: {v: i for i, v in enumerate(vs)} for k, vs in levels.items()}

    @property
    def levels(self) -> dict[str, list[str]]:
        if self.levels_ is None:
            raise NotFitted("the feature encoder is used before it was fitted")
        return self.levels_

    @property
    def categorical_columns(self) -> list[int]:
        """Positions of the categorical features in the matrix."""
        return [i for i, f in enumerate(self.features.features) if f.kind is Kind.CATEGORICAL]

    def transform(self, frame: pd.DataFrame) -> Matrix:
        """The table as a float matrix, one column per feature in the feature set's order."""
        self.levels  # noqa: B018 - raises NotFitted before anything else
        self.features.require(frame.columns)
        out = np.empty((len(frame), len(self.features.features)), dtype=np.float64)
        for j, feature in enumerate(self.features.features):
            series = frame[feature.name]
            if feature.kind is Kind.NUMERIC:
                out[:, j] = as_numbers(series, feature.name)
            else:  # rare or new values share the "other" code
                out[:, j] = category_codes(series, self._arrays[feature.name])
        return out

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> Matrix:
        """Like :meth:`transform` for a few rows given as mappings (no table is built)."""
        self.levels  # noqa: B018 - raises NotFitted before anything else
        self.features.require(set().union(*(r.keys() for r in records)) if records else ())
        out = np.empty((len(records), len(self.features.features)), dtype=np.float64)
        for i, record in enumerate(records):
            for j, feature in enumerate(self.features.features):
                value = record.get(feature.name)
                if is_missing(value):
                    out[i, j] = np.nan
                elif feature.kind is Kind.NUMERIC:
                    out[i, j] = _number(value, feature.name)
                else:
                    lookup = self._lookup[feature.name]
                    word = value if isinstance(value, str) else category_text([value])[0].as_py()
                    out[i, j] = lookup.get(word, len(lookup))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"min_count": self.min_count, "levels": self.levels}

    @classmethod
    def from_dict(cls, features: FeatureSet, data: Mapping[str, Any]) -> FeatureEncoder:
        encoder = cls(features, int(data["min_count"]))
        encoder._remember({str(k): [str(v) for v in vs] for k, vs in data["levels"].items()})
        return encoder


def as_numbers(series: pd.Series, name: str) -> NDArray[np.float64]:
    """A column as floats (missing as NaN), refusing text that is not a number."""
    if pd.api.types.is_bool_dtype(series):
        return np.asarray(series.astype(np.float64).to_numpy(), dtype=np.float64)
    if pd.api.types.is_numeric_dtype(series):
        return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & ~series.isna()
    if bad.any():
        first = series[bad].iloc[0]
        raise InvalidInput(
            f'feature "{name}" is numeric in the model, but the data holds "{first}" '
            f"({int(bad.sum())} such value{'s' if bad.sum() > 1 else ''}); "
            "give numbers there, or train a model on this data"
        )
    return np.asarray(converted.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _number(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f'feature "{name}" is numeric in the model, but the lead has "{value}"; '
            "give a number there"
        ) from None
