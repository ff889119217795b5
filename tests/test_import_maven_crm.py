"""The maven-crm preset on the real Maven "CRM + Sales Opportunities" files.

Expected values are recomputed from the raw CSV files with the csv module and pandas, never
with the preset's own code, so a wrong mapping cannot agree with itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from baton.contract import default_contract_text, parse_contract
from baton.domain.model import Clock
from baton.errors import ImportRejected, InvalidInput
from baton.ingest.presets import ImportOptions, get_preset
from baton.ingest.presets.maven_crm import LOST_REASON
from baton.ingest.records import ImportBundle
from baton.progress import NoProgress
from baton.service.imports import ImportReport, run_import
from baton.store import tables as t

pytestmark = pytest.mark.shared_data

PIPELINE = "sales_pipeline.csv"
#: The source's deal stages and the default contract's pipeline keys.
STAGE = {"Prospecting": "prospecting", "Engaging": "engaging", "Won": "won", "Lost": "lost"}
TABLES = (t.Team, t.User, t.Account, t.Opportunity, t.StageChangeRow)

Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def maven(shared_data: Path) -> Path:
    """The Maven CRM folder in the shared datasets; skipped (or failed in CI) when absent."""
    folder = shared_data / "maven-crm-sales-opportunities"
    if not folder.is_dir():
        reason = f"the Maven CRM files are not at {folder}"
        if os.environ.get("BATON_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(reason + "; BATON_REQUIRE_SHARED_DATA=1 requires them")
        pytest.skip(reason)
    return folder


def raw(folder: Path, name: str) -> Rows:
    with (folder / name).open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def midnight_utc(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=dt.UTC)


def copy_with(src: Path, dst: Path, edit: Callable[[Rows], None]) -> Path:
    """Copy the Maven files into ``dst``, letting ``edit`` change the pipeline's rows."""
    dst.mkdir()
    for path in src.glob("*.csv"):
        shutil.copy(path, dst / path.name)
    rows = raw(src, PIPELINE)
    edit(rows)
    with (dst / PIPELINE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return dst


def import_maven(engine: Engine, paths: list[Path], clock: Clock) -> ImportReport:
    text = default_contract_text()
    return run_import(engine, "maven-crm", paths, contract_text=text, clock=clock)


def read_bundle(
    paths: list[Path], contract_text: str | None = None, zone: str = "UTC"
) -> ImportBundle:
    contract = parse_contract(contract_text or default_contract_text())
    return get_preset("maven-crm")(paths, contract, ImportOptions(timezone=zone), NoProgress())


def table_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
            for m in TABLES
        }


