"""The scoreboard use cases: metrics computed in the store's database through Ibis."""

from __future__ import annotations

import pandas as pd

from baton.analytics.engine import connect
from baton.analytics.funnel import funnel_by_channel
from baton.contract import Contract


def funnel_scoreboard(database_url: str, contract: Contract) -> pd.DataFrame:
    """The funnel by channel and overall, computed inside the store at ``database_url``.

    Parameters
    ----------
    database_url
        The store's URL (``BATON_DATABASE_URL``).
    contract
        The contract whose main path gives the stages and their order.

    Returns
    -------
    pandas.DataFrame
        The rows of :func:`baton.analytics.funnel.funnel_by_channel`: one per channel and
        stage, with ``reached``, ``converted`` and ``conversion``.
    """
    con = connect(database_url)
    try:
        expr = funnel_by_channel(
            con.table("stage_changes"), con.table("leads"), contract.main_path()
        )
        return expr.to_pandas()
    finally:
        con.disconnect()
