"""The HubSpot and Salesforce presets, end to end on SQLite and PostgreSQL.

The fixture files under ``tests/fixtures/crm`` are synthetic exports with the real column
names: a HubSpot contacts export (account time zone America/New_York), and the same
Salesforce leads and opportunities once as a Data Loader export (API names, UTC) and once as a
report export (labels, US dates in America/New_York).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from baton.contract import default_contract_text
from baton.errors import ImportRejected
from baton.ingest.presets import ImportOptions
from baton.service.imports import ImportReport, run_import
from baton.store import tables as t

FIXTURES = Path(__file__).parent / "fixtures" / "crm"
HUBSPOT = FIXTURES / "hubspot-contacts.csv"
NEW_YORK = "America/New_York"


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def run(engine: Engine, clock: Any, preset: str, *paths: Path, **options: Any) -> ImportReport:
    options.setdefault("timezone", NEW_YORK)
    return run_import(
        engine,
        preset,
        list(paths),
        contract_text=default_contract_text(),
        clock=clock,
        options=ImportOptions(**options),
    )


def one(session: Session, model: Any, external_id: str) -> Any:
    return session.scalars(select(model).where(model.external_id == external_id)).one()


def history(session: Session, model: Any, subject: str, external_id: str) -> list[t.StageChangeRow]:
    record = one(session, model, external_id)
    return list(
        session.scalars(
            select(t.StageChangeRow)
            .where(t.StageChangeRow.subject == subject, t.StageChangeRow.subject_id == record.id)
            .order_by(t.StageChangeRow.at, t.StageChangeRow.id)
        )
    )


def count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def rejected(engine: Engine, clock: Any, preset: str, path: Path, **options: Any) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        run(engine, clock, preset, path, **options)
    return [str(p) for p in caught.value.problems]


def rewrite(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    target = tmp_path / source.name
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


# -- HubSpot ----------------------------------------------------------------------------------
def test_hubspot_contacts_become_contacts_leads_accounts_owners_and_touches(
    engine: Engine, clock: Any
) -> None:
    report = run(engine, clock, "hubspot-contacts", HUBSPOT)

    assert {k: c["new"] for k, c in report.counts.items()} == {
        "users": 2,
        "accounts": 4,
        "contacts": 5,
        "leads": 5,
        "touchpoints": 5,
        "stage_changes": 12,
    }
    assert report.notes == [
        "hubspot-contacts.csv: 2 column(s) are not Baton fields and were kept in properties: "
        "Industry, ICP Tier"
    ]
    with Session(engine) as session:
        lead = one(session, t.Lead, "51001")
        contact = one(session, t.Contact, "51001")
        owner = session.get(t.User, lead.owner_id)
        account = session.get(t.Account, lead.account_id)
        assert (lead.source, lead.email, lead.first_name, lead.company, lead.country) == (
            "hubspot",
            "ana.lopez@northwind.example",
            "Ana",
            "Northwind",
            "United States",
        )
        # naive HubSpot times are New York time: 09:12 EST is 14:12 UTC
        assert lead.created_at == utc(2026, 1, 5, 14, 12)
        assert (lead.stage, lead.stage_entered_at) == ("customer", utc(2026, 3, 15, 15, 0))
        assert lead.channel == "organic_search"
        assert lead.contact_id == contact.id and contact.account_id == account.id
        assert (contact.phone, contact.title) == ("+1 617 555 0101", "VP Marketing")
        assert (owner.external_id, owner.name, owner.email) == ("Maya Chen", "Maya Chen", None)
        assert (account.external_id, account.name) == ("northwind", "Northwind")
        assert lead.properties == {
            "Industry": "Software",
            "ICP Tier": "A",
            "lifecycle_stage": "Customer",
            "original_source": "Organic Search",
            "original_source_drill_down_1": "baton alignment",
            "original_source_drill_down_2": "google.com",
        }
        touch = one(session, t.Touchpoint, "51001:original-source")
        assert (touch.channel, touch.occurred_at, touch.lead_id, touch.account_id) == (
            "organic_search",
            utc(2026, 1, 5, 14, 12),
            lead.id,
            account.id,
        )

        steps = history(session, t.Lead, "lead", "51001")
        assert [(s.from_stage, s.to_stage, s.at) for s in steps] == [
            (None, "lead", utc(2026, 1, 5, 14, 12)),
            ("lead", "mql", utc(2026, 1, 12, 19, 30)),
            ("mql", "sql", utc(2026, 1, 20, 15, 0)),
            ("sql", "opportunity", utc(2026, 2, 2, 21, 45)),
            ("opportunity", "customer", utc(2026, 3, 15, 15, 0)),
        ]
        version = session.scalars(select(t.ContractVersion.id)).one()
        assert {(s.contract_version_id, s.actor) for s in steps} == {(version, "import:hubspot")}

        # "PAID_SOCIAL" and "Organic Search" normalise alike; "NORTHWIND " is Northwind
        assert one(session, t.Lead, "51002").channel == "paid_social"
        assert one(session, t.Contact, "51004").account_id == account.id
        assert one(session, t.Lead, "51004").owner_id is None
        assert one(session, t.Contact, "51002").phone is None


def test_hubspot_stage_rules(engine: Engine, clock: Any) -> None:
    run(engine, clock, "hubspot-contacts", HUBSPOT)
    with Session(engine) as session:
        # lead status UNQUALIFIED (label "Unqualified") adds a last step with its reason
        steps = history(session, t.Lead, "lead", "51003")
        assert [(s.to_stage, s.at, s.reason) for s in steps] == [
            ("lead", utc(2026, 2, 1, 15, 0), None),
            ("disqualified", utc(2026, 2, 1, 15, 0), "HubSpot lead status Unqualified"),
        ]
        # no date column filled: the current stage is entered at the create date
        steps = history(session, t.Lead, "lead", "51004")
        assert [(s.to_stage, s.at) for s in steps] == [("subscriber", utc(2026, 2, 10, 13, 0))]
        # an internal name works like a label; an unmapped lead status adds nothing
        assert [s.to_stage for s in history(session, t.Lead, "lead", "51005")] == ["lead", "sql"]
        assert [s.to_stage for s in history(session, t.Lead, "lead", "51002")] == ["lead", "mql"]


def test_hubspot_older_and_newer_column_spellings(
    sqlite_engine: Engine, clock: Any, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        '"Contact ID","Email","Country","Contact Owner","Create Date","Lifecycle Stage",'
        '"Original Traffic Source","Date entered ""Lead (Lifecycle Stage Pipeline)""",'
        '"Date entered ""Marketing Qualified Lead (Lifecycle Stage Pipeline)"""\n'
        '"7","kim@example.org","Canada","kim.owner@example.org","03/02/2026 '
        '09:00","marketingqualifiedlead",'
        '"OFFLINE","03/02/2026 09:00","03/04/2026 17:30"\n',
        encoding="utf-8",
    )
    run(sqlite_engine, clock, "hubspot-contacts", path, timezone="UTC")
    with Session(sqlite_engine) as session:
        lead = one(session, t.Lead, "7")
        owner = session.get(t.User, lead.owner_id)
        assert (lead.country, lead.channel, owner.email) == (
            "Canada",
            "offline",
            "kim.owner@example.org",
        )
        assert [(s.to_stage, s.at) for s in history(session, t.Lead, "lead", "7")] == [
            ("lead", utc(2026, 3, 2, 9, 0)),
            ("mql", utc(2026, 3, 4, 17, 30)),
        ]