# -- the real files, on SQLite and PostgreSQL ---------------------------------------------------
def test_import_matches_the_raw_files(engine: Engine, maven: Path, clock: Clock) -> None:
    report = import_maven(engine, [maven], clock)
    pipeline, teams = raw(maven, PIPELINE), raw(maven, "sales_teams.csv")
    accounts = raw(maven, "accounts.csv")

    expected_stages = Counter(STAGE[r["deal_stage"]] for r in pipeline)
    assert expected_stages == {"won": 4238, "lost": 2473, "engaging": 1589, "prospecting": 500}
    agents = {r["sales_agent"] for r in teams}
    managers = {r["manager"] for r in teams}
    # every agent in the pipeline is in the teams file; five agents there have no deals
    assert {r["sales_agent"] for r in pipeline} <= agents
    assert (len(agents), len(managers), len({r["sales_agent"] for r in pipeline})) == (35, 6, 30)
    assert report.counts["opportunities"]["new"] == len(pipeline) == 8800
    assert any("1480 rows" in note and '"GTXPro" as "GTX Pro"' in note for note in report.notes)

    with Session(engine) as s:
        stages = dict(
            s.execute(select(t.Opportunity.stage, func.count()).group_by(t.Opportunity.stage)).all()
        )
        assert stages == expected_stages
        assert s.scalar(select(func.count()).select_from(t.Account)) == len(accounts) == 85
        users = set(s.execute(select(t.User.name, t.User.role)).all())
        assert users == {(a, "sales") for a in agents} | {(m, "sales-manager") for m in managers}
        team_of = dict(
            s.execute(
                select(t.User.name, t.Team.external_id).join(t.Team, t.User.team_id == t.Team.id)
            ).all()
        )
        assert all(team_of[r["sales_agent"]] == r["manager"] for r in teams)
        team = s.scalars(select(t.Team).where(t.Team.external_id == "Dustin Brinkmann")).one()
        assert (team.name, team.region) == ("Dustin Brinkmann team", "Central")
        assert s.get(t.User, team.manager_id).name == "Dustin Brinkmann"  # type: ignore[union-attr]

        # spot values, read off the file by eye
        won = s.scalars(select(t.Opportunity).where(t.Opportunity.external_id == "1C1I7A6R")).one()
        assert (won.stage, won.amount, won.currency) == ("won", Decimal("1054"), "USD")
        assert won.close_date == dt.date(2017, 3, 1)
        assert won.closed_at == midnight_utc("2017-03-01")
        assert won.created_at == midnight_utc("2016-10-20")
        assert s.get(t.User, won.owner_id).name == "Moses Frase"  # type: ignore[union-attr]
        assert s.get(t.Account, won.account_id).name == "Cancity"  # type: ignore[union-attr]
        assert (won.name, won.product) == ("GTX Plus Basic for Cancity", "GTX Plus Basic")
        assert won.properties["list_price"] == 1096 and won.properties["product_series"] == "GTX"
        pro = s.scalars(select(t.Opportunity).where(t.Opportunity.external_id == "Z063OYW0")).one()
        assert (pro.product, pro.properties["product_raw"]) == ("GTX Pro", "GTXPro")
        lonely = s.scalars(
            select(t.Opportunity).where(t.Opportunity.external_id == "HAXMC4IX")
        ).one()
        assert (lonely.account_id, lonely.stage, lonely.amount, lonely.closed_at) == (
            None,
            "engaging",
            None,
            None,
        )
        assert lonely.name == "MG Advanced for no account"
        no_account = s.scalar(select(func.count()).where(t.Opportunity.account_id.is_(None)))
        assert no_account == sum(1 for r in pipeline if not r["account"]) == 1425
        acme = s.scalars(select(t.Account).where(t.Account.external_id == "Acme Corporation")).one()
        assert acme.annual_revenue == Decimal("1100040000.00")
        assert (acme.industry, acme.properties["sector_raw"]) == ("technolgy", "technolgy")
        assert (acme.employees, acme.country, acme.properties["year_established"]) == (
            2822,
            "United States",
            1996,
        )
        bluth = s.scalars(select(t.Account).where(t.Account.external_id == "Bluth Company")).one()
        assert bluth.parent_id == acme.id

        # the stage log, row by row, against the raw file
        logged: dict[str, list[tuple[str | None, str, dt.datetime, str | None]]] = {}
        query = (
            select(t.Opportunity.external_id, t.StageChangeRow)
            .join(t.StageChangeRow, t.StageChangeRow.subject_id == t.Opportunity.id)
            .where(t.StageChangeRow.subject == "opportunity")
            .order_by(t.StageChangeRow.at, t.StageChangeRow.id)
        )
        for ext, change in s.execute(query).all():
            assert change.contract_version_id is not None
            logged.setdefault(ext, []).append(
                (change.from_stage, change.to_stage, change.at, change.reason)
            )
        assert (
            s.scalar(select(func.count()).where(t.StageChangeRow.contract_version_id.is_(None)))
            == 0
        )

    expected: dict[str, list[tuple[str | None, str, dt.datetime, str | None]]] = {}
    for r in pipeline:
        steps = expected.setdefault(r["opportunity_id"], [])
        if r["deal_stage"] != "Prospecting":
            steps.append((None, "engaging", midnight_utc(r["engage_date"]), None))
        if r["deal_stage"] in ("Won", "Lost"):
            reason = LOST_REASON if r["deal_stage"] == "Lost" else None
            steps.append(
                ("engaging", STAGE[r["deal_stage"]], midnight_utc(r["close_date"]), reason)
            )
    assert logged == {k: v for k, v in expected.items() if v}
    assert report.counts["stage_changes"]["new"] == 1589 + 2 * (4238 + 2473)


