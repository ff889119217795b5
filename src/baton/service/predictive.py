"""The predictive score's use cases: train, evaluate, explain, score one lead, threshold, drift.

The command line calls these, and an API route would call the same ones. Data comes from a
``--data`` spec (:func:`load_data`): the store, an export of it, a named public dataset or a
CSV; models live as JSON files in the model folder (``BATON_MODEL_DIR``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from baton.analytics.source import STORE, open_source
from baton.contract import Contract
from baton.errors import InvalidInput
from baton.progress import Progress
from baton.scoring import artifact as artifacts
from baton.scoring.artifact import ModelArtifact
from baton.scoring.datasets import NAMED, Dataset, load_file, load_named
from baton.scoring.drift import Drift, psi
from baton.scoring.predictive import LeadScoreModel
from baton.scoring.reasons import Explanation, explain
from baton.scoring.store_features import store_dataset
from baton.scoring.threshold import Proposal, capacity_threshold
from baton.scoring.training import FOLDS, HOLDOUT, train

#: Days of recent leads drift compares with the training window.
RECENT_DAYS = 30
#: Without dates, the latest share of leads stands for the recent ones.
RECENT_SHARE = 0.1


@dataclass(frozen=True)
class DataSpec:
    """Where training or scoring data comes from, as given to ``--data``."""

    spec: str
    label: str | None = None
    order: str | None = None


def load_data(
    spec: DataSpec,
    *,
    contract: Contract,
    database_url: str,
    datasets: Path,
    as_of: dt.datetime,
) -> Dataset:
    """The leads named by a ``--data`` spec.

    ``store`` reads the store (``BATON_DATABASE_URL``) and a folder or ``.duckdb`` file an
    export of it; ``x-education`` and ``bank`` are the public datasets under ``datasets``; any
    other path is a CSV (the X Education and bank layouts are recognised by their header).
    """
    text = spec.spec.strip()
    if text in NAMED:
        return load_named(text, datasets)
    path = Path(text).expanduser()
    if text == STORE or path.is_dir() or path.suffix == ".duckdb":
        tables = open_source(text, database_url)
        try:
            return store_dataset(tables, contract, as_of=as_of, source=text)
        finally:
            tables.close()
    return load_file(path, label=spec.label, order=spec.order)


def data_spec_of(artifact: ModelArtifact) -> DataSpec:
    """The ``--data`` a model was trained on, to score or explain with by default."""
    given = artifact.card.data.get("spec") or {"spec": artifact.card.data["source"]}
    return DataSpec(str(given["spec"]), given.get("label"), given.get("order"))


def train_model(
    dataset: Dataset,
    *,
    model_dir: Path,
    created: dt.datetime,
    name: str | None = None,
    spec: DataSpec | None = None,
    holdout: float = HOLDOUT,
    folds: int = FOLDS,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[ModelArtifact, Path]:
    """Evaluate the model against the baselines, fit it on every lead, and save it.

    ``spec`` is the ``--data`` the dataset came from, kept in the card so that later commands
    read the same data by default.
    """
    trained = train(dataset, holdout=holdout, folds=folds, params=params, progress=progress)
    built = artifacts.build(
        trained,
        dataset,
        name=name or artifacts.default_name(dataset),
        created=created,
        spec=None
        if spec is None
        else {"spec": spec.spec, "label": spec.label, "order": spec.order},
    )
    return built, artifacts.save(built, model_dir)


def open_model(model_dir: Path, name: str | None = None) -> tuple[ModelArtifact, Path]:
    """The model file named (a path or a name in ``model_dir``), else the newest one there."""
    path = artifacts.find_model(model_dir, name)
    return artifacts.load(path), path


def explain_lead(artifact: ModelArtifact, dataset: Dataset, lead: str) -> Explanation:
    """The score of one lead of ``dataset`` and the reasons for it."""
    artifact.check(dataset.frame, what=_what(dataset))
    row = dataset.find(lead)
    return explain(artifact.model, dataset.frame.iloc[[row]], name=str(dataset.ids.iloc[row]))


def _what(dataset: Dataset) -> str:
    """How a refusal names the data: the file, or the store."""
    return "the store's leads" if dataset.name == STORE else dataset.source


@dataclass(frozen=True)
class ScoredLead:
    """One lead's probability of converting and its score on the contract's 0-100 scale."""

    probability: float

    @property
    def score(self) -> int:
        return round(self.probability * 100)


def score_lead(model: LeadScoreModel, lead: Mapping[str, Any]) -> ScoredLead:
    """Score one lead given as a mapping of feature name to value (a missing key is refused).

    ``model`` is a fitted model, such as a model file's ``artifact.model``. The lead goes
    through no table: its values are encoded straight from the mapping.
    """
    model.features_.require(lead.keys(), what="the lead")
    return ScoredLead(float(model.predict_proba([lead])[0, 1]))


def capacity(contract: Contract) -> int:
    """MQLs a month sales can work: ``sla.sales.capacity_mql_per_month``, else what
    marketing commits to deliver (``sla.marketing.mql_per_month``)."""
    terms = contract.sla
    return terms.sales.capacity_mql_per_month or terms.marketing.mql_per_month


def propose_threshold(
    artifact: ModelArtifact, contract: Contract, *, leads_per_month: float | None = None
) -> Proposal:
    """The MQL threshold whose expected monthly MQLs match sales' capacity in the contract."""
    per_month = leads_per_month or artifact.leads_per_month
    if not per_month:
        raise InvalidInput(
            f"the {artifact.card.data['name']} data has no dates, so how many leads arrive in a "
            "month is unknown; give it with --leads-per-month"
        )
    return capacity_threshold(
        artifact.holdout, leads_per_month=per_month, capacity=capacity(contract)
    )


@dataclass(frozen=True)
class DriftReport:
    """The drift of the score, with which recent leads it was measured on."""

    drift: Drift
    recent: str


def score_drift(
    artifact: ModelArtifact,
    dataset: Dataset,
    *,
    as_of: dt.datetime | None = None,
    days: int = RECENT_DAYS,
) -> DriftReport:
    """The PSI of the score between the model's training window and the last ``days`` days.

    ``as_of`` ends the recent window: now for the store, by default the newest lead's date for
    a file. Without dates, the latest tenth of the leads stand for the recent ones.
    """
    artifact.check(dataset.frame, what=_what(dataset))
    if dataset.at is None:
        count = max(1, round(len(dataset) * RECENT_SHARE))
        rows = np.arange(len(dataset) - count, len(dataset))
        recent = f"the latest {count:,} leads by {dataset.order} (the data has no dates)"
    else:
        at = dataset.at.to_numpy(dtype="datetime64[ns]")
        end = np.datetime64(as_of.astimezone(dt.UTC).replace(tzinfo=None)) if as_of else at.max()
        start = end - np.timedelta64(days, "D")
        rows = np.flatnonzero((at > start) & (at <= end))
        recent = f"{len(rows):,} leads that arrived in the {days} days to {str(end)[:10]}"
        if not len(rows):
            raise InvalidInput(
                f"no leads arrived in the {days} days to {str(end)[:10]}; nothing to compare"
            )
    scores = artifact.model.predict_proba(dataset.frame.iloc[rows])[:, 1]
    return DriftReport(psi(artifact.reference, scores), recent)
