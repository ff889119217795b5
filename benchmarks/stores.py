"""Load the benchmark's Parquet tables into a store: a SQLite file or a PostgreSQL database.

The schema is the store's own (its migrations), so Baton reads them as it reads any store.
Rows go in batch by batch: ``executemany`` on SQLite, ``COPY ... FROM STDIN`` with CSV on
PostgreSQL. Times are written as the store writes them: naive UTC text on SQLite, ``timestamptz``
read in a UTC session on PostgreSQL.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from baton.analytics.source import Tables
from baton.store import tables as t
from baton.store.engine import make_engine, normalize_url
from baton.store.migrate import upgrade

BATCH = 50_000


def _ordered() -> list[str]:
    """The analytics tables, each after the tables it refers to."""
    wanted = set(Tables.names())
    return [table.name for table in t.Base.metadata.sorted_tables if table.name in wanted]


def _deferred(name: str) -> list[str]:
    """Columns of ``name`` whose reference closes a cycle (a team's manager): set after loading."""
    table = t.Base.metadata.tables[name]
    return [fk.parent.name for fk in table.foreign_keys if fk.use_alter]


def _batches(folder: Path, name: str) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(folder / f"{name}.parquet").iter_batches(BATCH)


def load_sqlite(folder: Path, path: Path) -> str:
    """A new SQLite store at ``path`` holding the tables of the Parquet ``folder``; its URL."""
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    con = sqlite3.connect(path)
    # a benchmark fixture, rebuilt if a load fails: no journal while loading, WAL again after
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    for name in _ordered():
        schema = pq.read_schema(folder / f"{name}.parquet")
        columns = ", ".join(f'"{c}"' for c in schema.names)
        marks = ", ".join("?" for _ in schema.names)
        insert = f'INSERT INTO "{name}" ({columns}) VALUES ({marks})'
        with con:
            for batch in _batches(folder, name):
                values = [_sqlite_values(batch.column(i)) for i in range(batch.num_columns)]
                con.executemany(insert, zip(*values, strict=True))
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    return url


def _sqlite_values(column: pa.Array) -> list[object]:
    """A column as the Python values SQLAlchemy would have bound on SQLite."""
    if pa.types.is_timestamp(column.type):
        column = pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
    elif pa.types.is_date(column.type):
        column = pc.strftime(column, format="%Y-%m-%d")
    elif pa.types.is_decimal(column.type):
        column = column.cast(pa.float64())
    return column.to_pylist()


def load_postgres(folder: Path, admin_url: str, database: str) -> str:
    """A new PostgreSQL database ``database`` on the server of ``admin_url`` with the tables.

    An existing database of that name is dropped first. Returns the new database's URL.
    """
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database})
        if found.first():
            conn.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = make_url(normalize_url(admin_url)).set(database=database)
    engine = make_engine(url.render_as_string(hide_password=False))
    upgrade(engine)
    engine.dispose()
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, options="-c TimeZone=UTC") as con:
        deferred = []
        for name in _ordered():
            schema = pq.read_schema(folder / f"{name}.parquet")
            later = _deferred(name)
            columns = ", ".join(f'"{c}"' for c in schema.names)
            copy = f'COPY "{name}" ({columns}) FROM STDIN WITH (FORMAT csv)'
            with con.cursor() as cur, cur.copy(copy) as out:
                for batch in _batches(folder, name):
                    for column in later:
                        index = batch.schema.get_field_index(column)
                        batch = batch.set_column(
                            index, column, pa.nulls(batch.num_rows, pa.int64())
                        )
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
                    out.write(buffer.getvalue())
            deferred += [(name, column) for column in later]
        for name, column in deferred:
            _fill_later(con, folder, name, column)
        con.commit()
        con.autocommit = True
        con.execute("ANALYZE")
    return plain


def _fill_later(con: psycopg.Connection[tuple[object, ...]], folder: Path, name: str,
                column: str) -> None:  # fmt: skip
    values = pq.read_table(folder / f"{name}.parquet", columns=["id", column]).to_pylist()
    with con.cursor() as cur:
        cur.executemany(
            f'UPDATE "{name}" SET "{column}" = %s WHERE id = %s',
            [(row[column], row["id"]) for row in values if row[column] is not None],
        )
