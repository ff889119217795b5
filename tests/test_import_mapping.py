"""The ``csv`` preset: any CSV file with a mapping file, and ``baton import csv`` on the CLI."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from baton.cli import app
from baton.contract import default_contract_text
from baton.errors import ImportRejected, InvalidInput
from baton.ingest.presets import ImportOptions
from baton.service.imports import ImportReport, run_import
from baton.store import tables as t

FIXTURES = Path(__file__).parent / "fixtures" / "mapping"
LEADS = FIXTURES / "webinar-leads.csv"
MAPPING = FIXTURES / "webinar-leads.toml"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def run_csv(engine: Engine, clock: Any, path: Path, mapping: Path, **options: Any) -> ImportReport:
    return run_import(
        engine,
        "csv",
        [path],
        contract_text=default_contract_text(),
        clock=clock,
        options=ImportOptions(mapping=mapping, **options),
    )


def problems_of(engine: Engine, clock: Any, path: Path, mapping: Path) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        run_csv(engine, clock, path, mapping)
    return [str(p) for p in caught.value.problems]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited_mapping(tmp_path: Path, old: str, new: str) -> Path:
    text = MAPPING.read_text(encoding="utf-8")
    assert old in text
    return write(tmp_path, MAPPING.name, text.replace(old, new, 1))


def test_leads_with_a_mapping_file(engine: Engine, clock: Any) -> None:
    report = run_csv(engine, clock, LEADS, MAPPING)

    assert {k: c["new"] for k, c in report.counts.items()} == {
        "users": 1,
        "leads": 3,
        "stage_changes": 3,
    }
    with Session(engine) as session:
        leads = {r.external_id: r for r in session.scalars(select(t.Lead))}
        lena = leads["W-1001"]
        # the mapping's source, time zone (Berlin, UTC+1 in January) and day-first date format
        assert (lena.source, lena.created_at, lena.stage) == (
            "webinars",
            utc(2026, 1, 14, 9, 5),
            "lead",
        )
        assert (lena.email, lena.company, lena.title, lena.channel) == (
            "lena.fischer@hafen.example",
            "Hafen Logistik GmbH",
            "Head of Operations",
            "webinar",
        )
        assert lena.properties == {"Webinar": "Q1 pipeline clinic"}
        owner = session.get(t.User, lena.owner_id)
        assert (owner.external_id, owner.email) == (
            "jonas@ourcompany.example",
            "jonas@ourcompany.example",
        )
        assert leads["W-1002"].stage == "mql"
        sam = leads["W-1003"]
        assert (sam.company, sam.owner_id) == (None, None)  # empty cells are None
        changes = session.scalars(
            select(t.StageChangeRow).where(t.StageChangeRow.subject_id == sam.id)
        ).all()
        assert [(c.from_stage, c.to_stage, c.at, c.reason) for c in changes] == [
            (None, "disqualified", utc(2026, 1, 15, 7, 0), "webinars stage Not a fit"),
        ]
        assert changes[0].contract_version_id is not None

    again = run_csv(engine, clock, LEADS, MAPPING)
    assert not again.changed_anything


def test_accounts_then_opportunities_that_point_at_them(
    engine: Engine, clock: Any, tmp_path: Path
) -> None:
    accounts = write(
        tmp_path,
        "accounts.csv",
        """\
id,name,domain,employees,arr
A1,Hafen Logistik,hafen.example,420,
A2,Vela,vela.example,,1500000.00
""",
    )
    accounts_map = write(
        tmp_path,
        "accounts.toml",
        """\
entity = "accounts"
source = "sheet"
[columns]
external_id = "id"
name = "name"
domain = "domain"
employees = "employees"
annual_revenue = "arr"
""",
    )
    deals = write(
        tmp_path,
        "deals.csv",
        """\
