"""The full scoreboard: every section the weekly meeting looks at, computed on any engine.

:func:`sections` is the one place that lists the scoreboard's sections as Ibis expressions over
:class:`~baton.analytics.source.Tables`; :func:`full_scoreboard` runs them where the tables
live (the store's SQLite or PostgreSQL, a DuckDB file, a Parquet export) and brings back the
small results. The engine test and the benchmark both call :func:`full_scoreboard`, so a
section added to :func:`sections` is checked on every engine and timed at a million leads.
"""

from __future__ import annotations

import ibis
import pandas as pd

from baton.analytics.funnel import funnel_by_channel
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract import Contract


def sections(tables: Tables, contract: Contract, period: Period | None) -> dict[str, ibis.Table]:
    """The scoreboard's sections, by name, as expressions not yet run.

    Parameters
    ----------
    tables
        The store's tables on one backend.
    contract
        The contract in force: stages, pipeline, SLA terms, goals.
    period
        The reporting period, or ``None`` for all history. The funnel counts every lead in the
        log whatever the period; period-bound sections use ``period.bounds()``.

    Returns
    -------
    dict of str to ibis.Table
        One expression per section; each result is small (a row per channel, stage, rep...).
    """
    return {
        "funnel": funnel_by_channel(tables.stage_changes, tables.leads, contract.main_path()),
    }


def full_scoreboard(
    tables: Tables, contract: Contract, period: Period | None = None
) -> dict[str, pd.DataFrame]:
    """Run every section of :func:`sections` on the tables' backend.

    Returns
    -------
    dict of str to pandas.DataFrame
        The small result of each section, by name.
    """
    return {
        name: tables.backend.execute(expr)
        for name, expr in sections(tables, contract, period).items()
    }
