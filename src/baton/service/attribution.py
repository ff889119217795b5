"""Attribution use cases: run models side by side on the store's journeys, keep the results.

:func:`attribute` builds the journeys once where the tables live, runs the models on them (the
rule models together in one query, the data-driven ones each on their own), reconciles every
result to the totals and returns small frames; :func:`save_snapshots` stores
each model's result in the store (``attribution_snapshots`` and ``attribution_credits``) and
:func:`latest_snapshot` reads the newest one back, for reports and the dashboard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend
from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.analytics.attribution import MODELS, Model, get_model
from baton.analytics.attribution.journeys import Journeys
from baton.analytics.attribution.reconcile import Totals, reconcile, totals
from baton.analytics.attribution.registry import CREDIT_COLUMNS, as_json
from baton.analytics.attribution.rules import credit_together, positional, positional_weight
from baton.analytics.attribution.store_journeys import build_journeys
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract import Contract
from baton.contract.model import Attribution, PositionWeights
from baton.domain.model import Clock
from baton.errors import InvalidInput
from baton.progress import Advance, NoProgress
from baton.store.tables import AttributionCredit, AttributionSnapshot

#: The columns of :attr:`AttributionResult.credit`.
RESULT_COLUMNS = ("model", "channel", "conversions", "value", "share", "value_share")


def models_for(settings: Attribution) -> dict[str, Model]:
    """The registered models and the contract's custom position models, by name."""
    models = dict(MODELS)
    for i, custom in enumerate(settings.custom):
        if custom.key in models:
            raise InvalidInput(
                f'attribution.custom[{i}].key: "{custom.key}" is the name of a built-in model; '
                "give the custom model another key"
            )
        weights = PositionWeights(**custom.model_dump(exclude={"key", "label"}))
        models[custom.key] = Model(
            custom.key,
            custom.label or "custom position weights from the contract",
            positional,
            fixed={"weights": weights},
            weight=positional_weight,
        )
    return models


@dataclass(frozen=True)
class AttributionQuery:
    """What to attribute and how; unset parameters come from the contract's ``[attribution]``."""

    models: tuple[str, ...]
    outcome: str = "won"
    level: str = "account"
    by: str = "channel"
    period: Period | None = None
    lookback_days: int | None = None
    half_life_days: float | None = None
    direct_channels: tuple[str, ...] | None = None

    def parameters(self, settings: Attribution) -> dict[str, Any]:
        """The parameters every model may read (see ``registry.PARAMETERS``)."""
        half_life = settings.half_life_days if self.half_life_days is None else self.half_life_days
        direct = settings.direct_channels if self.direct_channels is None else self.direct_channels
        return {
            "half_life_days": half_life,
            "direct_channels": list(direct),
            "u_shaped": settings.u_shaped,
            "w_shaped": settings.w_shaped,
            "full_path": settings.full_path,
        }


@dataclass(frozen=True)
class AttributionResult:
    """Models side by side over one set of journeys.

    ``credit`` has :data:`RESULT_COLUMNS`, a row per model and channel (every channel of the
    journeys under every model); ``share`` is the channel's part of the conversions,
    ``value_share`` of the value (null when the total is 0). ``reconciliation`` is
    :func:`~baton.analytics.attribution.reconcile.reconcile`'s frame.
    """

    query: AttributionQuery
    lookback_days: int
    engine: str
    totals: Totals
    credit: pd.DataFrame
    reconciliation: pd.DataFrame
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return list(self.parameters)

    def wide(self) -> pd.DataFrame:
        """One row per channel and ``<model> share`` / ``<model> value`` columns."""
        frame = self.credit.pivot(index="channel", columns="model", values=["share", "value"])
        columns = [(what, m) for m in self.models for what in ("share", "value")]
        frame = frame[columns]
        frame.columns = [f"{m} {what}" for what, m in columns]
        return frame.reset_index()


