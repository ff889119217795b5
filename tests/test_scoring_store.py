"""The store's leads as a feature table, on the ten-lead history (SQLite and PostgreSQL), and a
model trained on the demo's store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from baton.analytics.source import Tables
from baton.contract import default_contract_text, parse_contract
from baton.scoring.store_features import store_dataset
from baton.service.predictive import DataSpec, explain_lead, load_data, score_drift, train_model

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
CONTRACT = parse_contract(default_contract_text())


def test_ten_leads_as_features(ten_lead_tables: Tables) -> None:
    d = store_dataset(ten_lead_tables, CONTRACT, as_of=NOW)
    # in order of arrival: L10 came first (June), then L1 ... L9 (July)
    names = list(d.aliases)
    assert names == ["L10", "L1", "L2", "L3", "L4", "L5", "L6", "L7", "L8", "L9"]
    assert d.find("L5") == 5 and d.find(d.ids.iloc[5]) == 5
    won = dict(zip(names, d.label, strict=True))
    assert [k for k, v in won.items() if v] == ["L10", "L1", "L5"]  # reached "customer"
    frame = d.frame.set_axis(names)
    assert list(frame["channel"][["L1", "L3", "L5", "L7"]]) == [
        "paid_search",
        "organic_search",
        "events",
        "direct",
    ]
    # each lead's form on the day it arrived; L1's visit (8 days later) and L5's (12 days) are late
    assert list(frame["touches"]) == [1.0] * 10
    assert list(frame["touches_form"]) == [1.0] * 10
    assert list(frame["touches_visit"]) == [0.0] * 10
    assert set(frame["email_kind"]) == {"work"}
    assert frame["employees"].isna().all()
    assert set(d.features.names) == set(d.frame.columns)
    assert "touches_visit" in d.features.names and "stage" not in d.frame.columns
    # with 120 days to mature, every lead (June and July) is labelled on November 20
    assert d.labelled.all()


def test_the_window_and_maturity_follow_as_of(ten_lead_tables: Tables) -> None:
    d = store_dataset(ten_lead_tables, CONTRACT, as_of=NOW, touch_days=8, maturity_days=137)
    frame = d.frame.set_axis(list(d.aliases))
    assert frame.loc["L1", "touches"] == 2.0 and frame.loc["L1", "touches_visit"] == 1.0
    # 137 days before Nov 20 15:00 is Jul 6 15:00: L10 and L1-L5 (L5 arrived Jul 6 12:00)
    assert [n for n, m in zip(d.aliases, d.labelled, strict=True) if m] == [
        "L10",
        "L1",
        "L2",
        "L3",
        "L4",
        "L5",
    ]
    # as of August 1 only L10 was a customer (L1 became one on August 14, L5 in September)
    early = store_dataset(ten_lead_tables, CONTRACT, as_of=dt.datetime(2026, 8, 1, tzinfo=dt.UTC))
    assert dict(zip(early.aliases, early.label, strict=True)) == {
        "L10": 1,
        "L1": 0,
        "L2": 0,
        "L3": 0,
        "L4": 0,
        "L5": 0,
        "L6": 0,
        "L7": 0,
        "L8": 0,
        "L9": 0,
    }
    before = store_dataset(ten_lead_tables, CONTRACT, as_of=dt.datetime(2026, 7, 4, tzinfo=dt.UTC))
    assert list(before.aliases) == ["L10", "L1", "L2", "L3"]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    from baton.demo import run_demo
    from baton.store.engine import make_engine
    from baton.store.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'baton.db'}"
    engine: Engine = make_engine(url)
    upgrade(engine)
    run_demo(
        engine,
        contract_text=default_contract_text(),
        clock=lambda: NOW,
        seed=7,
        leads=4000,
        end=dt.date(2026, 11, 1),
    )
    engine.dispose()
    return url


def test_train_explain_and_drift_on_the_demo_store(demo_store: str, tmp_path: Path) -> None:
    d = load_data(
        DataSpec("store"), contract=CONTRACT, database_url=demo_store, datasets=tmp_path, as_of=NOW
    )
    assert d.labelled.sum() < len(d) and d.label[d.labelled].sum() > 0
    built, path = train_model(
        d,
        model_dir=tmp_path,
        created=NOW,
        spec=DataSpec("store"),
        folds=2,
        params={"n_estimators": 40},
    )
    assert path.name == "store.json" and built.card.data["spec"]["spec"] == "store"
    assert built.leads_per_month and built.leads_per_month > 0
    assert {c.key for c in built.evaluation.contenders} == {"model", "naive_bayes", "logistic"}
    why = explain_lead(built, d, str(d.aliases.iloc[-1]))  # a young lead: scored, not learned from
    assert why.base + sum(r.contribution for r in why.reasons) == pytest.approx(why.raw, abs=1e-9)
    report = score_drift(built, d, as_of=NOW)
    assert report.drift.leads > 0 and np.isfinite(report.drift.psi)
    assert "30 days to 2026-11-20" in report.recent
