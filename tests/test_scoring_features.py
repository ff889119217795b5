"""Feature sets and their encoder: kinds, refusals naming the missing features, no leaking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from baton.errors import InvalidInput, NotFitted
from baton.scoring.features import Feature, FeatureEncoder, FeatureSet, Kind


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["web", "web", "web", "ads", "ads", "fair", None, "  "],
            "visits": [1, 2, 3, 4, 5, 6, 7, np.nan],
            "flag": [True, False, True, False, True, False, True, False],
            "code": [1, 1, 2, 2, 2, 3, 3, 3],
        }
    )


def test_kinds_are_inferred_numbers_numeric_the_rest_categorical() -> None:
    features = FeatureSet.from_frame(table(), exclude=["code"], labels={"visits": "Visits"})
    assert [(f.name, f.kind) for f in features.features] == [
        ("source", Kind.CATEGORICAL),
        ("visits", Kind.NUMERIC),
        ("flag", Kind.CATEGORICAL),
    ]
    assert features.by_name("visits").words == "Visits"
    assert features.by_name("source").words == "source"
    forced = FeatureSet.from_frame(table(), categorical=["code"])
    assert forced.by_name("code").kind is Kind.CATEGORICAL
    arrow = FeatureSet.from_frame(pa.Table.from_pandas(table()), exclude=["code"])
    assert arrow == FeatureSet.from_frame(table(), exclude=["code"])


def test_a_table_missing_features_is_refused_naming_each() -> None:
    features = FeatureSet.from_frame(table())
    with pytest.raises(InvalidInput) as caught:
        features.require(["source", "flag"], what="leads.csv")
    message = str(caught.value)
    assert message.startswith('leads.csv lacks the features "visits", "code" that the model')
    features.require(["source", "visits", "flag", "code", "extra"])  # more columns are fine


def test_the_digest_follows_names_and_kinds_not_labels() -> None:
    a = FeatureSet((Feature("x", Kind.NUMERIC, "Ex"), Feature("y", Kind.CATEGORICAL)))
    b = FeatureSet((Feature("x", Kind.NUMERIC), Feature("y", Kind.CATEGORICAL, "Why")))
    c = FeatureSet((Feature("x", Kind.CATEGORICAL), Feature("y", Kind.CATEGORICAL)))
    assert a.digest() == b.digest() != c.digest()
    assert FeatureSet.from_list(a.to_list()) == a
    with pytest.raises(InvalidInput, match="'x' more than once"):
        FeatureSet((Feature("x", Kind.NUMERIC), Feature("x", Kind.NUMERIC)))


def test_categories_come_from_the_fitted_rows_only() -> None:
    features = FeatureSet.from_frame(table())
    encoder = FeatureEncoder(features, min_count=2).fit(table())
    # web 3 times, ads twice, fair once (rare); None and blank are missing
    assert encoder.levels == {"source": ["web", "ads"], "flag": ["False", "True"]}
    later = pd.DataFrame(
        {
            "source": ["ads", "fair", "radio", None, ""],
            "visits": [1.5, None, 3, 4, 5],
            "flag": [False, True, None, True, False],
            "code": [1, 2, 3, 4, 5],
        }
    )
    matrix = encoder.transform(later)
    # ads -> 1; fair (rare in training) and radio (never seen) -> "other" (2); missing -> NaN
    np.testing.assert_array_equal(matrix[:, 0], [1, 2, 2, np.nan, np.nan])
    np.testing.assert_array_equal(matrix[:, 1], [1.5, np.nan, 3, 4, 5])
    np.testing.assert_array_equal(matrix[:, 2], [0, 1, np.nan, 1, 0])
    # the same leads as mappings encode the same way
    records = later.astype(object).where(later.notna(), None).to_dict("records")
    np.testing.assert_array_equal(encoder.transform_records(records), matrix)


def test_levels_do_not_depend_on_row_order_and_survive_a_round_trip() -> None:
    features = FeatureSet.from_frame(table())
    first = FeatureEncoder(features, 1).fit(table())
    shuffled = FeatureEncoder(features, 1).fit(table().iloc[::-1])
    assert first.levels == shuffled.levels
    assert first.levels["source"] == ["web", "ads", "fair"]  # by count, then by text
    again = FeatureEncoder.from_dict(features, first.to_dict())
    np.testing.assert_array_equal(again.transform(table()), first.transform(table()))


def test_numeric_features_refuse_text_naming_the_feature() -> None:
    features = FeatureSet.from_frame(table())
    encoder = FeatureEncoder(features).fit(table())
    bad = table().assign(visits=["1", "2", "many", "4", "5", "6", "7", "8"])
    with pytest.raises(
        InvalidInput, match='feature "visits" is numeric in the model, but the data holds "many"'
    ):
        encoder.transform(bad)
    with pytest.raises(NotFitted):
        FeatureEncoder(features).transform(table())
