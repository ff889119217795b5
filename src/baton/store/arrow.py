"""The store's tables as Arrow schemas: the shape of every export and of the demo's columns.

A table exported from SQLite or PostgreSQL (:mod:`baton.analytics.export`) and a table the demo
simulator builds as columns (:func:`baton.demo.columns.simulate_columns`) both take the schema
given here, so analytics read the same types whatever wrote them: times as naive UTC
``timestamp[us]``, money as ``decimal128(18, 2)``, free-form properties as JSON text.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlalchemy import Boolean, Date, Float, Integer, Numeric, String, Text
from sqlalchemy.sql.type_api import TypeEngine

from baton.errors import InvalidInput
from baton.store import tables as t
from baton.store.types import JSONDict, JSONList, UTCDateTime

#: SQL types to Arrow types, most specific first (``Numeric`` before ``Float``, which extends it).
_TYPES: tuple[tuple[type[Any], pa.DataType], ...] = (
    (UTCDateTime, pa.timestamp("us")),
    (JSONDict, pa.string()),
    (JSONList, pa.string()),
    (Boolean, pa.bool_()),
    (Date, pa.date32()),
    (Integer, pa.int64()),  # BigInteger and the SQLite variant of ids are Integers too
    (Float, pa.float64()),
    (Numeric, pa.decimal128(18, 2)),
    (String, pa.string()),
    (Text, pa.string()),
)


def arrow_type(column_type: TypeEngine[object]) -> pa.DataType:
    """The Arrow type a column of the store is exported as."""
    for sql, arrow in _TYPES:
        if isinstance(column_type, sql):
            if isinstance(column_type, Numeric) and not isinstance(column_type, Float):
                return pa.decimal128(column_type.precision or 18, column_type.scale or 2)
            return arrow
    raise TypeError(f"no Arrow type for the store's column type {column_type!r}")


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of one of the store's tables, columns in the store's order.

    Parameters
    ----------
    table
        A table name of the store, e.g. ``"leads"``.

    Raises
    ------
    InvalidInput
        When the store has no such table.
    """
    found = t.Base.metadata.tables.get(table)
    if found is None:
        known = ", ".join(sorted(t.Base.metadata.tables))
        raise InvalidInput(f'the store has no table "{table}"; its tables are {known}')
    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in found.columns])
