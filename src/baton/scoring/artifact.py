"""Model files: the fitted model with its card, written as one JSON file.

A model file holds the :class:`ModelCard` (what was trained on which data, with which
parameters and library versions, and how it did against the baselines), the model itself
(features, categories, LightGBM's trees as text, the calibrator), the full evaluation, and
what ``baton score drift`` and ``baton score threshold`` compare with. It is plain JSON, so
loading one runs no code (unlike a pickle) and the card can be read with any tool.

Loading checks the file: its format, that the trees read as many features as the card lists,
and that the card's feature fingerprint matches its features. A model meets data through
:meth:`ModelArtifact.check`, which refuses a table lacking any of the model's features and
names them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from baton.errors import InvalidInput, NotFound
from baton.scoring.datasets import Dataset
from baton.scoring.drift import Reference
from baton.scoring.evaluate import Evaluation
from baton.scoring.features import FeatureSet
from baton.scoring.predictive import LeadScoreModel
from baton.scoring.threshold import histogram
from baton.scoring.training import Trained

FORMAT = "baton-lead-score"
FORMAT_VERSION = 1
SUFFIX = ".json"
_NAME = re.compile(r"[^a-z0-9_-]+")


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def params_hash(params: Mapping[str, Any]) -> str:
    """A fingerprint of the model's parameters (sorted JSON, SHA-256)."""
    return hashlib.sha256(json.dumps(dict(params), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class ModelCard:
    """What a model is: its data, features, parameters, versions and how it did."""

    name: str
    created: str
    data: dict[str, Any]
    features: list[dict[str, str]]
    feature_digest: str
    params: dict[str, Any]
    params_hash: str
    versions: dict[str, str]
    metrics: dict[str, dict[str, float]]
    evaluation: str
    calibration: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ModelArtifact:
    """A saved model: card, model, evaluation, holdout scores and the drift reference.

    ``holdout`` counts held-out leads, their summed probability and conversions per whole
    score (0-100) as the walk-forward scored them (:func:`~baton.scoring.threshold.histogram`);
    ``reference`` is the training leads' score deciles; ``leads_per_month`` how many leads the
    holdout saw a month, when the data has dates.
    """

    card: ModelCard
    model: LeadScoreModel
    evaluation: Evaluation
    holdout: pd.DataFrame
    reference: Reference
    leads_per_month: float | None

    @property
    def features(self) -> FeatureSet:
        return self.model.features_

    def check(self, frame: pd.DataFrame, what: str = "the data") -> None:
        """Refuse a table lacking any of the model's features, naming each one."""
        self.features.require(frame.columns, what=what)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "card": self.card.to_dict(),
            "model": self.model.fitted_state(),
            "evaluation": self.evaluation.to_dict(),
            "holdout": self.holdout.to_dict("list"),
            "reference": self.reference.to_dict(),
            "leads_per_month": self.leads_per_month,
        }


def build(
    trained: Trained,
    dataset: Dataset,
    *,
    name: str,
    created: dt.datetime,
    spec: Mapping[str, Any] | None = None,
) -> ModelArtifact:
    """The artifact of a training run on ``dataset`` (read from the ``--data`` ``spec``)."""
    model = trained.model
    params = model.fitted_state()["params"]
    rows = trained.training_rows
    card = ModelCard(
        name=name,
        created=created.isoformat(timespec="seconds"),
        data={
            "name": dataset.name,
            "source": dataset.source,
            "leads": len(dataset),
            "labelled": len(rows),
            "converted": int(dataset.label[rows].sum()),
            "window": dataset.window(rows),
            "holdout": trained.evaluation.window,
            "left_out": [{"column": c.column, "reason": c.reason} for c in dataset.left_out],
            "spec": dict(spec) if spec else {"spec": dataset.source},
        },
        features=model.features_.to_list(),
        feature_digest=model.features_.digest(),
        params=params,
        params_hash=params_hash(params),
        versions={
            "baton": _version("baton"),
            "lightgbm": _version("lightgbm"),
            "scikit-learn": _version("scikit-learn"),
        },
        metrics={
            c.key: {"roc_auc": c.roc_auc, "pr_auc": c.pr_auc, "brier": c.brier}
            for c in trained.evaluation.contenders
        },
        evaluation=trained.evaluation.protocol,
        calibration=model.calibrator_.kind,
    )
    holdout = histogram(trained.holdout_scores, dataset.label[trained.holdout_rows])
    training = model.predict_proba(dataset.frame.iloc[rows])[:, 1]
    return ModelArtifact(
        card,
        model,
        trained.evaluation,
        holdout,
        Reference.of(training),
        leads_per_month(dataset, trained.holdout_rows),
    )


def leads_per_month(dataset: Dataset, rows: np.ndarray) -> float | None:
    """Leads a month over ``rows`` (from the first to the last lead's date), if dated."""
    if dataset.at is None or len(rows) == 0:
        return None
    at = pd.to_datetime(dataset.at.iloc[rows])
    first, last = at.min(), at.max()
    # month-stamped data (the bank's) spans whole months; dated data spans its days
    months = float((last.year - first.year) * 12 + last.month - first.month + 1)
    if (at.dt.day != 1).any() or (at.dt.normalize() != at).any():
        months = max((last - first).days, 1) / 30.4375
    return float(len(rows) / months)


def default_name(dataset: Dataset) -> str:
    return _NAME.sub("-", dataset.name.lower()).strip("-") or "model"


def save(artifact: ModelArtifact, folder: Path) -> Path:
    """Write the model file ``<folder>/<card name>.json`` (the folder is created)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{artifact.card.name}{SUFFIX}"
    text = json.dumps(artifact.to_dict(), allow_nan=True, default=_plain)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def load(path: Path) -> ModelArtifact:
    """Read a model file, checking its format and that its card matches the model in it."""
    if not path.is_file():
        raise NotFound(f"{path}: no such model file; train one with `baton score train`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a model file ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidInput(f"{path}: not a Baton lead score model file")
    if data.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(
            f"{path}: model file format {data.get('format_version')} is not the {FORMAT_VERSION} "
            "this Baton reads; train the model again with `baton score train`"
        )
    try:
        card = ModelCard.from_dict(data["card"])
        model = LeadScoreModel.from_state(data["model"])
        artifact = ModelArtifact(
            card,
            model,
            Evaluation.from_dict(data["evaluation"]),
            pd.DataFrame(data["holdout"]),
            Reference.from_dict(data["reference"]),
            data.get("leads_per_month"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{path}: the model file is damaged ({exc!r}); train it again") from exc
    if model.features_.digest() != card.feature_digest:
        raise InvalidInput(
            f"{path}: the card's feature fingerprint does not match the model's features; "
            "the file was changed by hand, train the model again"
        )
    return artifact


def find_model(folder: Path, name: str | None = None) -> Path:
    """The model file named ``name`` (a path, or a name in ``folder``), else the newest there."""
    if name:
        given = Path(name)
        if given.suffix == SUFFIX or given.is_file():
            return given
        return folder / f"{name}{SUFFIX}"
    files = sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
    if not files:
        raise NotFound(
            f"no model in {folder} (BATON_MODEL_DIR); train one with `baton score train`"
        )
    return max(files, key=lambda p: (_created(p), p.name))


def _created(path: Path) -> str:
    """The card's creation time, read without loading the whole model."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return str(data["card"]["created"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
