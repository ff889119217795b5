"""On ChannelAttribution's example paths (Data.csv, 10,000 distinct paths), Baton's first touch,
last touch and linear credit equal the ``channelattribution`` package's ``heuristic_models`` to
1e-9, and every model gives out exactly the conversions and value of the file.

The package's output is kept in ``tests/fixtures/channelattribution_heuristics.json`` (how it
was made is written in the file); the data is read from ../shared/data, never copied.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from baton.analytics.attribution import MODELS, read_paths
from baton.analytics.attribution.reconcile import reconcile, totals

FIXTURE = Path(__file__).parent / "fixtures" / "channelattribution_heuristics.json"
pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def data_csv(shared_data: Path) -> Path:
    path = shared_data / "channelattribution-pathdata" / "Data.csv"
    reference = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == reference["sha256_of_data"]
    return path


@pytest.mark.parametrize("name", ["first", "last", "linear"])
def test_first_last_and_linear_equal_channelattribution(data_csv: Path, name: str) -> None:
    reference = json.loads(FIXTURE.read_text(encoding="utf-8"))["channels"]
    journeys = read_paths(data_csv)
    got = _frame(MODELS[name](journeys)).set_index("channel")
    assert sorted(got.index) == sorted(reference)
    for channel, models in reference.items():
        conversions, value = models[name]
        assert got.loc[channel, "conversions"] == pytest.approx(conversions, rel=1e-9, abs=1e-9)
        assert got.loc[channel, "value"] == pytest.approx(value, rel=1e-9, abs=1e-9)


def test_every_model_reconciles_on_the_paths(data_csv: Path) -> None:
    journeys = read_paths(data_csv)
    total = totals(journeys)
    assert total.journeys == 10_000
    assert total.conversions == 19_785
    credits = {name: _frame(model(journeys)) for name, model in MODELS.items()}
    check = reconcile(credits, total)
    assert check["reconciled"].all(), check


def _frame(credit: object) -> pd.DataFrame:
    """A model's credit as a frame, whether it came back as an Ibis table or a frame."""
    return credit if isinstance(credit, pd.DataFrame) else credit.execute()  # type: ignore[attr-defined]
