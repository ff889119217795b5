"""The funnel scoreboard, computed in the store's database on a small history worked by hand."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import Engine

from baton.analytics.engine import connect
from baton.analytics.funnel import OVERALL, UNKNOWN, funnel_by_channel
from baton.contract import default_contract_text, parse_contract
from baton.errors import InvalidInput
from baton.ingest.records import ImportBundle, LeadIn, OpportunityIn, StageStep
from baton.service.imports import write_import

T0 = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
STAGES = ["subscriber", "lead", "mql", "sql", "opportunity", "customer"]


def lead(external_id: str, channel: str | None, *moves: str) -> LeadIn:
    """A lead moving one day apart through ``moves``; ``stage:reason`` gives a reason."""
    steps = []
    for day, move in enumerate(moves):
        to, _, reason = move.partition(":")
        steps.append(StageStep(to, T0 + dt.timedelta(days=day), reason=reason or None))
    return LeadIn(external_id, created_at=T0, channel=channel, history=steps, origin=external_id)


def history() -> ImportBundle:
    bundle = ImportBundle(source="hand")
    bundle.leads = [
        lead("w1", "web", "subscriber", "lead", "mql", "sql", "opportunity", "customer"),
        lead("w2", "web", "lead", "mql", "recycled:no-budget", "mql", "sql"),
        lead("w3", "web", "subscriber"),
        lead("w4", "web", "lead", "disqualified:not-icp"),
        lead("w5", "web"),  # no move: reached nothing
        lead("e1", "events", "mql", "sql", "opportunity"),  # imported straight into mql
        lead("e2", "events", "lead", "mql", "recycled:bad-timing"),
        lead("n1", None, "lead", "sql"),  # skipped mql
    ]
    # deal moves are in the same log and must not count
    bundle.opportunities = [
        OpportunityIn(
            "o1",
            "won",
            lead="w1",
            history=[
                StageStep("prospecting", T0),
                StageStep("won", T0 + dt.timedelta(days=3)),
            ],
        )
    ]
    return bundle


# Worked by hand: the furthest main-path stage of each lead is w1 customer, w2 sql,
# w3 subscriber, w4 lead; e1 opportunity, e2 mql; n1 sql.
CUMULATIVE = {
    "web": [4, 3, 2, 2, 1, 1],
    "events": [2, 2, 2, 1, 1, 0],
    UNKNOWN: [1, 1, 1, 1, 0, 0],
    OVERALL: [7, 6, 5, 4, 2, 1],
}
# Entering the stage itself: e1 never was a lead, n1 never an MQL, only w1 and w3 subscribers.
STRICT = {
    "web": [2, 3, 2, 2, 1, 1],
    "events": [0, 1, 2, 1, 1, 0],
    UNKNOWN: [0, 1, 0, 1, 0, 0],
    OVERALL: [2, 5, 4, 4, 2, 1],
}


COLUMNS = ["channel", "step", "stage", "reached", "next_stage", "converted", "conversion"]


def expected(reached: dict[str, list[int]]) -> list[tuple[object, ...]]:
    """The rows the funnel should give, in its order (channel, then step)."""
    rows = []
    for channel in sorted(reached):
        counts = reached[channel]
        for step, stage in enumerate(STAGES):
            last = step == len(STAGES) - 1
            converted = None if last else counts[step + 1]
            conversion = (
                None
                if converted is None or not counts[step]
                else round(converted / counts[step], 9)
            )
            rows.append(
                (
                    channel,
                    step,
                    stage,
                    counts[step],
                    None if last else STAGES[step + 1],
                    converted,
                    conversion,
                )
            )
    return rows


def plain(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    """Rows with nulls as None and floats rounded (3.0 == 3, so counts compare as numbers)."""

    def value(v: object) -> object:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return round(v, 9) if isinstance(v, float) else v

    return [tuple(value(v) for v in row) for row in frame.itertuples(index=False)]


@pytest.mark.parametrize("cumulative, reached", [(True, CUMULATIVE), (False, STRICT)])
def test_funnel_by_channel_matches_the_hand_worked_numbers(
    engine: Engine,
    database_url: str,
    clock: object,
    cumulative: bool,
    reached: dict[str, list[int]],
) -> None:
    text = default_contract_text()
    write_import(engine, lambda _contract: history(), label="test", contract_text=text, clock=clock)  # type: ignore[arg-type]
    con = connect(database_url)
    try:
        stages = parse_contract(text).main_path()
        expr = funnel_by_channel(
            con.table("stage_changes"), con.table("leads"), stages, cumulative=cumulative
        )
        got = expr.to_pandas()
    finally:
        con.disconnect()
    assert got.columns.tolist() == COLUMNS
    assert plain(got) == expected(reached)


def test_the_hand_worked_conversions() -> None:
    overall = [row[-1] for row in expected(CUMULATIVE) if row[0] == OVERALL]
    assert overall == pytest.approx([6 / 7, 5 / 6, 4 / 5, 2 / 4, 1 / 2, None])
    unknown = [row[-1] for row in expected(CUMULATIVE) if row[0] == UNKNOWN]
    assert unknown[3:] == [0.0, None, None]  # one SQL, no deal: 0%; no deal: nothing to convert


@pytest.mark.parametrize(
    "url", ["mysql://me@db/baton", "sqlite://", "sqlite:///:memory:", "not a url"]
)
def test_connect_refuses_what_it_cannot_read(url: str) -> None:
    with pytest.raises(InvalidInput):
        connect(url)
