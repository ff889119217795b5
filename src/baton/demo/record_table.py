"""Typed records as the Arrow table the store would hold after writing them to an empty database.

The demo's small tables (teams, users, campaigns, accounts, deals) are built once, as the
records :mod:`baton.demo.build` makes for ``baton demo``, and turned into columns here, so the
two outputs of the simulator cannot drift apart. References by external id become the row ids
an empty store assigns: 1, 2, ... in the order records are written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from baton.store import tables as t
from baton.store.arrow import arrow_schema

#: Which table a record's reference field points into; the column is the field plus ``_id``.
REFERENCES = {
    "manager": "users",
    "owner": "users",
    "user": "users",
    "team": "teams",
    "account": "accounts",
    "parent": "accounts",
    "contact": "contacts",
    "lead": "leads",
    "campaign": "campaigns",
    "opportunity": "opportunities",
}


class RowIds:
    """The row id of each external id, per table, as an empty store numbers rows it inserts."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[str, int]] = {}

    def number(self, table: str, external_ids: Sequence[str]) -> None:
        """Give ``external_ids`` the ids 1, 2, ... in ``table``."""
        self.ids[table] = {ext: row + 1 for row, ext in enumerate(external_ids)}

    def get(self, table: str, external_id: str | None) -> int | None:
        return None if external_id is None else self.ids[table][external_id]


def record_table(name: str, records: Sequence[Any], ids: RowIds, source: str) -> pa.Table:
    """The records of one table as the store's columns (:func:`baton.store.arrow.arrow_schema`).

    Parameters
    ----------
    name
        The store's table, e.g. ``"accounts"``.
    records
        Records of that table (``AccountIn``, ...), in the order they are written.
    ids
        Row ids of every table the records refer to, this one included.
    source
        The source system every record is stored under.

    Returns
    -------
    pyarrow.Table
        One row per record. ``stage`` and ``stage_entered_at`` come from a record's history,
        as the store derives them; ``properties`` is JSON text.
    """
    schema = arrow_schema(name)
    defaults = {c.name: c.default for c in t.Base.metadata.tables[name].columns}
    columns = []
    for field in schema:
        default = defaults[field.name]
        # a column no record carries takes the store's default, as an insert would
        fallback = getattr(default, "arg", None) if default is not None and default.is_scalar else None
        columns.append(_column(field, records, ids, source, fallback))
    return pa.Table.from_arrays(columns, schema=schema)


def _column(
    field: pa.Field, records: Sequence[Any], ids: RowIds, source: str, fallback: Any
) -> pa.Array:
    name = field.name
    values: list[Any]
    if name == "id":
        values = list(range(1, len(records) + 1))
    elif name == "source":
        values = [source] * len(records)
    elif name == "properties":
        values = [json.dumps(r.properties) for r in records]
    elif name in ("stage", "stage_entered_at") and records and hasattr(records[0], "history"):
        last = [r.history[-1] if r.history else None for r in records]
        values = [None if s is None else (s.to if name == "stage" else s.at) for s in last]
    elif name.endswith("_id") and name[:-3] in REFERENCES:
        table = REFERENCES[name[:-3]]
        values = [ids.get(table, getattr(r, name[:-3], None)) for r in records]
    else:
        values = [getattr(r, name, fallback) for r in records]
    if pa.types.is_timestamp(field.type):
        aware = [None if v is None else v.astimezone(dt.UTC) for v in values]
        return pa.array(aware, pa.timestamp("us", tz="UTC")).cast(field.type)
    return pa.array(values, field.type)
