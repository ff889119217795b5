"""The attribution models by name: what ``baton attribution --model`` and ``--compare`` accept.

A model is a function ``model(journeys, **params)`` that takes
:class:`~baton.analytics.attribution.journeys.Journeys` and returns the credit per channel: an
Ibis table (run where the journeys live) or a small pandas frame with the columns
:data:`CREDIT_COLUMNS`: ``channel`` (string), ``conversions`` and ``value`` (float64). The
credit of each model adds up to the conversions and value of the journeys
(:mod:`~baton.analytics.attribution.reconcile` checks it). Rows for channels that got no credit
may be left out; the service adds them with 0.

To add a model, decorate its function with :func:`register` in a module that
``baton/analytics/attribution/__init__.py`` imports::

    @register("markov", "Markov chain removal effect (exact)", params=("order",))
    def markov(journeys: Journeys, *, order: int = 1) -> pd.DataFrame: ...

``params`` names the keyword arguments the model reads from the parameters the caller has
(:data:`PARAMETERS` lists the ones the service passes); each run is stored with them. The CLI
lists the registered models in its help and in ``baton attribution --list``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import ibis
import pandas as pd
from pydantic import BaseModel

from baton.contract.load import did_you_mean
from baton.errors import InvalidInput

if TYPE_CHECKING:
    from baton.analytics.attribution.journeys import Journeys

#: The columns of a model's result.
CREDIT_COLUMNS = ("channel", "conversions", "value")
#: The parameters the service passes to models, each with what it means.
PARAMETERS: dict[str, str] = {
    "half_life_days": "time decay: a touch this many days older than another gets half its weight",
    "direct_channels": "last non-direct: the channels that count as direct",
    "u_shaped": "U-shaped: the position weights",
    "w_shaped": "W-shaped: the position weights",
    "full_path": "full path: the position weights",
}

Credit: TypeAlias = "ibis.Table | pd.DataFrame"
ModelFunction: TypeAlias = Callable[..., Any]


@dataclass(frozen=True)
class Model:
    """A registered attribution model.

    Attributes
    ----------
    name
        What ``--model`` and ``--compare`` call it.
    summary
        One line for the model list.
    run
        The function: ``run(journeys, **fixed, **params) -> Credit``.
    params
        The names of the parameters it reads from the caller's.
    fixed
        Parameters bound when it was registered (a custom model's weights).
    weight
        For a rule model, its weight function (see :mod:`~baton.analytics.attribution.rules`):
        rule models with one are computed together, in one query, by
        :func:`~baton.analytics.attribution.rules.credit_together`.
    """

    name: str
    summary: str
    run: ModelFunction
    params: tuple[str, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    weight: ModelFunction | None = None

    def parameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters a run with ``given`` uses: the fixed ones and the ones it reads."""
        return {**self.fixed, **{k: given[k] for k in self.params if k in given}}

    def __call__(self, journeys: Journeys, **given: Any) -> Credit:
        return self.run(journeys, **self.parameters(given))


#: Every registered model by name, in the order registered.
MODELS: dict[str, Model] = {}


def register(
    name: str, summary: str, params: Iterable[str] = (), weight: ModelFunction | None = None
) -> Callable[[ModelFunction], ModelFunction]:
    """A decorator adding the function to :data:`MODELS` under ``name``.

    A rule model also gives its ``weight`` function, so that it can be computed together
    with other rule models (:func:`~baton.analytics.attribution.rules.credit_together`).
    """

    def add(run: ModelFunction) -> ModelFunction:
        if name in MODELS:
            raise ValueError(f'an attribution model named "{name}" is registered already')
        MODELS[name] = Model(name, summary, run, tuple(params), weight=weight)
        return run

    return add


def get_model(name: str, models: Mapping[str, Model] | None = None) -> Model:
    """The model called ``name``; :class:`InvalidInput` naming the known ones if there is none."""
    known = MODELS if models is None else models
    if name not in known:
        raise InvalidInput(f'"{name}" is not an attribution model{did_you_mean(name, known)}')
    return known[name]


def as_json(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON-ready values (position weights become their dicts)."""
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if isinstance(value, BaseModel):
            value = value.model_dump()
        elif isinstance(value, (tuple, frozenset, set)):
            value = sorted(value) if isinstance(value, (frozenset, set)) else list(value)
        out[key] = value
    return out
