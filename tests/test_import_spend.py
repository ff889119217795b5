"""``baton import spend``: monthly marketing spend, checked row by row, written once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.fixtures import ten_leads

from baton.contract import default_contract_text, parse_contract
from baton.demo.simulator import simulate
from baton.errors import ImportRejected
from baton.ingest.presets import ImportOptions
from baton.service.imports import ImportReport, run_import
from baton.store import tables as t

GOOD = """month,channel,campaign,amount,currency,note
2026-07,Paid Search,C-paid_search,"1,000.50",USD,brand
2026-08-15,events,events campaign,2000,,
2026-09,organic_search,,1000,usd,
"""


def write(tmp_path: Path, text: str, name: str = "spend.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_spend(
    engine: Engine, clock: object, path: Path, source: str = ten_leads.SOURCE
) -> ImportReport:
    return run_import(
        engine, "spend", [path], contract_text=default_contract_text(), clock=clock,  # type: ignore[arg-type]
        options=ImportOptions(source=source),
    )


def stored(engine: Engine) -> list[tuple[object, ...]]:
    with Session(engine) as s:
        rows = s.execute(
            select(t.CampaignSpend.month, t.CampaignSpend.channel, t.Campaign.external_id,
                   t.CampaignSpend.amount, t.CampaignSpend.currency, t.CampaignSpend.properties)
            .outerjoin(t.Campaign, t.CampaignSpend.campaign_id == t.Campaign.id)
            .order_by(t.CampaignSpend.month)
        )
        return [tuple(r) for r in rows]


def test_a_good_file_is_stored_once_and_updated_in_place(
    engine: Engine, clock: object, tmp_path: Path
) -> None:
    ten_leads.load(engine, clock)  # its campaigns: C-paid_search "paid_search campaign", ...
    path = write(tmp_path, GOOD)
    first = import_spend(engine, clock, path)
    assert first.counts["campaign_spend"] == {"new": 3, "changed": 0, "same": 0}
    assert stored(engine) == [
        # by external id; the channel folded to snake case; the month from YYYY-MM
        (dt.date(2026, 7, 1), "paid_search", "C-paid_search", Decimal("1000.50"), "USD",
         {"note": "brand"}),
        # by campaign name; a date stands for its month; no currency is the contract's
        (dt.date(2026, 8, 1), "events", "C-events", Decimal("2000.00"), "USD", {}),
        (dt.date(2026, 9, 1), "organic_search", None, Decimal("1000.00"), "USD", {}),
    ]
    again = import_spend(engine, clock, path)
    assert not again.changed_anything
    write(tmp_path, GOOD.replace("2026-09,organic_search,,1000", "2026-09,organic_search,,1250"))
    corrected = import_spend(engine, clock, path)
    assert corrected.counts["campaign_spend"] == {"new": 0, "changed": 1, "same": 2}
    assert stored(engine)[2][3] == Decimal("1250.00")


def test_every_bad_row_is_named_and_nothing_is_written(
    sqlite_engine: Engine, clock: object, tmp_path: Path
) -> None:
    path = write(tmp_path, """month,channel,campaign,amount,currency
2026-13,paid_search,,100,
2026-07,,,100,
2026-07,events,,lots,
2026-07,events,,-5,
2026-07,events,,10,EUR
2026-08,email,,10,
2026-08,Email,,20,
July,email,,10,
""")
    with pytest.raises(ImportRejected) as caught:
        import_spend(sqlite_engine, clock, path, source="spend")
    assert [str(p) for p in caught.value.problems] == [
        'spend.csv row 2 column month: "2026-13" is not a month; write it as 2026-07 or as a '
        "date such as 2026-07-01",
        "spend.csv row 3 column channel: is empty; every row needs a value here",
        'spend.csv row 4 column amount: "lots" is not a number; write it like 1234.50',
        'spend.csv row 5 column amount: "-5" is negative; spend is what a month cost, so write '
        "refunds as a lower amount for that month",
        "spend.csv row 6 column currency: \"EUR\" is not the contract's currency USD; Baton "
        "does not convert money, so convert the amount to USD (or leave the cell empty)",
        "spend.csv row 8: repeats the month, channel and campaign of row 7; add the amounts up "
        "into one row",
        'spend.csv row 9 column month: "July" is not a month; write it as 2026-07 or as a '
        "date such as 2026-07-01",
    ]
    assert stored(sqlite_engine) == []


def test_a_missing_column_and_an_unknown_campaign_are_named(
    sqlite_engine: Engine, clock: object, tmp_path: Path
) -> None:
    missing = write(tmp_path, "month,chanel,amount\n2026-07,email,10\n")
    with pytest.raises(ImportRejected) as caught:
        import_spend(sqlite_engine, clock, missing)
    assert [str(p) for p in caught.value.problems] == [
        'spend.csv row 1: missing column "channel"; did you mean "chanel"?'
    ]
    unknown = write(tmp_path, "month,channel,campaign,amount\n2026-07,email,Spring promo,10\n")
    with pytest.raises(ImportRejected) as caught:
        import_spend(sqlite_engine, clock, unknown, source="spend")
    assert [str(p) for p in caught.value.problems] == [
        'spend.csv row 2: campaign "Spring promo" is neither the id nor the name of a campaign '
        'of source "spend"; import the campaigns first, or pass --source with their source'
    ]


def test_the_demo_records_its_campaigns_monthly_spend() -> None:
    contract = parse_contract(default_contract_text())
    bundle = simulate(contract, seed=3, leads=400, months=4, end=dt.date(2026, 7, 1))
    assert bundle.spend
    for campaign in bundle.campaigns:
        mine = [s for s in bundle.spend if s.campaign == campaign.external_id]
        months = {f"{s.month:%Y-%m}": float(s.amount) for s in mine}
        assert months == pytest.approx(campaign.properties["monthly_spend"]), campaign.external_id
        assert sum(months.values()) == pytest.approx(float(campaign.budget or 0))
    assert len({s.external_id for s in bundle.spend}) == len(bundle.spend)
    assert {s.channel for s in bundle.spend} == {c.channel for c in bundle.campaigns}
    assert all(s.month.day == 1 and s.month < dt.date(2026, 7, 1) for s in bundle.spend)