deal,account,stage,value,chance,opened,closed,why
D1,A1,Proposal,25000,25%,2026-03-01T10:00:00+01:00,,
D2,A2,won,9000.5,1,2026-02-01 09:00,2026-02-20 16:00,
D3,A1,lost,4000,0,2026-01-10 09:00,2026-01-30 12:00,budget cut
""",
    )
    deals_map = write(
        tmp_path,
        "deals.toml",
        """\
entity = "opportunities"
source = "sheet"
timezone = "America/Chicago"
[columns]
external_id = "deal"
account = "account"
stage = "stage"
amount = "value"
probability = "chance"
created_at = "opened"
closed_at = "closed"
stage_reason = "why"
""",
    )

    run_csv(engine, clock, accounts, accounts_map)
    run_csv(engine, clock, deals, deals_map)

    with Session(engine) as session:
        deals_by_id = {d.external_id: d for d in session.scalars(select(t.Opportunity))}
        d1, d2, d3 = deals_by_id["D1"], deals_by_id["D2"], deals_by_id["D3"]
        hafen = session.get(t.Account, d1.account_id)
        assert (hafen.external_id, hafen.employees, hafen.annual_revenue) == ("A1", 420, None)
        assert session.get(t.Account, d2.account_id).annual_revenue == Decimal("1500000.00")
        # without [stages] the values must be the contract's keys, in any case
        assert (d1.stage, d1.amount, d1.currency, d1.probability) == (
            "proposal",
            Decimal("25000"),
            "USD",
            0.25,
        )
        # an offset in the cell wins over the mapping's zone; naive cells are Chicago time
        assert d1.created_at == utc(2026, 3, 1, 9, 0)
        assert (d2.stage, d2.closed_at, d2.probability) == ("won", utc(2026, 2, 20, 22, 0), 1.0)
        steps = {
            d.external_id: [
                (c.to_stage, c.at, c.reason)
                for c in session.scalars(
                    select(t.StageChangeRow).where(
                        t.StageChangeRow.subject == "opportunity",
                        t.StageChangeRow.subject_id == d.id,
                    )
                )
            ]
            for d in (d1, d2, d3)
        }
        assert steps == {
            "D1": [("proposal", utc(2026, 3, 1, 9, 0), None)],
            "D2": [("won", utc(2026, 2, 20, 22, 0), None)],
            "D3": [("lost", utc(2026, 1, 30, 18, 0), "budget cut")],
        }


def test_mapping_typos_are_named_with_key_paths(
    sqlite_engine: Engine, clock: Any, tmp_path: Path
) -> None:
    mapping = write(
        tmp_path, "m.toml", 'entity = "lead"\ntimezone = "Berlin"\n[colums]\nemail = "E-mail"\n'
    )

    assert problems_of(sqlite_engine, clock, LEADS, mapping) == [
        'm.toml entity: "lead" is not an entity; did you mean "leads"?',
        "m.toml columns: is required; add it (docs/importing.md has a full example)",
        'm.toml timezone: "Berlin" is not a known time zone; use an IANA name such as '
        '"Europe/Berlin"',
        'm.toml colums: "colums" is not a key of a mapping file; did you mean "columns"?',
    ]


def test_mapping_fields_and_stage_keys_are_checked(
    sqlite_engine: Engine, clock: Any, tmp_path: Path
) -> None:
    mapping = edited_mapping(tmp_path, 'email = "E-mail"', 'emial = "E-mail"')
    mapping.write_text(
        mapping.read_text(encoding="utf-8")
        .replace('created_at = "Registered"\n', "")
        .replace('"Attended" = "mql"', '"Attended" = "mq"'),
        encoding="utf-8",
    )

    assert problems_of(sqlite_engine, clock, LEADS, mapping) == [
        'webinar-leads.toml columns.emial: "emial" is not a field of leads; did you mean "email"?',
        'webinar-leads.toml columns: leads need a column for "created_at"; '
        'add created_at = "<column header>"',
        'webinar-leads.toml stages.Attended: "mq" is not a stage of the contract; '
        'did you mean "mql"?',
    ]


def test_mapping_columns_must_be_in_the_file(engine: Engine, clock: Any, tmp_path: Path) -> None:
    csv = write(
        tmp_path, LEADS.name, LEADS.read_text(encoding="utf-8").replace(";E-mail;", ";Email;")
    )

    assert problems_of(engine, clock, csv, MAPPING) == [
        'webinar-leads.toml columns.email: webinar-leads.csv has no column "E-mail"; '
        'did you mean "Email"?',
    ]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(t.Lead)) == 0


def test_bad_rows_are_all_named_and_nothing_is_written(
    engine: Engine, clock: Any, tmp_path: Path
) -> None:
    text = LEADS.read_text(encoding="utf-8")
    text = text.replace("14.01.2026 11:40;Attended", "31.02.2026 11:40;Attended")
    text = text.replace("W-1003;", "W-1001;").replace(";Registered;jonas", ";Signed up;jonas")
    csv = write(tmp_path, LEADS.name, text)

    assert problems_of(engine, clock, csv, MAPPING) == [
        'webinar-leads.csv row 2 column Status: "Signed up" has no stage in [stages] of '
        'webinar-leads.toml; add "Signed up" = "<stage key>" there '
        "(stage keys: subscriber, lead, recycled, mql, sql, opportunity, customer, disqualified)",
        'webinar-leads.csv row 3 column Registered: "31.02.2026 11:40" is not a date; use ISO 8601 '
        "such as 2026-07-01 or 2026-07-01T09:30:00+02:00 (or set a date format in the mapping)",
        'webinar-leads.csv row 4 column Registrant ID: "W-1001" already appears in row 2; each row '
        "needs its own id (remove or merge the duplicate)",
    ]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(t.Lead)) == 0


def test_a_reference_to_a_record_not_imported(
    sqlite_engine: Engine, clock: Any, tmp_path: Path
) -> None:
    csv = write(tmp_path, "contacts.csv", "id,account\nC1,ACME\n")
    mapping = write(
        tmp_path, "contacts.toml", '[columns]\nexternal_id = "id"\naccount = "account"\n'
    )
    mapping.write_text(
        'entity = "contacts"\n' + mapping.read_text(encoding="utf-8"), encoding="utf-8"
    )

    assert problems_of(sqlite_engine, clock, csv, mapping) == [
        'contacts.csv row 2: account "ACME" is not in this import nor already stored',
    ]


def test_csv_preset_needs_a_mapping(sqlite_engine: Engine, clock: Any) -> None:
    with pytest.raises(InvalidInput, match="needs a mapping file: pass --mapping"):
        run_import(
            sqlite_engine, "csv", [LEADS], contract_text=default_contract_text(), clock=clock
        )


# -- CLI --------------------------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("BATON_CONTRACT", str(tmp_path / "no-contract-here.toml"))
    return tmp_path


def test_cli_import_csv_prints_the_counts(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["import", "csv", str(LEADS), "--mapping", str(MAPPING)])

    assert result.exit_code == 0, result.output
    lines = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    assert "leads 3 0 0" in lines
    assert "stage_changes 3 0 0" in lines

    again = CliRunner().invoke(app, ["import", "csv", str(LEADS), "--mapping", str(MAPPING)])
    assert again.exit_code == 0
    assert "nothing changed: everything in these files was already imported" in again.stdout


def test_cli_import_csv_bad_file_exits_1_naming_the_row(cli_env: Path) -> None:
    bad = write(
        cli_env,
        LEADS.name,
        LEADS.read_text(encoding="utf-8").replace("15.01.2026 08:00", "15/01/2026"),
    )

    result = CliRunner().invoke(app, ["import", "csv", str(bad), "--mapping", str(MAPPING)])

    assert result.exit_code == 1
    assert "import refused, nothing was written: 1 problem" in result.stderr
    assert 'webinar-leads.csv row 4 column Registered: "15/01/2026" is not a date' in result.stderr