def test_hubspot_bad_row_rejects_the_whole_file(engine: Engine, clock: Any, tmp_path: Path) -> None:
    bad = rewrite(tmp_path, HUBSPOT, '"2026-01-08 13:00","Marketing', '"next tuesday","Marketing')

    problems = rejected(engine, clock, "hubspot-contacts", bad)

    assert problems == [
        'hubspot-contacts.csv row 3 column Create Date: "next tuesday" is not a date; use ISO 8601 '
        "such as 2026-07-01 or 2026-07-01T09:30:00+02:00 (or set a date format in the mapping)"
    ]
    for model in (
        t.Lead,
        t.Contact,
        t.Account,
        t.User,
        t.StageChangeRow,
        t.ContractVersion,
        t.ImportRun,
    ):
        assert count(engine, model) == 0


def test_hubspot_unmapped_lifecycle_stage_names_the_contract_key(
    engine: Engine, clock: Any, tmp_path: Path
) -> None:
    bad = rewrite(tmp_path, HUBSPOT, '"Subscriber"', '"Recycled"')

    problems = rejected(engine, clock, "hubspot-contacts", bad)

    assert problems == [
        'hubspot-contacts.csv row 5 column Lifecycle Stage: "Recycled" has no stage in '
        '[mappings.hubspot.lifecycle_stage] in the contract (baton.toml); add "Recycled" = '
        '"<stage key>" there (stage keys: subscriber, lead, recycled, mql, sql, opportunity, '
        "customer, disqualified)"
    ]
    assert count(engine, t.Lead) == 0


