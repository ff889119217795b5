"""Copy the store's tables to Parquet files or a DuckDB file, for analytics away from the store.

``baton export parquet FOLDER`` writes ``FOLDER/<table>.parquet`` per table and ``baton export
duckdb FILE`` one DuckDB database; :func:`baton.analytics.source.open_source` reads either back
as the same :class:`~baton.analytics.source.Tables`. Rows travel in batches of Arrow record
batches, paged by primary key, so no table is ever whole in memory. Every table takes the
store's Arrow schema (:func:`baton.store.arrow.arrow_schema`): times naive UTC, money as
``decimal128(18, 2)``, properties as JSON text, whichever database it came from. Files are
written under a temporary name and moved into place at the end, so a failed export leaves
nothing half-written behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pyarrow.parquet as pq
from ibis import _

from baton.analytics.source import Tables
from baton.errors import Conflict, InvalidInput
from baton.progress import NoProgress, Progress
from baton.store.arrow import arrow_schema

#: Rows per batch: large enough for few round trips, small enough to keep memory flat.
BATCH_ROWS = 100_000


def export_parquet(
    tables: Tables,
    folder: Path,
    *,
    names: Sequence[str] | None = None,
    force: bool = False,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, int]:
    """Write each table to ``folder/<table>.parquet``.

    Parameters
    ----------
    tables
        Where to read, usually :func:`~baton.analytics.source.from_store`.
    folder
        The export folder; created if missing.
    names
        The tables to export (default: all of :meth:`Tables.names`).
    force
        Overwrite files a previous export left; without it an existing file is refused.
    progress
        Where to report rows written, one task per table.
    batch_rows
        Rows per batch read from the source.

    Returns
    -------
    dict of str to int
        Rows written per table.

    Raises
    ------
    InvalidInput
        For a table name that is not one of the store's analytics tables.
    Conflict
        When a file to write exists and ``force`` is not set.
    """
    chosen = _chosen(names)
    targets = {name: folder / f"{name}.parquet" for name in chosen}
    existing = [str(path) for path in targets.values() if path.exists()]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise Conflict(
            f"{', '.join(existing)} already {verb}; pass --force to overwrite, "
            "or export to another folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    progress = progress or NoProgress()
    written = {}
    for name, path in targets.items():
        partial = path.with_name(path.name + ".partial")
        rows = 0
        with pq.ParquetWriter(partial, arrow_schema(name)) as writer:
            for batch in batches(tables, name, progress, batch_rows):
                writer.write_batch(batch)
                rows += batch.num_rows
        os.replace(partial, path)
        written[name] = rows
    return written


def export_duckdb(
    tables: Tables,
    path: Path,
    *,
    names: Sequence[str] | None = None,
    force: bool = False,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, int]:
    """Write the tables into one DuckDB database file at ``path``.

    Parameters and the result are those of :func:`export_parquet`; ``force`` replaces an
    existing file as a whole.
    """
    chosen = _chosen(names)
    if path.exists() and not force:
        raise Conflict(f"{path} already exists; pass --force to replace it, or name another file")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    progress = progress or NoProgress()
    written = {}
    con = duckdb.connect(str(partial))
    try:
        for name in chosen:
            schema = arrow_schema(name)
            con.register("incoming", schema.empty_table())
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM incoming')
            rows = 0
            # batch by batch from this thread: SQLite connections refuse other threads
            for batch in batches(tables, name, progress, batch_rows):
                con.register("incoming", pa.Table.from_batches([batch]))
                con.execute(f'INSERT INTO "{name}" SELECT * FROM incoming')
                rows += batch.num_rows
            con.unregister("incoming")
            written[name] = rows
    finally:
        con.close()
    os.replace(partial, path)
    return written


def batches(
    tables: Tables, name: str, progress: Progress, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The rows of one table in id order, in record batches of the store's Arrow schema.

    Pages are read by key (``id > last id``), which every backend answers from the primary key
    whatever the gaps between ids.
    """
    table: ibis.Table = getattr(tables, name)
    schema = arrow_schema(name)
    if "properties" in table.columns:
        table = table.mutate(properties=_.properties.cast("string"))
    advance = progress.task(f"exporting {name}", int(table.count().to_pyarrow().as_py()))
    last: int | None = None
    while True:
        page = table if last is None else table.filter(_.id > last)
        chunk = page.order_by("id").limit(batch_rows).to_pyarrow()
        if not chunk.num_rows:
            return
        yield from chunk.select(schema.names).cast(schema).to_batches()
        advance(chunk.num_rows)
        last = int(chunk["id"][-1].as_py())


def _chosen(names: Sequence[str] | None) -> list[str]:
    known = Tables.names()
    if not names:
        return known
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(
            f"{', '.join(unknown)}: not a table Baton exports; choose from {', '.join(known)}"
        )
    return list(dict.fromkeys(names))