def test_importing_twice_changes_nothing(engine: Engine, maven: Path, clock: Clock) -> None:
    first = import_maven(engine, [maven], clock)
    after_first = table_counts(engine)
    second = import_maven(engine, [maven], clock)
    assert first.changed_anything and not second.changed_anything
    for name, counts in second.counts.items():
        assert counts == {"new": 0, "changed": 0, "same": first.counts[name]["new"]}, name
    assert table_counts(engine) == after_first


def test_scoreboard_numbers_per_agent_match_pandas(
    engine: Engine, maven: Path, clock: Clock
) -> None:
    import_maven(engine, [maven], clock)
    o = t.Opportunity
    if engine.dialect.name == "sqlite":
        days = func.julianday(o.closed_at) - func.julianday(o.created_at)
    else:
        days = func.extract("epoch", o.closed_at - o.created_at) / 86400
    is_won = o.stage == "won"
    query = (
        select(
            t.User.name,
            func.sum(case((is_won, 1), else_=0)),
            func.count(),
            func.avg(case((is_won, o.amount))),
            func.avg(case((is_won, days))),
        )
        .join(t.User, o.owner_id == t.User.id)
        .where(o.stage.in_(("won", "lost")))
        .group_by(t.User.name)
    )
    with Session(engine) as s:
        store = {
            name: (won / closed, float(size), float(cycle))
            for name, won, closed, size, cycle in s.execute(query).all()
        }

    df = pd.read_csv(maven / PIPELINE, parse_dates=["engage_date", "close_date"])
    closed = df[df["deal_stage"].isin(["Won", "Lost"])]
    won = closed[closed["deal_stage"] == "Won"]
    win_rate = closed["deal_stage"].eq("Won").groupby(closed["sales_agent"]).mean()
    size = won.groupby("sales_agent")["close_value"].mean()
    cycle = (won["close_date"] - won["engage_date"]).dt.days.groupby(won["sales_agent"]).mean()
    expected = {a: (win_rate[a], size[a], cycle[a]) for a in win_rate.index}

    assert set(store) == set(expected) and len(store) == 30
    for agent, numbers in expected.items():
        assert store[agent] == pytest.approx(numbers, rel=1e-9), agent


def test_bad_rows_are_all_named_and_nothing_is_written(
    engine: Engine, maven: Path, clock: Clock, tmp_path: Path
) -> None:
    pipeline = raw(maven, PIPELINE)
    won_rows = [i for i, r in enumerate(pipeline) if r["deal_stage"] == "Won"]
    bad_date, bad_stage = won_rows[10], won_rows[500]

    def edit(rows: Rows) -> None:
        rows[bad_date]["close_date"] = "2017-13-45"
        rows[bad_stage]["deal_stage"] = "Wonn"

    folder = copy_with(maven, tmp_path / "maven", edit)
    with pytest.raises(ImportRejected) as caught:
        import_maven(engine, [folder], clock)
    found = [str(p) for p in caught.value.problems]
    # the header is row 1, so list index i is row i + 2
    assert len(found) == 2, found
    assert found[0].startswith(f"sales_pipeline.csv row {bad_date + 2} column close_date:")
    assert '"2017-13-45" is not a date' in found[0]
    assert found[1].startswith(f"sales_pipeline.csv row {bad_stage + 2} column deal_stage:")
    assert '"Wonn"' in found[1] and 'did you mean "Won"?' in found[1]
    assert all(n == 0 for n in table_counts(engine).values())


