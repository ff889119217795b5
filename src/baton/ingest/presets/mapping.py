"""Any CSV file, read with a mapping file (TOML) that says which column holds which field.

The mapping names the kind of record each row is (``entity``), the column for each field
(``[columns]``, field = column header), and optionally how the file's stage values map to
contract stages (``[stages]``), a ``date_format``, a ``timezone`` and a ``source``. Columns the
mapping does not name are kept in each record's ``properties``. The format is described,
with a full example, in ``docs/importing.md``.

References to other records (a lead's ``account``, a deal's ``lead``) are external ids of the
same source: import the records they point to first, with the same source. Owners and users
(``owner``, ``user``) are made from the values themselves, like the CRM presets do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
import types
import typing
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from baton.contract.load import did_you_mean, key_path
from baton.contract.model import Contract, StageKind
from baton.errors import InvalidInput, NotFound, Problem
from baton.ingest.csvfile import DATE_FORMATS, CsvFile, Problems, Row, UniqueIds
from baton.ingest.presets import ImportOptions, expand
from baton.ingest.presets.common import (
    Owners,
    StageMap,
    currency,
    filled,
    needs_reason,
    share,
    squeeze,
)
from baton.ingest.records import (
    AccountIn,
    ActivityIn,
    CampaignIn,
    ContactIn,
    ImportBundle,
    LeadIn,
    OpportunityIn,
    StageStep,
    TouchIn,
)
from baton.progress import Progress

SOURCE = "csv"
#: Entity name (also the bundle's list of that name) → the record each row becomes.
ENTITIES: dict[str, type[Any]] = {
    "leads": LeadIn,
    "contacts": ContactIn,
    "accounts": AccountIn,
    "opportunities": OpportunityIn,
    "touchpoints": TouchIn,
    "activities": ActivityIn,
    "campaigns": CampaignIn,
}
Entity = Literal[
    "leads", "contacts", "accounts", "opportunities", "touchpoints", "activities", "campaigns"
]
#: Fields that are not columns: filled by the import itself.
NOT_COLUMNS = frozenset({"history", "properties", "origin"})
#: Fields of staged entities for their history: which stage, since when, and why.
STAGE_FIELDS = ("stage", "stage_at", "stage_reason")
#: Entities that have a stage.
STAGED = frozenset({"leads", "opportunities"})
#: Fields naming a person who works the record; they become users of the source.
PEOPLE = frozenset({"owner", "user"})


class MappingFile(BaseModel):
    """A mapping file, validated; every problem is reported with its key path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: Entity
    columns: dict[str, str] = Field(min_length=1)
    stages: dict[str, str] = Field(default_factory=dict)
    date_format: str | None = None
    timezone: ZoneInfo | None = None
    source: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]*$", max_length=40)

    @field_validator("date_format")
    @classmethod
    def _strptime_format(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError(f'"{value}" is not a strptime format; write it like "%d.%m.%Y %H:%M"')
        return value


@dataclasses.dataclass(frozen=True)
class Target:
    """A field a column can fill: how its cells are read and whether every row needs one."""

    name: str
    read: Callable[[Row, str, bool], Any]
    required: bool


def _reader(name: str, annotation: Any) -> Callable[[Row, str, bool], Any]:
    if name == "probability":
        return lambda row, column, _required: share(row, column, percent=False)
    if name == "currency":
        return lambda row, column, _required: currency(row, column)
    if isinstance(annotation, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if annotation is float:
        return lambda row, column, required: _float(row.number(column, required=required))
    getter = {
        dt.datetime: Row.moment,
        dt.date: Row.date,
        Decimal: Row.number,
        int: Row.integer,
    }.get(annotation, Row.text)
    return lambda row, column, required: getter(row, column, required=required)


def _float(number: Decimal | None) -> float | None:
    return None if number is None else float(number)


def targets(entity: str) -> dict[str, Target]:
    """The fields a mapping may fill for ``entity``, in the record's order."""
    cls = ENTITIES[entity]
    hints = typing.get_type_hints(cls)
    out: dict[str, Target] = {}
    for f in dataclasses.fields(cls):
        if f.name in NOT_COLUMNS:
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        out[f.name] = Target(f.name, _reader(f.name, hints[f.name]), required)
    for name in STAGE_FIELDS if entity in STAGED else ():
        if name not in out:
            out[name] = Target(
                name, _reader(name, dt.datetime if name == "stage_at" else str), False
            )
    return out


def load_mapping(path: Path, problems: Problems) -> MappingFile | None:
    """Read and validate the mapping file; ``None`` (with problems logged) when it is unusable."""
    if not path.is_file():
        raise NotFound(f"{path}: no mapping file there; check the --mapping path")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        problems.add(path.name, f"is not valid TOML: {exc}; fix the syntax there")
        return None
    try:
        return MappingFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            problems.items.append(_explain(path.name, err))
        return None


def _explain(name: str, err: Any) -> Problem:
    loc = tuple(err["loc"])
    where = f"{name} {key_path(loc)}" if loc else name
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        known = did_you_mean(str(loc[-1]), MappingFile.model_fields)
        return Problem(where, f'"{loc[-1]}" is not a key of a mapping file{known}')
    if kind == "literal_error" and loc == ("entity",):
        return Problem(where, f'"{value}" is not an entity{did_you_mean(str(value), ENTITIES)}')
    if kind == "zoneinfo_str":
        return Problem(
            where, f'"{value}" is not a known time zone; use an IANA name such as "Europe/Berlin"'
        )
    if kind == "missing":
        return Problem(where, "is required; add it (docs/importing.md has a full example)")
    return Problem(where, str(err["msg"]).removeprefix("Value error, "))


def check_mapping(mapping: MappingFile, name: str, contract: Contract, problems: Problems) -> None:
    """Checks that span keys: fields of the entity, required fields, stage keys."""
    fields = targets(mapping.entity)
    for target in mapping.columns:
        if target not in fields:
            problems.add(
                f"{name} columns.{target}",
                f'"{target}" is not a field of {mapping.entity}{did_you_mean(target, fields)}',
            )
    for field in fields.values():
        if field.required and field.name not in mapping.columns:
            problems.add(
                f"{name} columns",
                f'{mapping.entity} need a column for "{field.name}"; '
                f'add {field.name} = "<column header>"',
            )
    if mapping.stages and mapping.entity not in STAGED:
        problems.add(f"{name} stages", "only leads and opportunities have stages; remove [stages]")
    elif mapping.stages and "stage" not in mapping.columns:
        problems.add(
            f"{name} stages",
            'no column holds the stage; add stage = "<column header>" to [columns]',
        )
    keys = _stage_keys(mapping.entity, contract)
    for value, key in mapping.stages.items():
        if key not in keys:
            problems.add(
                f"{name} {key_path(('stages', value))}",
                f'"{key}" is not a {_stage_word(mapping.entity)} of the contract'
                + did_you_mean(key, keys),
            )


def _stage_keys(entity: str, contract: Contract) -> list[str]:
    return list(contract.pipeline_by_key if entity == "opportunities" else contract.stage_by_key)


def _stage_word(entity: str) -> str:
    return "pipeline stage" if entity == "opportunities" else "stage"


class _Rows:
    """Turns rows into records of one entity, by the mapping's columns."""

    def __init__(
        self, mapping: MappingFile, name: str, contract: Contract, bundle: ImportBundle
    ) -> None:
        self.mapping = mapping
        self.contract = contract
        self.bundle = bundle
        self.fields = targets(mapping.entity)
        self.owners = Owners()
        keys = _stage_keys(mapping.entity, contract)
        table = mapping.stages or {k: k for k in keys}
        self.stages = StageMap(
            table, normalise=squeeze, setting=f"[stages] of {name}", stage_keys=keys
        )

    def record(self, row: Row, columns: dict[str, str]) -> Any | None:
        """The row's record, or ``None`` when a required value is missing (a problem says so)."""
        values: dict[str, Any] = {}
        for target, column in columns.items():
            if target in STAGE_FIELDS:
                continue
            field = self.fields[target]
            values[target] = field.read(row, column, field.required)
            if target in PEOPLE:
                values[target] = self.owners.add(values[target], row.where)
        stage, history = self.history(row, columns, values)
        if self.mapping.entity == "opportunities":
            values["stage"] = stage
        if any(values.get(f.name) is None for f in self.fields.values() if f.required):
            return None
        if self.mapping.entity == "opportunities" and values.get("currency") is None:
            values["currency"] = self.contract.organization.currency
        if self.mapping.entity in STAGED:
            values["history"] = history
        used = set(columns.values())
        extra = filled(row, (c for c in row.values if c and c not in used))
        return ENTITIES[self.mapping.entity](**values, properties=extra, origin=row.where)

    def history(
        self, row: Row, columns: dict[str, str], values: dict[str, Any]
    ) -> tuple[str | None, list[StageStep]]:
        """The mapped stage, and one step into it at ``stage_at`` or the record's own time."""
        if "stage" not in columns:
            return None, []
        raw = row.text(columns["stage"], required=self.fields["stage"].required)
        stage = self.stages.require(row, columns["stage"], raw) if raw is not None else None
        at = row.moment(columns["stage_at"]) if "stage_at" in columns else None
        if stage is None:
            return None, []
        if at is None:
            closed = self.contract.pipeline_by_key.get(stage)
            is_closed = closed is not None and closed.kind in (StageKind.WON, StageKind.LOST)
            at = values.get("closed_at") if is_closed else None
            at = at or values.get("created_at")
        if at is None:
            return stage, []
        reason = row.text(columns["stage_reason"]) if "stage_reason" in columns else None
        pipeline = self.mapping.entity == "opportunities"
        if reason is None and needs_reason(self.contract, stage, pipeline=pipeline):
            reason = f"{self.bundle.source} stage {raw}"
        return stage, [StageStep(stage, at, f"import:{self.bundle.source}", reason)]


def read(
    paths: Sequence[Path], contract: Contract, options: ImportOptions, progress: Progress
) -> ImportBundle:
    """Read CSV files with the mapping file in ``options.mapping``.

    Parameters
    ----------
    paths
        CSV files (or folders of them) whose rows are all of the mapping's entity.
    contract
        The contract in force: stage values must end as its stage keys.
    options
        ``mapping`` is required. The mapping's ``timezone`` and ``source``, when set, are used
        unless ``--source`` is given; ``--timezone`` applies when the mapping sets none.
    progress
        Shows one bar per file.

    Returns
    -------
    ImportBundle
        The records, with every problem in the mapping (by key path) or in a row (by file,
        row and column).
    """
    if options.mapping is None:
        raise InvalidInput(
            "the csv preset needs a mapping file: pass --mapping mapping.toml "
            "(see docs/importing.md)"
        )
    problems = Problems()
    mapping = load_mapping(options.mapping, problems)
    name = options.mapping.name
    bundle = ImportBundle(source=options.source or (mapping.source if mapping else None) or SOURCE)
    if mapping is not None:
        check_mapping(mapping, name, contract, problems)
    if mapping is None or not problems.ok:
        bundle.problems.extend(problems.items)
        return bundle
    zone = mapping.timezone or options.zone
    formats = (mapping.date_format,) if mapping.date_format else DATE_FORMATS
    reader = _Rows(mapping, name, contract, bundle)
    ids = UniqueIds(problems)
    records: list[Any] = getattr(bundle, mapping.entity)
    for path in expand(paths):
        file = CsvFile(path, problems=problems, zone=zone, date_formats=formats)
        bundle.files[file.name] = file.sha256
        absent = [(t, c) for t, c in mapping.columns.items() if c not in file.header]
        for target, column in absent:
            problems.add(
                f"{name} columns.{target}",
                f'{file.name} has no column "{column}"{did_you_mean(column, file.header)}',
            )
        advance = progress.task(f"reading {file.name}", len(file))
        if absent:
            continue
        id_column = mapping.columns["external_id"]
        for row in file.rows():
            advance(1)
            record = reader.record(row, mapping.columns)
            if ids.claim(row, id_column, row.text(id_column)) and record is not None:
                records.append(record)
    bundle.users = list(reader.owners.users.values())
    bundle.problems.extend(problems.items)
    return bundle


READERS = {"csv": read}