@contextmanager
def _cached(journeys: Journeys, backend: BaseBackend) -> Iterator[Journeys]:
    """The journeys computed once into temporary tables, so each model reads them, not the store.

    The tables are dropped on leaving. Not ``Table.cache()``: its release goes through Ibis's
    ``drop_table``, which sqlglot 30 renders without the table's name. Temporary tables belong
    to one connection, so their names only need to differ between the journeys asked: the
    same journeys asked again, or for another period (its bounds are parameters), get the
    same names, and every query over them is the same expression again, whose SQL a
    connection that keeps it does not compile again.
    """
    tag = f"{hash(journeys.touches.op()) & 0xFFFF_FFFF_FFFF:012x}"
    made: list[str] = []
    try:
        tables = {}
        for part in ("touches", "journeys"):
            name = f"_baton_attribution_{part}_{tag}"
            _drop(backend, name)  # left behind by a run that was stopped
            made.append(name)
            tables[part] = _temp_table(backend, name, getattr(journeys, part), journeys.params)
            if backend.name == "sqlite":
                # SQLite joins two unindexed tables by a nested loop: joining the journeys to
                # their touches took seconds (PostgreSQL and DuckDB hash-join them)
                _run(backend, f'CREATE INDEX "{name}_journey" ON "{name}" (journey_id)')
        yield replace(journeys, **tables, params={})
    finally:
        for name in made:
            _drop(backend, name)


def _run(backend: BaseBackend, statement: str) -> None:
    result = backend.raw_sql(statement)
    if backend.name != "duckdb":  # DuckDB hands back its connection, others a cursor
        result.close()


def _drop(backend: BaseBackend, name: str) -> None:
    _run(backend, f'DROP TABLE IF EXISTS "{name}"')


def _temp_table(
    backend: BaseBackend, name: str, expr: ir.Table, params: Mapping[Any, Any]
) -> ir.Table:
    """``expr`` (taking ``params``) computed into the temporary table ``name``, as Ibis's
    ``create_table`` makes one (columns typed by the expression's schema), but compiled
    through the backend's ``compile``: a connection that keeps compiled SQL
    (:func:`~baton.analytics.memo.remember_sql`) compiles the journeys of a query asked again,
    or of another period, only once."""
    schema = expr.schema()
    dialect = backend.dialect
    columns = ", ".join(c.sql(dialect) for c in schema.to_sqlglot_column_defs(dialect))
    _run(backend, f'CREATE TEMPORARY TABLE "{name}" ({columns})')
    _run(backend, f'INSERT INTO "{name}" {backend.compile(expr, params=params or None)}')
    namespace = ops.Namespace(database="temp" if backend.name == "sqlite" else None)
    return ops.DatabaseTable(name, schema=schema, source=backend, namespace=namespace).to_expr()


def attribute(
    tables: Tables, contract: Contract, query: AttributionQuery, *, advance: Advance | None = None
) -> AttributionResult:
    """Run ``query.models`` side by side on the journeys of ``tables``.

    Parameters
    ----------
    tables
        The store's tables, on any engine.
    contract
        Gives the stages and pipeline kinds (when outcomes happen) and ``[attribution]``
        (defaults of the parameters, custom models).
    query
        The models, outcome, level, breakdown, period and parameters.
    advance
        Told of each step done: the journeys, then the rule models together, then each
        data-driven model (the dashboard stops there a computation an action made useless).

    Returns
    -------
    AttributionResult
        Small frames; nothing is saved (see :func:`save_snapshots`).

    Raises
    ------
    InvalidInput
        For an unknown model, outcome, level or breakdown, or a bad parameter.
    """
    settings = contract.attribution
    models = models_for(settings)
    chosen = [get_model(name, models) for name in dict.fromkeys(query.models)]
    if not chosen:
        raise InvalidInput("no attribution model asked for; name one with --model")
    lookback = settings.lookback_days if query.lookback_days is None else query.lookback_days
    if lookback < 0:
        raise InvalidInput(f"--lookback-days must be 0 (no limit) or more (got {lookback})")
    given = query.parameters(settings)
    built = build_journeys(
        tables, contract, query.outcome, query.level, by=query.by, lookback_days=lookback,
        period=query.period,
    )  # fmt: skip
    step = advance or NoProgress().task("", None)
    with _cached(built, tables.backend) as journeys:
        step(1)
        total = totals(journeys)
        # the rule models in one query over the touches; the data-driven ones each on their own
        together = credit_together(journeys, [m for m in chosen if m.weight is not None], given)
        step(1)
        credits = {}
        for m in chosen:
            if m.name in together:
                credits[m.name] = _frame(together[m.name], tables)
            else:
                credits[m.name] = _frame(m(journeys, **given), tables)
                step(1)
    # every channel under every model: a model may leave out the ones it gave nothing
    channels = sorted(set().union(*(set(f["channel"]) for f in credits.values())))
    credits = {
        name: frame.set_index("channel").reindex(channels, fill_value=0.0).reset_index()
        for name, frame in credits.items()
    }
    frames = [
        _shares(frame, total).assign(model=name)[list(RESULT_COLUMNS)]
        for name, frame in credits.items()
    ]
    return AttributionResult(
        query=query,
        lookback_days=lookback,
        engine=tables.backend.name,
        totals=total,
        credit=pd.concat(frames, ignore_index=True),
        reconciliation=reconcile(credits, total),
        parameters={m.name: as_json(m.parameters(given)) for m in chosen},
    )


