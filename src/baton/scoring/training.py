"""Training run: the model and both baselines on the same time-ordered holdout, then the model.

The holdout is the latest ``holdout`` share of the labelled leads, in time order. It is
scored *walking forward*: it is cut into about ``folds`` consecutive blocks (ending at month
boundaries when the data has dates), and each block is scored by every contender fitted on
all leads before the block. So every held-out lead is scored by models that saw only earlier
leads, as a model retrained each month would score it in production (and as Moro et al.
evaluate on the bank data with a rolling window). With ``folds=1`` this is the plain split:
train on the first 80%, test on the last 20%.

After the evaluation the model is fitted once more on every labelled lead: that is the model
saved, and its card carries the walk-forward figures.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from baton.errors import InvalidInput
from baton.progress import NoProgress, Progress
from baton.scoring.baselines import LogisticBaseline, OdooNaiveBayes
from baton.scoring.datasets import Dataset
from baton.scoring.evaluate import LOGISTIC, MODEL, NAIVE_BAYES, Evaluation, evaluate
from baton.scoring.predictive import Floats, LeadScoreModel

HOLDOUT = 0.2
FOLDS = 5


class Classifier(Protocol):
    def fit(self, X: pd.DataFrame, y: Any) -> Any: ...
    def predict_proba(self, X: pd.DataFrame) -> Floats: ...


@dataclass(frozen=True)
class Fold:
    """Held-out leads ``start`` to ``end`` (positions among the labelled leads, end excluded),
    scored by contenders fitted on the leads before ``start``."""

    start: int
    end: int


@dataclass(frozen=True)
class Trained:
    """A training run: the model fitted on all labelled leads, and the walk-forward evaluation.

    ``holdout_scores`` holds the walk-forward probabilities of the model for the held-out
    leads (positions ``holdout_rows`` of the dataset), used to show how a threshold did.
    """

    model: LeadScoreModel
    evaluation: Evaluation
    folds: tuple[Fold, ...]
    holdout_rows: NDArray[np.intp]
    holdout_scores: Floats
    training_rows: NDArray[np.intp]


def holdout_folds(
    rows: int, months: NDArray[np.str_] | None, *, holdout: float = HOLDOUT, folds: int = FOLDS
) -> list[Fold]:
    """The walk-forward blocks of the last ``holdout`` share of ``rows`` time-ordered leads.

    Blocks hold about the same number of leads; with ``months`` (each lead's ``YYYY-MM``),
    a block ends only where a month does, once it holds at least its share, and a last
    block under half a share joins the one before.
    """
    if not 0 < holdout < 1 or folds < 1:
        raise InvalidInput(
            f"the holdout must be between 0 and 1 and folds at least 1, not {holdout} and {folds}"
        )
    cut = int(rows * (1 - holdout))
    if cut < 2 or cut >= rows:
        raise InvalidInput(f"{rows} labelled leads are too few to hold out {holdout:.0%} of them")
    size = math.ceil((rows - cut) / folds)
    if months is None:
        edges = sorted({round(e) for e in np.linspace(cut, rows, folds + 1)})
    else:
        edges = [cut]
        starts = np.flatnonzero(months[1:] != months[:-1]) + 1
        for start in starts[starts > cut]:
            if start - edges[-1] >= size:
                edges.append(int(start))
        if len(edges) > 1 and rows - edges[-1] < size / 2:
            edges.pop()
        edges.append(rows)
    return [Fold(a, b) for a, b in itertools.pairwise(edges)]


def contenders(
    params: Mapping[str, Any] | None = None,
) -> dict[str, Callable[[Dataset], Classifier]]:
    """How each contender is made for a dataset: the model (with ``params``) and both baselines."""
    extra = dict(params or {})
    return {
        MODEL: lambda d: LeadScoreModel(d.features, **extra),
        NAIVE_BAYES: lambda d: OdooNaiveBayes(d.features),
        LOGISTIC: lambda d: LogisticBaseline(d.features),
    }


def walk_forward(
    dataset: Dataset,
    *,
    holdout: float = HOLDOUT,
    folds: int = FOLDS,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[list[Fold], NDArray[np.intp], dict[str, Floats]]:
    """Score the holdout walking forward with every contender.

    Returns
    -------
    folds, rows, predictions
        The blocks, the dataset positions of the held-out leads, and each contender's
        probabilities for them.
    """
    labelled = dataset.training_rows()
    months = dataset.months()
    blocks = holdout_folds(
        len(labelled), None if months is None else months[labelled], holdout=holdout, folds=folds
    )
    makers = contenders(params)
    held = labelled[blocks[0].start :]
    predictions = {key: np.empty(len(held)) for key in makers}
    done = (progress or NoProgress()).task("walk-forward evaluation", len(blocks) * len(makers))
    offset = blocks[0].start
    for block in blocks:
        before, scored = labelled[: block.start], labelled[block.start : block.end]
        X, y = dataset.frame.iloc[before], dataset.label[before]
        for key, make in makers.items():
            fitted = make(dataset).fit(X, y)
            p = fitted.predict_proba(dataset.frame.iloc[scored])[:, 1]
            predictions[key][block.start - offset : block.end - offset] = p
            done(1)
    return blocks, held, predictions


def train(
    dataset: Dataset,
    *,
    holdout: float = HOLDOUT,
    folds: int = FOLDS,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> Trained:
    """Evaluate the model against both baselines walking forward, then fit it on every lead.

    Parameters
    ----------
    dataset
        The leads; only labelled ones are used.
    holdout, folds
        The share of the latest leads held out, and about how many blocks it is scored in.
    params
        Parameters of :class:`~baton.scoring.predictive.LeadScoreModel`.
    progress
        Where to report progress.
    """
    progress = progress or NoProgress()
    blocks, held, predictions = walk_forward(
        dataset, holdout=holdout, folds=folds, params=params, progress=progress
    )
    protocol = (
        f"walk-forward over the latest {holdout:.0%} of {int(dataset.labelled.sum()):,} labelled "
        f"leads in {dataset.order} order: {len(blocks)} block{'s' if len(blocks) > 1 else ''}, "
        "each scored by models fitted on all leads before it"
    )
    evaluation = evaluate(
        dataset.label[held], predictions, protocol=protocol, window=dataset.window(held)
    )
    labelled = dataset.training_rows()
    done = progress.task("fitting the model on every lead", 1)
    model = LeadScoreModel(dataset.features, **dict(params or {}))
    model.fit(dataset.frame.iloc[labelled], dataset.label[labelled])
    done(1)
    return Trained(model, evaluation, tuple(blocks), held, predictions[MODEL], labelled)