def test_hubspot_duplicate_ids_and_empty_required_cells(
    sqlite_engine: Engine, clock: Any, tmp_path: Path
) -> None:
    bad = rewrite(tmp_path, HUBSPOT, '"51004","Dev"', '"51002","Dev"')
    bad.write_text(bad.read_text(encoding="utf-8").replace('"51005"', '""'), encoding="utf-8")

    problems = rejected(sqlite_engine, clock, "hubspot-contacts", bad)

    assert problems == [
        'hubspot-contacts.csv row 5 column Record ID: "51002" already appears in row 3; each row '
        "needs its own id (remove or merge the duplicate)",
        "hubspot-contacts.csv row 6 column Record ID: is empty; every row needs a value here",
    ]


def test_hubspot_missing_column_suggests_the_closest(
    sqlite_engine: Engine, clock: Any, tmp_path: Path
) -> None:
    bad = rewrite(tmp_path, HUBSPOT, '"Create Date"', '"Created"')

    problems = rejected(sqlite_engine, clock, "hubspot-contacts", bad)

    assert problems == [
        'hubspot-contacts.csv row 1: missing column "Create Date"; did you mean "Created"?'
    ]


# -- Salesforce -------------------------------------------------------------------------------
def test_salesforce_leads_from_a_data_loader_export(engine: Engine, clock: Any) -> None:
    report = run(engine, clock, "salesforce-leads", FIXTURES / "salesforce-leads-api.csv")

    assert {k: c["new"] for k, c in report.counts.items()} == {
        "users": 2,
        "leads": 4,
        "touchpoints": 4,
        "stage_changes": 4,
    }
    with Session(engine) as session:
        grace = one(session, t.Lead, "00Q5g00000A1bCdEAJ")
        assert (grace.created_at, grace.stage, grace.company, grace.channel) == (
            utc(2026, 1, 31, 15, 15),
            "mql",
            "Cobol Systems",
            "web",
        )
        assert session.get(t.User, grace.owner_id).external_id == "0055g00000ZyXwVAAV"
        assert grace.properties == {
            "lead_status": "Open - Not Contacted",
            "lead_source": "Web",
            "industry": "Software",
            "phone": "+1 212 555 0199",
            "converted": False,
            "employees": 120,
            "annual_revenue": 12000000,
            "Rating": "Hot",
        }
        # converted: enters the converted status's stage on the converted day (New York midnight)
        alan = history(session, t.Lead, "lead", "00Q5g00000A1bCeEAJ")
        assert [(s.from_stage, s.to_stage, s.at) for s in alan] == [
            (None, "sql", utc(2026, 2, 3, 5, 0))
        ]
        assert (
            one(session, t.Lead, "00Q5g00000A1bCeEAJ").properties["converted_opportunity_id"]
            == "0065g00000ZxCvBAAZ"
        )
        ada = history(session, t.Lead, "lead", "00Q5g00000A1bCfEAJ")
        assert [(s.to_stage, s.reason) for s in ada] == [
            ("disqualified", "Salesforce lead status Closed - Not Converted"),
        ]
        assert ada[0].contract_version_id is not None
        # a 15-character id is kept as given; no lead source is channel "unknown"
        katherine = one(session, t.Lead, "00Q5g00000A1bCg")
        assert (katherine.channel, katherine.stage) == ("unknown", "mql")
        touch = one(session, t.Touchpoint, "00Q5g00000A1bCdEAJ:lead-source")
        assert (touch.channel, touch.occurred_at, touch.lead_id) == (
            "web",
            grace.created_at,
            grace.id,
        )