def _frame(result: ibis.Table | pd.DataFrame, tables: Tables) -> pd.DataFrame:
    frame = tables.backend.execute(result) if isinstance(result, ibis.Table) else result
    missing = [c for c in CREDIT_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"an attribution model returned no {', '.join(missing)} column")
    frame = frame[list(CREDIT_COLUMNS)].copy()
    frame["channel"] = frame["channel"].astype(str)
    for column in ("conversions", "value"):
        frame[column] = frame[column].astype("float64").fillna(0.0)
    return frame.groupby("channel", as_index=False)[["conversions", "value"]].sum()


def _shares(frame: pd.DataFrame, total: Totals) -> pd.DataFrame:
    return frame.assign(
        share=frame["conversions"] / total.conversions if total.conversions else float("nan"),
        value_share=frame["value"] / total.value if total.value else float("nan"),
    )


# -- snapshots ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    """A stored result of one model: what it was run on and its credit per channel."""

    id: int
    model: str
    parameters: dict[str, Any]
    outcome: str
    level: str
    by: str
    period: str | None
    engine: str
    created_at: dt.datetime
    totals: Totals
    conversions_residual: float
    value_residual: float
    credit: pd.DataFrame


def save_snapshots(session: Session, result: AttributionResult, *, clock: Clock) -> list[int]:
    """Store each model of ``result`` as a snapshot; return their ids (commit is the caller's).

    The parameters saved with a snapshot are the model's own and the journeys' lookback.
    """
    query, period = result.query, result.query.period
    bounds = period.bounds() if period is not None else (None, None)
    start, end = (b.replace(tzinfo=dt.UTC) if b is not None else None for b in bounds)
    now = clock()
    residuals = result.reconciliation.set_index("model")
    ids = []
    for model in result.models:
        row = AttributionSnapshot(
            model=model,
            parameters={**result.parameters[model], "lookback_days": result.lookback_days},
            outcome=query.outcome, level=query.level, by=query.by,
            period=period.label if period is not None else None,
            period_start=start, period_end=end, engine=result.engine, created_at=now,
            journeys=result.totals.journeys, conversions=result.totals.conversions,
            value=result.totals.value, nulls=result.totals.nulls,
            conversions_residual=float(residuals.loc[model, "conversions_residual"]),
            value_residual=float(residuals.loc[model, "value_residual"]),
        )  # fmt: skip
        session.add(row)
        session.flush()
        credit = result.credit[result.credit["model"] == model]
        session.add_all(
            AttributionCredit(
                snapshot_id=row.id,
                channel=str(c.channel),
                conversions=float(c.conversions),
                value=float(c.value),
            )
            for c in credit.itertuples(index=False)
        )
        ids.append(row.id)
    session.flush()
    return ids


def latest_snapshot(
    session: Session,
    model: str,
    *,
    outcome: str,
    level: str,
    by: str = "channel",
    period: str | None = None,
) -> Snapshot | None:
    """The newest snapshot of ``model`` for this outcome, level, breakdown and period label."""
    s = AttributionSnapshot
    found = session.scalars(
        select(s)
        .where(s.model == model, s.outcome == outcome, s.level == level, s.by == by)
        .where(s.period.is_(None) if period is None else s.period == period)
        .order_by(s.created_at.desc(), s.id.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    rows = session.scalars(
        select(AttributionCredit)
        .where(AttributionCredit.snapshot_id == found.id)
        .order_by(AttributionCredit.channel)
    ).all()
    credit = pd.DataFrame(
        [(r.channel, r.conversions, r.value) for r in rows], columns=list(CREDIT_COLUMNS)
    )
    total = Totals(found.journeys, found.conversions, found.value, found.nulls)
    return Snapshot(
        id=found.id, model=found.model, parameters=dict(found.parameters), outcome=found.outcome,
        level=found.level, by=found.by, period=found.period, engine=found.engine,
        created_at=found.created_at, totals=total,
        conversions_residual=found.conversions_residual, value_residual=found.value_residual,
        credit=credit,
    )  # fmt: skip


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with ``None`` for missing values, for JSON."""
    rows: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return rows


def model_list(settings: Attribution) -> list[tuple[str, str, Sequence[str]]]:
    """Name, summary and parameters of every model the contract makes available."""
    return [(m.name, m.summary, m.params) for m in models_for(settings).values()]
