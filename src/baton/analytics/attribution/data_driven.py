"""The data-driven models in the model registry: Markov removal effect (orders 1 to 3) and Shapley.

Each is registered under its own name (``markov-1``, ``markov-2``, ``markov-3``, ``shapley``), so
``baton attribution --compare markov-1,shapley`` runs them beside the rule-based models and
their snapshots say which order was used. The work is in :mod:`.markov` and :mod:`.shapley`.
"""

from __future__ import annotations

import pandas as pd

from baton.analytics.attribution.journeys import Journeys
from baton.analytics.attribution.markov import markov
from baton.analytics.attribution.registry import CREDIT_COLUMNS, register
from baton.analytics.attribution.shapley import shapley


def _markov(order: int) -> None:
    def run(journeys: Journeys) -> pd.DataFrame:
        return markov(journeys, order=order)[list(CREDIT_COLUMNS)]

    register(
        f"markov-{order}",
        f"Markov chain removal effect of order {order}, computed exactly",
    )(run)


for _order in (1, 2, 3):
    _markov(_order)


@register("shapley", "Shapley value over channel coalitions (Zhao et al., 2018)")
def shapley_credit(journeys: Journeys) -> pd.DataFrame:
    """The simplified Shapley value credit, as the registry's three columns."""
    return shapley(journeys)[list(CREDIT_COLUMNS)]