def test_salesforce_opportunities_from_a_data_loader_export(engine: Engine, clock: Any) -> None:
    report = run(
        engine, clock, "salesforce-opportunities", FIXTURES / "salesforce-opportunities-api.csv"
    )

    assert {k: c["new"] for k, c in report.counts.items()} == {
        "users": 2,
        "accounts": 4,
        "opportunities": 5,
        "stage_changes": 5,
    }
    with Session(engine) as session:
        platform = one(session, t.Opportunity, "0065g00000ZxCvBAAZ")
        account = session.get(t.Account, platform.account_id)
        assert (platform.name, platform.stage, platform.amount, platform.currency) == (
            "Enigma Ltd - Platform",
            "negotiation",
            Decimal("48000.00"),
            "GBP",
        )
        assert platform.probability == pytest.approx(0.8)
        assert (platform.close_date, platform.closed_at) == (dt.date(2026, 4, 30), None)
        assert (account.external_id, account.name) == ("0015g00000QwErTAAZ", "Enigma Ltd")
        assert session.get(t.User, platform.owner_id).external_id == "0055g00000ZyXwWAAV"
        assert platform.properties == {
            "stage_name": "Negotiation/Review",
            "lead_source": "Trade Show",
            "type": "New Business",
            "forecast_category": "Commit",
        }

        won = one(session, t.Opportunity, "0065g00000ZxCvCAAZ")
        assert (won.stage, won.amount, won.currency, won.probability) == (
            "won",
            Decimal("12500.50"),
            "USD",
            1.0,
        )
        assert won.closed_at == utc(2026, 3, 20, 4, 0)  # New York midnight, daylight time
        assert [
            (s.to_stage, s.at)
            for s in history(session, t.Opportunity, "opportunity", "0065g00000ZxCvCAAZ")
        ] == [
            ("won", utc(2026, 3, 20, 4, 0)),
        ]
        lost = [
            [
                (s.from_stage, s.to_stage, s.reason)
                for s in history(session, t.Opportunity, "opportunity", i)
            ]
            for i in ("0065g00000ZxCvDAAZ", "0065g00000ZxCvFAAZ")
        ]
        assert lost == [
            [(None, "lost", "Chose a competitor")],
            [(None, "lost", "closed lost in Salesforce")],
        ]
        open_deal = one(session, t.Opportunity, "0065g00000ZxCvE")
        assert (open_deal.amount, open_deal.probability, open_deal.stage) == (
            None,
            pytest.approx(0.1),
            "prospecting",
        )


def _snapshot(session: Session, source: str) -> dict[str, Any]:
    """Everything the import wrote for ``source``, without row ids and owners."""
    skip = {"id", "source", "owner_id", "lead_id", "contact_id", "account_id"}
    out: dict[str, Any] = {}
    for model in (t.Lead, t.Opportunity, t.Account, t.Touchpoint):
        rows = session.scalars(
            select(model).where(model.source == source).order_by(model.external_id)
        )
        out[model.__tablename__] = [
            {c.name: getattr(r, c.name) for c in model.__table__.columns if c.name not in skip}
            for r in rows
        ]
    out["accounts_of_deals"] = sorted(
        (o.external_id, session.get(t.Account, o.account_id).external_id)
        for o in session.scalars(select(t.Opportunity).where(t.Opportunity.source == source))
    )
    changes = session.execute(
        select(
            t.StageChangeRow.subject,
            t.StageChangeRow.to_stage,
            t.StageChangeRow.at,
            t.StageChangeRow.reason,
        )
        .join(t.Lead, t.Lead.id == t.StageChangeRow.subject_id, isouter=True)
        .join(t.Opportunity, t.Opportunity.id == t.StageChangeRow.subject_id, isouter=True)
        .where(
            ((t.StageChangeRow.subject == "lead") & (t.Lead.source == source))
            | ((t.StageChangeRow.subject == "opportunity") & (t.Opportunity.source == source))
        )
    )
    out["stage_changes"] = sorted(tuple(str(v) for v in c) for c in changes)
    return out


