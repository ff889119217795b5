"""The store on a real SQLite file and a real PostgreSQL database (each test runs on both)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, select

from baton.contract import default_contract_text
from baton.errors import Conflict, NotFound
from baton.service.contracts import apply_contract, contract_in_force, list_versions
from baton.store import tables as t
from baton.store.engine import make_engine, translate_errors
from baton.store.migrate import current_revision, head_revision, upgrade
from baton.store.uow import UnitOfWork

EXPECTED_TABLES = {
    "accounts", "activities", "campaigns", "contacts", "contract_versions", "import_runs",
    "leads", "opportunities", "stage_changes", "teams", "touchpoints", "users",
}


def test_the_migration_creates_the_schema_on_an_empty_database(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision()
    names = set(sa.inspect(engine).get_table_names())
    assert names >= EXPECTED_TABLES
    assert upgrade(engine) == head_revision()  # running it again is harmless
    engine.dispose()


def test_times_come_back_in_utc_and_money_as_decimal(engine: Engine) -> None:
    berlin = dt.timezone(dt.timedelta(hours=2))
    created = dt.datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=berlin)
    with UnitOfWork(engine) as uow:
        uow.session.add(t.Lead(source="test", external_id="L1", created_at=created, properties={"a": [1, 2]}))
        uow.session.add(t.Opportunity(source="test", external_id="O1", stage="won", amount=Decimal("1234.56"), properties={}))
        uow.commit()
    with UnitOfWork(engine) as uow:
        lead = uow.session.scalars(select(t.Lead)).one()
        deal = uow.session.scalars(select(t.Opportunity)).one()
        assert lead.created_at == created and lead.created_at.tzinfo == dt.UTC
        assert lead.created_at.hour == 7
        assert lead.properties == {"a": [1, 2]}
        assert deal.amount == Decimal("1234.56") and isinstance(deal.amount, Decimal)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        uow.session.add(t.Lead(source="test", external_id="L1", created_at=dt.datetime(2026, 1, 1), properties={}))
        with pytest.raises(Exception, match="no time zone"):
            uow.session.flush()


def test_source_and_external_id_are_unique_and_the_error_is_ours(engine: Engine) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with UnitOfWork(engine) as uow:
        for _ in range(2):
            uow.session.add(t.Lead(source="test", external_id="same", created_at=now, properties={}))
        with pytest.raises(Conflict, match="saving to the database"):
            uow.commit()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with UnitOfWork(engine) as uow:
        uow.session.add(t.Lead(source="test", external_id="x", created_at=now, account_id=999, properties={}))
        with pytest.raises(Conflict):
            uow.commit()


def test_the_stage_log_is_append_only(engine: Engine) -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(t.StageChangeRow), [{
            "subject": "lead", "subject_id": 1, "from_stage": None, "to_stage": "mql",
            "at": now, "actor": "test", "recorded_at": now,
        }])
    for statement in (
        sa.update(t.StageChangeRow).values(to_stage="sql"),
        sa.delete(t.StageChangeRow),
    ):
        with (
            pytest.raises(Exception, match="append-only"),
            engine.begin() as conn,
            translate_errors("changing the stage log"),
        ):
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(select(t.StageChangeRow.to_stage)).scalars().all() == ["mql"]


def test_contract_versions_are_stored_once_per_text_with_an_effective_date(engine: Engine, clock) -> None:  # type: ignore[no-untyped-def]
    text = default_contract_text()
    with UnitOfWork(engine) as uow:
        first = apply_contract(uow.session, text, clock=clock)
        again = apply_contract(uow.session, text, clock=clock)
        changed = text.replace("min_score = 50", "min_score = 60").replace(
            "# effective_from = 2026-01-01", "effective_from = 2027-01-01"
        )
        second = apply_contract(uow.session, changed, clock=clock)
        uow.commit()
    assert (first.version, first.created) == (1, True)
    assert (again.version, again.created) == (1, False)
    assert second.version == 2
    # midnight in the contract's business-hours zone (New York, UTC-5 in January)
    assert second.effective_at == dt.datetime(2027, 1, 1, 5, 0, tzinfo=dt.UTC)
    with UnitOfWork(engine) as uow:
        assert [v.version for v in list_versions(uow.session)] == [1, 2]
        now_in_force = contract_in_force(uow.session, clock())
        later = contract_in_force(uow.session, dt.datetime(2027, 6, 1, tzinfo=dt.UTC))
        assert now_in_force.version == 1 and now_in_force.contract.qualification.mql.min_score == 50
        assert later.version == 2 and later.contract.qualification.mql.min_score == 60
        with pytest.raises(NotFound, match="baton contract apply"):
            contract_in_force(uow.session, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
