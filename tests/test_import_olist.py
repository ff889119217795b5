"""Importing the real Olist marketing funnel, checked against the raw CSV files."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, func, select

from baton.contract import default_contract_text
from baton.errors import ImportRejected
from baton.service.imports import run_import
from baton.store import tables as t

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def olist(shared_data: Path) -> Path:
    return shared_data / "olist-marketing-funnel"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def do_import(engine: Engine, paths: list[Path], clock) -> object:  # type: ignore[no-untyped-def]
    return run_import(engine, "olist", paths, contract_text=default_contract_text(), clock=clock)


def count(engine: Engine, model: type[t.Base]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_olist_gives_8000_leads_and_842_won_deals_joined_to_their_mql(engine: Engine, olist: Path, clock) -> None:  # type: ignore[no-untyped-def]
    do_import(engine, [olist], clock)
    mqls = read_csv(olist / "olist_marketing_qualified_leads_dataset.csv")
    deals = read_csv(olist / "olist_closed_deals_dataset.csv")
    assert count(engine, t.Lead) == len(mqls) == 8000
    assert count(engine, t.Opportunity) == len(deals) == 842

    with engine.connect() as conn:
        won = conn.execute(
            select(t.Opportunity.stage, func.count())
            .join(t.Lead, t.Lead.id == t.Opportunity.lead_id)
            .group_by(t.Opportunity.stage)
        ).all()
        assert won == [("won", 842)]
        stages = dict(conn.execute(select(t.Lead.stage, func.count()).group_by(t.Lead.stage)).all())
        assert stages == {"mql": 8000 - 842, "customer": 842}

        # the origin of each lead is its first (and only) touch, on its first contact date
        touches = {
            ext: (channel, occurred.date().isoformat(), landing)
            for ext, channel, occurred, landing in conn.execute(
                select(t.Lead.external_id, t.Touchpoint.channel, t.Touchpoint.occurred_at, t.Touchpoint.landing_page)
                .join(t.Touchpoint, t.Touchpoint.lead_id == t.Lead.id)
            )
        }
    expected = {
        row["mql_id"]: (row["origin"] or "unknown", row["first_contact_date"], row["landing_page_id"])
        for row in mqls
    }
    assert touches == expected
    assert Counter(c for c, _, _ in touches.values())["organic_search"] == 2296


def test_deal_values_match_the_raw_file(engine: Engine, olist: Path, clock) -> None:  # type: ignore[no-untyped-def]
    do_import(engine, [olist], clock)
    deals = {row["mql_id"]: row for row in read_csv(olist / "olist_closed_deals_dataset.csv")}
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.Opportunity.external_id, t.Opportunity.closed_at, t.User.external_id, t.Opportunity.properties)
            .join(t.User, t.User.id == t.Opportunity.owner_id)
        ).all()
        sdrs = conn.execute(select(func.count()).select_from(t.User).where(t.User.role == "sdr")).scalar_one()
    assert len(rows) == 842
    for ext, closed_at, owner, properties in rows:
        raw = deals[ext]
        assert closed_at.strftime("%Y-%m-%d %H:%M:%S") == raw["won_date"]
        assert owner == raw["sr_id"]
        assert properties["business_segment"] == (raw["business_segment"] or None)
        assert properties["sdr_id"] == raw["sdr_id"]
    all_people = {r["sdr_id"] for r in deals.values()} | {r["sr_id"] for r in deals.values()}
    assert count(engine, t.User) == len(all_people)
    assert sdrs == len(all_people - {r["sr_id"] for r in deals.values()})


def test_every_stage_change_names_the_contract_version(engine: Engine, olist: Path, clock) -> None:  # type: ignore[no-untyped-def]
    report = do_import(engine, [olist], clock)
    with engine.connect() as conn:
        versions = conn.execute(
            select(t.ContractVersion.version, func.count())
            .join(t.StageChangeRow, t.StageChangeRow.contract_version_id == t.ContractVersion.id)
            .group_by(t.ContractVersion.version)
        ).all()
    assert versions == [(1, 8000 + 842 + 842)]
    assert report.contract_version == 1  # type: ignore[attr-defined]


def test_importing_twice_changes_nothing(engine: Engine, olist: Path, clock) -> None:  # type: ignore[no-untyped-def]
    do_import(engine, [olist], clock)
    tables = (t.Lead, t.Touchpoint, t.Opportunity, t.User, t.StageChangeRow, t.ContractVersion)
    before = {m.__tablename__: count(engine, m) for m in tables}
    report = do_import(engine, [olist], clock)
    assert not report.changed_anything  # type: ignore[attr-defined]
    assert {m.__tablename__: count(engine, m) for m in tables} == before


def test_a_bad_row_imports_nothing_and_names_the_row(sqlite_engine: Engine, olist: Path, tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    mqls = tmp_path / "mqls.csv"
    deals = tmp_path / "deals.csv"
    shutil.copy(olist / "olist_closed_deals_dataset.csv", deals)
    lines = (olist / "olist_marketing_qualified_leads_dataset.csv").read_text().splitlines()
    fields = lines[4000].split(",")
    fields[1] = "2018-02-31"  # no such day
    lines[4000] = ",".join(fields)
    lines[6000] = lines[10]  # a duplicated mql_id
    mqls.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportRejected) as caught:
        do_import(sqlite_engine, [mqls, deals], clock)
    messages = [str(p) for p in caught.value.problems]
    assert messages[0] == (
        'mqls.csv row 4001 column first_contact_date: "2018-02-31" is not a date; use ISO 8601 '
        "such as 2026-07-01 or 2026-07-01T09:30:00+02:00 (or set a date format in the mapping)"
    )
    assert messages[1].startswith("mqls.csv row 6001 column mql_id: ")
    assert "already appears in row 11" in messages[1]
    assert "nothing was written" in caught.value.summary
    for model in (t.Lead, t.Opportunity, t.StageChangeRow, t.ContractVersion):
        assert count(sqlite_engine, model) == 0


def test_a_deal_without_its_mql_is_refused(sqlite_engine: Engine, olist: Path, tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    deals = tmp_path / "deals.csv"
    lines = (olist / "olist_closed_deals_dataset.csv").read_text().splitlines()
    lines[1] = "f" * 32 + lines[1][32:]
    deals.write_text("\n".join(lines) + "\n")
    with pytest.raises(ImportRejected, match=r"deals.csv row 2 column mql_id: \"f{32}\" is not in"):
        do_import(sqlite_engine, [olist / "olist_marketing_qualified_leads_dataset.csv", deals], clock)
    assert count(sqlite_engine, t.Lead) == 0
    assert sa.inspect(sqlite_engine).has_table("leads")


def test_reading_dates_in_another_zone_does_not_log_moves_twice(sqlite_engine: Engine, olist: Path, clock) -> None:  # type: ignore[no-untyped-def]
    from baton.ingest.presets import ImportOptions

    do_import(sqlite_engine, [olist], clock)
    before = count(sqlite_engine, t.StageChangeRow)
    report = run_import(
        sqlite_engine, "olist", [olist], contract_text=default_contract_text(), clock=clock,
        options=ImportOptions(timezone="America/Sao_Paulo"),
    )
    assert report.counts["leads"]["changed"] == 8000  # created_at moved by the zone
    assert report.counts["stage_changes"] == {"new": 0, "changed": 0, "same": before}
    assert count(sqlite_engine, t.StageChangeRow) == before