@pytest.mark.parametrize("kind", ["leads", "opportunities"])
def test_report_export_and_data_loader_export_import_to_the_same_records(
    engine: Engine, clock: Any, kind: str
) -> None:
    preset = f"salesforce-{kind}"
    run(engine, clock, preset, FIXTURES / f"salesforce-{kind}-api.csv", source="sf-api")
    run(engine, clock, preset, FIXTURES / f"salesforce-{kind}-report.csv", source="sf-report")

    with Session(engine) as session:
        api, report = _snapshot(session, "sf-api"), _snapshot(session, "sf-report")
        # the report's naive New York times and the export's UTC times are the same instants
        assert api == report
        assert api[f"{kind}"]
        # a report names owners, Data Loader gives their user ids
        owners = {
            s: sorted(session.scalars(select(t.User.external_id).where(t.User.source == s)))
            for s in ("sf-api", "sf-report")
        }
        assert owners == {
            "sf-api": ["0055g00000ZyXwVAAV", "0055g00000ZyXwWAAV"],
            "sf-report": ["Leo Park", "Maya Chen"],
        }


@pytest.mark.parametrize(
    ("preset", "path"),
    [
        ("hubspot-contacts", HUBSPOT),
        ("salesforce-leads", FIXTURES / "salesforce-leads-report.csv"),
        ("salesforce-opportunities", FIXTURES / "salesforce-opportunities-api.csv"),
    ],
)
def test_importing_the_same_file_twice_changes_nothing(
    engine: Engine, clock: Any, preset: str, path: Path
) -> None:
    first = run(engine, clock, preset, path)
    again = run(engine, clock, preset, path)

    assert first.changed_anything
    assert not again.changed_anything
    assert {k: c["same"] for k, c in again.counts.items()} == {
        k: c["new"] for k, c in first.counts.items()
    }


def test_salesforce_unmapped_stage_names_the_contract_key(
    engine: Engine, clock: Any, tmp_path: Path
) -> None:
    bad = rewrite(
        tmp_path, FIXTURES / "salesforce-opportunities-api.csv", ",Prospecting,", ",Closed Pending,"
    )

    problems = rejected(engine, clock, "salesforce-opportunities", bad)

    assert problems == [
        'salesforce-opportunities-api.csv row 5 column StageName: "Closed Pending" has no stage '
        "in [mappings.salesforce.opportunity_stage] in the contract (baton.toml); "
        'add "Closed Pending" = "<stage key>" there '
        "(stage keys: prospecting, engaging, proposal, negotiation, won, lost)"
    ]
    assert count(engine, t.Opportunity) == 0


def test_salesforce_bad_values_are_named_by_row_and_column(
    sqlite_engine: Engine, clock: Any, tmp_path: Path
) -> None:
    path = FIXTURES / "salesforce-opportunities-report.csv"
    bad = rewrite(tmp_path, path, '"80%","4/30/2026"', '"180%","4/31/2026"')
    bad.write_text(
        bad.read_text(encoding="utf-8").replace(
            '"Prospecting","","USD","10%","6/30/2026","2/20/2026 1:45 PM","","0","0"',
            '"Prospecting","","usd","10%","6/30/2026","2/20/2026 1:45 PM","","0","1"',
        ),
        encoding="utf-8",
    )

    problems = rejected(sqlite_engine, clock, "salesforce-opportunities", bad)

    assert problems == [
        'salesforce-opportunities-report.csv row 2 column Close Date: "4/31/2026" is not a '
        "date; use ISO 8601 such as 2026-07-01 or 2026-07-01T09:30:00+02:00 "
        "(or set a date format in the mapping)",
        'salesforce-opportunities-report.csv row 2 column Probability (%): "180%" is not a '
        "probability; write a percent from 0 to 100",
        'salesforce-opportunities-report.csv row 5 column Won: is true but "Prospecting" maps '
        'to the open pipeline stage "prospecting"; fix it in '
        "[mappings.salesforce.opportunity_stage] in the contract (baton.toml)",
    ]


def test_salesforce_lead_file_given_to_the_opportunity_preset(
    sqlite_engine: Engine, clock: Any
) -> None:
    problems = rejected(
        sqlite_engine, clock, "salesforce-opportunities", FIXTURES / "salesforce-leads-api.csv"
    )

    assert problems == [
        'salesforce-leads-api.csv row 1: missing column "StageName" (or "Stage"); '
        "check that this is the right export for this preset",
    ]
