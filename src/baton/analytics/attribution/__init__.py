"""Attribution: which channels and campaigns the conversions and revenue are credited to.

Every model reads :class:`~baton.analytics.attribution.journeys.Journeys` (touches in order, one
row per journey with its outcome) as Ibis tables, pushes the per-touch work to the engine, and
returns a small table of credit per channel that adds up to the totals. Models are found by
name in :data:`~baton.analytics.attribution.registry.MODELS`; importing this package registers
the rule-based ones (:mod:`~baton.analytics.attribution.rules`) and the data-driven ones
(:mod:`~baton.analytics.attribution.data_driven`: ``markov-1`` to ``markov-3``, ``shapley``).
"""

from baton.analytics.attribution import data_driven as data_driven
from baton.analytics.attribution import rules as rules
from baton.analytics.attribution.journeys import Journeys, from_path_table, read_paths
from baton.analytics.attribution.registry import MODELS, Model, get_model, register
from baton.analytics.attribution.store_journeys import build_journeys

__all__ = [
    "MODELS",
    "Journeys",
    "Model",
    "build_journeys",
    "from_path_table",
    "get_model",
    "read_paths",
    "register",
]
