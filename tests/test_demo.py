"""The demo simulator: deterministic, valid under the contract, channels that differ."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from baton.cli import app
from baton.contract import Contract, default_contract_text, parse_contract
from baton.demo import run_demo
from baton.demo.calendar import BusinessCalendar
from baton.demo.simulator import simulate
from baton.domain.business_hours import BusinessClock
from baton.errors import Conflict, InvalidInput
from baton.ingest.records import ImportBundle
from baton.service.scoreboard import funnel_scoreboard
from baton.store import tables as t
from baton.store.uow import UnitOfWork

END = dt.date(2026, 11, 1)
TABLES = (
    t.Team,
    t.User,
    t.Account,
    t.Contact,
    t.Campaign,
    t.Lead,
    t.Touchpoint,
    t.Activity,
    t.Opportunity,
    t.StageChangeRow,
)


@pytest.fixture(scope="module")
def contract() -> Contract:
    return parse_contract(default_contract_text())


@pytest.fixture(scope="module")
def bundle(contract: Contract) -> ImportBundle:
    return simulate(contract, seed=7, leads=3000, end=END)


def table_counts(engine: Engine) -> dict[str, int]:
    with UnitOfWork(engine) as uow:
        return {
            m.__tablename__: uow.session.scalar(select(func.count()).select_from(m)) or 0
            for m in TABLES
        }


# -- the simulator on its own ------------------------------------------------------------------
def test_same_seed_gives_the_same_bundle_and_another_seed_another(
    contract: Contract, bundle: ImportBundle
) -> None:
    again = simulate(contract, seed=7, leads=3000, end=END)
    other = simulate(contract, seed=8, leads=3000, end=END)
    assert again == bundle
    assert [lead.history for lead in other.leads] != [lead.history for lead in bundle.leads]
    assert len(other.leads) == len(bundle.leads) == 3000


def test_the_bundle_has_every_kind_of_record(bundle: ImportBundle) -> None:
    channels = {lead.channel for lead in bundle.leads}
    assert len(channels) >= 6
    assert {c.channel for c in bundle.campaigns} >= channels - {"direct"}
    assert all(c.properties["monthly_spend"] and c.budget for c in bundle.campaigns)
    assert {u.team for u in bundle.users if u.role == "sales"} == {
        team.external_id for team in bundle.teams
    }
    assert len([u for u in bundle.users if u.role == "sales"]) >= 10
    assert all(team.manager for team in bundle.teams)
    per_account: dict[str | None, int] = {}
    for contact in bundle.contacts:
        per_account[contact.account] = per_account.get(contact.account, 0) + 1
    assert set(per_account.values()) == {1, 2, 3, 4, 5}
    assert len(bundle.touchpoints) > 3 * len(bundle.leads)
    assert {"visit", "content_download", "ad_click", "email_click", "webinar"} <= {
        t.touch_type for t in bundle.touchpoints
    }
    assert any(t.utm_source and t.utm_campaign and t.campaign for t in bundle.touchpoints)
    assert {o.history[-1].to for o in bundle.opportunities} >= {"won", "lost"}
    assert all(o.amount and o.owner and o.account for o in bundle.opportunities)


def test_nothing_is_dated_on_or_after_the_end(bundle: ImportBundle) -> None:
    end = dt.datetime.combine(END, dt.time(), ZoneInfo("America/New_York"))
    moments = [s.at for r in (*bundle.leads, *bundle.opportunities) for s in r.history]
    moments += [r.occurred_at for r in (*bundle.touchpoints, *bundle.activities)]
    assert max(moments) < end


def test_histories_are_in_time_order_and_touches_come_before_the_moves(
    bundle: ImportBundle,
) -> None:
    for lead in bundle.leads:
        assert [s.at for s in lead.history] == sorted(s.at for s in lead.history)
    forward = ("mql", "sql", "opportunity", "customer")
    last_move = {
        lead.external_id: max(s.at for s in lead.history if s.to in forward)
        for lead in bundle.leads
        if any(s.to in forward for s in lead.history)
    }
    touches = [t for t in bundle.touchpoints if t.lead in last_move]
    assert touches and all(t.occurred_at <= last_move[t.lead] for t in touches)
    created = {lead.external_id: lead.created_at for lead in bundle.leads}
    assert any(
        t.occurred_at < created[t.lead] for t in touches
    )  # anonymous visits, tied on sign-up


def test_rejected_and_lost_records_carry_the_contracts_reason_codes(
    contract: Contract, bundle: ImportBundle
) -> None:
    codes = {r.key for r in contract.rejection_reasons}
    side = [
        s for lead in bundle.leads for s in lead.history if s.to in ("recycled", "disqualified")
    ]
    lost = [s for o in bundle.opportunities for s in o.history if s.to == "lost"]
    recycled_by_sales = [
        step
        for lead in bundle.leads
        for before, step in zip(lead.history, lead.history[1:], strict=False)
        if step.to == "recycled" and before.to == "mql"
    ]
    assert recycled_by_sales and lost
    assert {s.reason for s in side + lost} <= codes
    assert len({s.reason for s in recycled_by_sales}) >= 3


def test_some_first_touches_miss_the_four_hour_sla(
    contract: Contract, bundle: ImportBundle
) -> None:
    mql_at = {
        lead.external_id: next(s.at for s in lead.history if s.to == "mql")
        for lead in bundle.leads
        if any(s.to == "mql" for s in lead.history)
    }
    first = [
        a
        for a in bundle.activities
        if a.properties.get("attempt") == 1 and a.properties.get("mql_cycle") == 1
    ]
    assert first and {a.lead for a in first} <= set(mql_at)
    clock = BusinessClock(contract.business_hours)
    waits = clock.elapsed_many(
        pd.Series([mql_at[a.lead] for a in first]), pd.Series([a.occurred_at for a in first])
    )
    late = waits > contract.sla.sales.first_touch_hours * 3600
    assert 0.05 < late.mean() < 0.6
    by_rep = pd.Series(late).groupby([a.user for a in first]).mean()
    assert by_rep.max() > 2 * by_rep.min()  # some reps are much slower than others


def test_local_times_become_utc_and_work_lands_in_business_hours(contract: Contract) -> None:
    calendar = BusinessCalendar(contract.business_hours)
    local = np.array(["2026-11-20T16:00", "2026-03-08T02:30", "2026-11-01T01:30"], "datetime64[s]")
    utc = calendar.from_local(local)
    # EST; a time the spring change skips moves on to 03:00 EDT; a repeated one is standard time
    expected = ["2026-11-20T21:00", "2026-03-08T07:00", "2026-11-01T06:30"]
    assert (utc == np.array(expected, "datetime64[s]")).all()
    # Friday 16:00 plus two business hours is Monday 10:00 in New York
    assert calendar.add_hours(utc[:1], 2.0)[0] == np.datetime64("2026-11-23T15:00")
    week = calendar.add_days(utc[:1], 7.0)[0]
    assert calendar.clock.elapsed_many(utc[:1], np.array([week]))[0] == 5 * 8 * 3600


def test_a_contract_without_the_demos_moves_is_refused() -> None:
    text = default_contract_text().replace('  { from = "sql", to = "recycled" },\n', "")
    with pytest.raises(InvalidInput, match='"sql" to "recycled"'):
        simulate(parse_contract(text), leads=10, end=END)


# -- written to the store ----------------------------------------------------------------------
def test_every_history_passes_the_lifecycle_on_the_store(engine: Engine, clock: object) -> None:
    report = run_demo(
        engine, contract_text=default_contract_text(), clock=clock, seed=7, leads=1500
    )  # type: ignore[arg-type]
    assert report.end == END
    counts = table_counts(engine)
    assert counts["leads"] == 1500
    assert counts["stage_changes"] == report.counts["stage_changes"]["new"] > 1500
    assert all(c["new"] > 0 and c["changed"] == 0 for c in report.counts.values())


def test_running_the_demo_twice_changes_nothing(engine: Engine, clock: object) -> None:
    first = run_demo(engine, contract_text=default_contract_text(), clock=clock, seed=3, leads=1500)  # type: ignore[arg-type]
    before = table_counts(engine)
    second = run_demo(
        engine, contract_text=default_contract_text(), clock=clock, seed=3, leads=1500
    )  # type: ignore[arg-type]
    assert first.changed_anything and not second.changed_anything
    assert table_counts(engine) == before


def test_a_later_run_keeps_the_first_window(sqlite_engine: Engine, clock: object) -> None:
    first = run_demo(sqlite_engine, contract_text=default_contract_text(), clock=clock, seed=7, leads=200)  # type: ignore[arg-type]
    next_month = lambda: clock() + dt.timedelta(days=40)  # type: ignore[operator]  # noqa: E731
    later = run_demo(sqlite_engine, contract_text=default_contract_text(), clock=next_month, seed=7, leads=200)
    assert later.end == first.end and not later.changed_anything


def test_other_options_on_the_same_database_are_refused(
    sqlite_engine: Engine, clock: object
) -> None:
    run_demo(sqlite_engine, contract_text=default_contract_text(), clock=clock, seed=7, leads=200)  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="seed 7, leads 200"):
        run_demo(
            sqlite_engine, contract_text=default_contract_text(), clock=clock, seed=8, leads=200
        )  # type: ignore[arg-type]


def test_the_funnel_shows_channels_converting_differently(
    sqlite_engine: Engine, sqlite_url: str, clock: object, contract: Contract
) -> None:
    run_demo(sqlite_engine, contract_text=default_contract_text(), clock=clock, seed=7, leads=5000)  # type: ignore[arg-type]
    board = funnel_scoreboard(sqlite_url, contract)
    reached = board.pivot(index="channel", columns="stage", values="reached")
    assert reached.loc["(all)", "subscriber"] == 5000
    per_channel = reached.drop(index="(all)")
    assert len(per_channel) >= 6
    rate = per_channel["customer"] / per_channel["mql"]
    assert rate.max() >= 1.5 * rate.min()
    assert rate.idxmax() in ("referral", "partner") and rate.idxmin() in ("paid_social", "email")


# -- the command line --------------------------------------------------------------------------
def test_demo_command_prints_what_it_wrote_and_the_scoreboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    runner = CliRunner()
    result = runner.invoke(app, ["demo", "--leads", "2000", "--end", "2026-07-01"])
    assert result.exit_code == 0, result.output
    assert "2025-01-01 to 2026-06-30" in result.output
    assert (
        "Leads reaching each stage" in result.output
        and "Conversion from the stage before" in result.output
    )
    for channel in (
        "organic_search",
        "paid_search",
        "paid_social",
        "email",
        "events",
        "referral",
        "partner",
        "direct",
        "(all)",
    ):
        assert channel in result.output
    assert "mql→customer" in result.output and "%" in result.output

    again = runner.invoke(
        app, ["demo", "--leads", "2000", "--end", "2026-07-01", "--format", "json"]
    )
    assert again.exit_code == 0, again.output
    body = json.loads(again.output)
    assert all(c["new"] == 0 and c["changed"] == 0 for c in body["demo"]["counts"].values())
    overall = [row for row in body["funnel"] if row["channel"] == "(all)"]
    assert [row["stage"] for row in overall] == [
        "subscriber",
        "lead",
        "mql",
        "sql",
        "opportunity",
        "customer",
    ]
    assert overall[0]["reached"] == 2000 and overall[-1]["conversion"] is None

    refused = runner.invoke(app, ["demo", "--leads", "2000", "--seed", "8", "--end", "2026-07-01"])
    assert refused.exit_code == 1
    assert "already holds demo data" in refused.output
