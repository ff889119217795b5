"""``baton export``: the store's tables as Parquet files or a DuckDB file, and ``--source``."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine
from tests.fixtures import ten_leads
from tests.fixtures.frames import assert_same
from typer.testing import CliRunner

from baton.analytics.export import export_duckdb, export_parquet
from baton.analytics.source import Tables, from_store, open_source
from baton.cli import app
from baton.errors import Conflict, InvalidInput, NotFound
from baton.store.arrow import arrow_schema


@pytest.fixture
def store(engine: Engine, database_url: str, clock: object) -> Tables:
    ten_leads.load(engine, clock)
    tables = from_store(database_url)
    yield tables  # type: ignore[misc]
    tables.close()


def test_parquet_files_have_the_stores_types_on_either_database(
    store: Tables, tmp_path: Path
) -> None:
    # batches of 3 rows: every table of more than three rows is read in several pages
    written = export_parquet(store, tmp_path, batch_rows=3)
    # lead moves 5+4+3+2+5+4+1+3+1+5 = 33 (L1..L10), deal moves 2 for each of O1..O5 = 10
    assert written["leads"] == 10 and written["stage_changes"] == 33 + 10
    for name in Tables.names():
        assert pq.read_schema(tmp_path / f"{name}.parquet") == arrow_schema(name), name

    deals = pq.read_table(tmp_path / "opportunities.parquet").to_pylist()
    o1 = next(d for d in deals if d["external_id"] == "O1")
    assert o1["amount"] == Decimal("10000.00")
    # won 2026-08-14 12:00 UTC, read back as naive UTC whatever the database's zone
    assert o1["closed_at"] == dt.datetime(2026, 8, 14, 12, 0)
    assert o1["close_date"] == dt.date(2026, 8, 14)
    changes = pq.read_table(tmp_path / "stage_changes.parquet")
    assert changes["id"].to_pylist() == sorted(changes["id"].to_pylist())  # in id order
    users = pq.read_table(tmp_path / "users.parquet").to_pylist()
    assert {json.loads(u["properties"]) == {} for u in users} == {True}


def test_an_export_refuses_to_overwrite_without_force(store: Tables, tmp_path: Path) -> None:
    export_parquet(store, tmp_path, names=["leads"])
    with pytest.raises(Conflict, match="--force"):
        export_parquet(store, tmp_path, names=["leads", "teams"])
    assert not (tmp_path / "teams.parquet").exists()
    assert export_parquet(store, tmp_path, names=["leads", "teams"], force=True) == {
        "leads": 10,
        "teams": 2,
    }

    target = tmp_path / "baton.duckdb"
    export_duckdb(store, target, names=["teams"])
    with pytest.raises(Conflict, match="--force"):
        export_duckdb(store, target)
    assert export_duckdb(store, target, force=True)["leads"] == 10
    with duckdb.connect(str(target), read_only=True) as con:
        kind = con.execute("SELECT typeof(amount), typeof(closed_at) FROM opportunities").fetchone()
    assert kind == ("DECIMAL(18,2)", "TIMESTAMP")
    assert not list(tmp_path.glob("*.partial"))


def test_an_unknown_table_is_refused_by_name(store: Tables, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="lead: not a table Baton exports; choose from leads"):
        export_parquet(store, tmp_path, names=["lead"])


def test_open_source_reads_the_store_a_folder_or_a_duckdb_file(
    store: Tables, database_url: str, tmp_path: Path
) -> None:
    export_parquet(store, tmp_path / "export")
    export_duckdb(store, tmp_path / "baton.duckdb")
    for spec in ("store", None, str(tmp_path / "export"), str(tmp_path / "baton.duckdb")):
        tables = open_source(spec, database_url)
        try:
            assert tables.leads.count().to_pyarrow().as_py() == 10, spec
        finally:
            tables.close()


def test_open_source_says_what_to_run_when_the_source_is_wrong(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    with pytest.raises(NotFound, match="baton export duckdb"):
        open_source(str(tmp_path / "missing"), url)
    with pytest.raises(NotFound, match="no such DuckDB file"):
        open_source(str(tmp_path / "missing.duckdb"), url)
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="baton export parquet"):
        open_source(str(tmp_path / "empty"), url)
    (tmp_path / "notes.txt").write_text("not a database")
    with pytest.raises(InvalidInput, match="not a DuckDB file"):
        open_source(str(tmp_path / "notes.txt"), url)


def test_export_commands(sqlite_engine: Engine, clock: object, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    ten_leads.load(sqlite_engine, clock)
    monkeypatch.setenv("BATON_DATABASE_URL", str(sqlite_engine.url))
    runner = CliRunner()
    folder = tmp_path / "out"
    done = runner.invoke(app, ["export", "parquet", str(folder), "--tables", "leads,teams"])
    assert done.exit_code == 0, done.output
    assert "leads" in done.output and sorted(p.name for p in folder.iterdir()) == [
        "leads.parquet",
        "teams.parquet",
    ]
    again = runner.invoke(app, ["export", "parquet", str(folder), "--tables", "leads"])
    assert again.exit_code == 1 and "--force" in again.output
    file = tmp_path / "baton.duckdb"
    done = runner.invoke(app, ["export", "duckdb", str(file)])
    assert done.exit_code == 0, done.output
    assert pa.types.is_timestamp(
        duckdb.connect(str(file), read_only=True).table("leads").arrow().schema.field("created_at").type
    )


@pytest.mark.parametrize(
    "command",
    [
        ["scoreboard", "--period", "2026-Q3", "--by", "channel"],
        ["sla", "--period", "2026-Q3"],
        ["goals"],
        ["plan", "--revenue", "100000", "--period", "2026-Q4"],
        ["funnel", "--by", "channel", "--cohort", "month"],
        ["funnel", "--stuck", "--as-of", "2026-10-01"],
    ],
)
def test_analytics_commands_read_any_source(
    command: list[str], sqlite_engine: Engine, clock: object, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    ten_leads.load(sqlite_engine, clock)
    monkeypatch.setenv("BATON_DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("baton.cli.system_clock", clock)  # "now" is the same for every source
    store = from_store(str(sqlite_engine.url))
    export_parquet(store, tmp_path / "export")
    export_duckdb(store, tmp_path / "baton.duckdb")
    store.close()
    runner = CliRunner()
    results = {}
    for source in ("store", str(tmp_path / "export"), str(tmp_path / "baton.duckdb")):
        done = runner.invoke(app, [*command, "--format", "csv", "--source", source])
        assert done.exit_code == 0, done.output
        results[source] = {"csv": pd.read_csv(io.StringIO(done.output))}
    assert len(results["store"]["csv"]) > 0
    for source, frames in results.items():
        assert_same(results["store"], frames, source)
    missing = runner.invoke(app, [*command, "--source", str(tmp_path / "nothing")])
    assert missing.exit_code == 1 and "baton export" in missing.output