def test_a_duplicate_opportunity_id_names_both_rows(
    sqlite_engine: Engine, maven: Path, clock: Clock, tmp_path: Path
) -> None:
    def edit(rows: Rows) -> None:
        rows[100]["opportunity_id"] = rows[5]["opportunity_id"]

    folder = copy_with(maven, tmp_path / "maven", edit)
    duplicate = raw(maven, PIPELINE)[5]["opportunity_id"]
    with pytest.raises(ImportRejected) as caught:
        import_maven(sqlite_engine, [folder], clock)
    assert [str(p) for p in caught.value.problems] == [
        f'sales_pipeline.csv row 102 column opportunity_id: "{duplicate}" already appears in '
        "row 7; each row needs its own id (remove or merge the duplicate)"
    ]
    assert table_counts(sqlite_engine)["opportunities"] == 0


# -- reading only: no database ------------------------------------------------------------------
def test_files_are_known_by_header_not_name(maven: Path, tmp_path: Path) -> None:
    renamed = []
    for i, path in enumerate(sorted(maven.glob("*.csv"))):
        renamed.append(tmp_path / f"export-{i}.csv")
        shutil.copy(path, renamed[-1])
    bundle = read_bundle(renamed)
    assert not bundle.problems
    assert (
        len(bundle.opportunities),
        len(bundle.accounts),
        len(bundle.users),
        len(bundle.teams),
    ) == (8800, 85, 41, 6)
    dictionary = renamed[sorted(p.name for p in maven.glob("*.csv")).index("data_dictionary.csv")]
    assert f"{dictionary.name}: the data dictionary, not imported" in bundle.notes
    assert dictionary.name not in bundle.files and len(bundle.files) == 4


def test_a_missing_file_is_named(maven: Path) -> None:
    files = [p for p in maven.glob("*.csv") if p.name != "sales_teams.csv"]
    with pytest.raises(
        InvalidInput, match=r"missing: teams \(columns sales_agent, manager, regional_office\)"
    ):
        read_bundle(files)


def test_unknown_agent_account_and_product_are_problems(maven: Path, tmp_path: Path) -> None:
    def edit(rows: Rows) -> None:
        rows[0]["sales_agent"] = "Moses Frose"
        rows[1]["account"] = "Nobody Inc"
        rows[2]["product"] = "GTX Ultra"

    bundle = read_bundle([copy_with(maven, tmp_path / "maven", edit)])
    found = [str(p) for p in bundle.problems]
    assert found[0].startswith(
        'sales_pipeline.csv row 2 column sales_agent: "Moses Frose" is not a sales agent'
    )
    assert 'did you mean "Moses Frase"?' in found[0]
    assert found[1].startswith(
        'sales_pipeline.csv row 3 column account: "Nobody Inc" is not in accounts.csv'
    )
    assert found[2].startswith(
        'sales_pipeline.csv row 4 column product: "GTX Ultra" is not in products.csv'
    )
    assert len(found) == 3


def test_a_contract_without_the_stage_says_what_to_add(maven: Path) -> None:
    text = default_contract_text().replace('"prospecting"', '"prospect"')
    bundle = read_bundle([maven], contract_text=text)
    first = next(i for i, r in enumerate(raw(maven, PIPELINE)) if r["deal_stage"] == "Prospecting")
    assert [str(p) for p in bundle.problems] == [
        'contract pipeline: sales_pipeline.csv has 500 "Prospecting" deal(s), first at row '
        f"{first + 2}, and the contract has no pipeline stage for them; add a [[pipeline]] "
        'stage with key = "prospecting", kind = "open" to the contract'
    ]


def test_dates_without_a_zone_are_read_in_the_import_zone(maven: Path) -> None:
    bundle = read_bundle([maven], zone="America/New_York")
    deal = next(o for o in bundle.opportunities if o.external_id == "1C1I7A6R")
    assert deal.created_at == dt.datetime(2016, 10, 20, 4, tzinfo=dt.UTC)
    assert deal.close_date == dt.date(2017, 3, 1)
