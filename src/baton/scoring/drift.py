"""Has the score moved? Population stability of the score, training window against recent leads.

The population stability index compares two distributions over the same bins:
``PSI = Σ (recent share - training share) · ln(recent share / training share)``. The bins are
the deciles of the training leads' scores, fixed when the model is saved, so each holds about
a tenth of the training leads. An empty bin counts as a share of 0.0001, so the index stays
finite. By the usual reading, under 0.1 is stable, 0.1 to 0.2 a shift worth watching, and over
0.2 (:data:`WARN`) a shift that calls for a look at the leads and probably a new model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from baton.errors import InvalidInput
from baton.scoring.predictive import Floats

WARN = 0.2
BINS = 10
FLOOR = 1e-4


@dataclass(frozen=True)
class Reference:
    """The training leads' score distribution: inner bin edges and each bin's share."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]

    @classmethod
    def of(cls, scores: Floats, bins: int = BINS) -> Reference:
        """Decile bins of ``scores`` (fewer when many scores tie) and their shares."""
        if len(scores) == 0:
            raise InvalidInput("no training scores to compare with")
        cuts = np.quantile(scores, np.linspace(0, 1, bins + 1)[1:-1])
        edges = tuple(float(e) for e in np.unique(cuts))
        return cls(edges, tuple(float(s) for s in shares(scores, edges)))

    def to_dict(self) -> dict[str, Any]:
        return {"edges": list(self.edges), "shares": list(self.shares)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reference:
        return cls(tuple(data["edges"]), tuple(data["shares"]))


@dataclass(frozen=True)
class Drift:
    """The index, whether it warns, and the table behind it (one row per bin)."""

    psi: float
    leads: int
    table: pd.DataFrame

    @property
    def warn(self) -> bool:
        return self.psi > WARN


def shares(scores: Floats, edges: tuple[float, ...]) -> Floats:
    """The share of ``scores`` in each bin: below the first edge, between edges, from the last."""
    counts = np.bincount(
        np.searchsorted(np.asarray(edges), scores, side="right"), minlength=len(edges) + 1
    )
    return counts / max(len(scores), 1)


def psi(reference: Reference, recent: Floats) -> Drift:
    """The population stability index of ``recent`` scores against the training reference."""
    if len(recent) == 0:
        raise InvalidInput("no recent leads to compare with the training window")
    expected = np.maximum(np.asarray(reference.shares), FLOOR)
    actual = np.maximum(shares(recent, reference.edges), FLOOR)
    parts = (actual - expected) * np.log(actual / expected)
    lows = (float("-inf"), *reference.edges)
    highs = (*reference.edges, float("inf"))
    table = pd.DataFrame(
        {
            "bin": np.arange(1, len(expected) + 1),
            "low": [max(lo, 0.0) for lo in lows],
            "high": [min(hi, 1.0) for hi in highs],
            "training_share": np.asarray(reference.shares),
            "recent_share": shares(recent, reference.edges),
            "psi": parts,
        }
    )
    return Drift(float(parts.sum()), len(recent), table)
