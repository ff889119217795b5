"""What the CRM presets share: header alias tables, stage mappings, ids, owners and channels.

A CRM export names the same field differently depending on how it was made (a Salesforce
Data Loader file says ``StageName``, a report says ``Stage``; older HubSpot exports say
``Contact ID`` where newer ones say ``Record ID``). Each preset therefore describes its
fields once, as :class:`Field` rows of accepted header names, and reads cells through a
:class:`Header` that resolved those names against the file. Headers match without regard
to case or repeated spaces.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Literal, TypedDict
from zoneinfo import ZoneInfo

from baton.contract.model import Contract
from baton.ingest.csvfile import CsvFile, Problems, Row
from baton.ingest.presets import expand
from baton.ingest.records import ImportBundle, UserIn
from baton.progress import Progress

#: How many unmapped column names a note lists before it says "and N more".
NOTE_COLUMNS = 12


def _norm_header(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Field:
    """One field a preset reads: its key in the code and the header names that hold it.

    The first name is the one messages use; the others are accepted spellings.
    """

    key: str
    names: tuple[str, ...]
    required: bool = False


class Person(TypedDict):
    """A person's fields, shared by contacts and leads."""

    email: str | None
    first_name: str | None
    last_name: str | None
    title: str | None
    country: str | None


def filled(row: Row, columns: Iterable[str]) -> dict[str, str]:
    """The row's non-empty cells in ``columns``, by column."""
    return {c: v for c in columns if (v := row.text(c)) is not None}


class Header:
    """A file's header resolved against a table of :class:`Field` rows.

    A missing required field is logged as a problem on row 1 with the closest header name;
    ``usable`` is then false and the preset reads no rows. Columns no field claims are in
    ``extra``, in file order, for the preset to keep in ``properties``.

    Parameters
    ----------
    file
        The open CSV file; its problems collect the missing-column messages.
    fields
        The preset's field table.
    """

    def __init__(self, file: CsvFile, fields: Sequence[Field]) -> None:
        self.file = file
        self.fields = {f.key: f for f in fields}
        present = {_norm_header(h): h for h in file.header if h}
        self.columns: dict[str, str] = {}
        missing: list[Field] = []
        for f in fields:
            found = next((present[n] for n in map(_norm_header, f.names) if n in present), None)
            if found is not None:
                self.columns[f.key] = found
            elif f.required:
                missing.append(f)
        for f in missing:
            also = ", ".join(f'"{n}"' for n in f.names[1:])
            accepted = f" (or {also})" if also else ""
            file.problems.add(
                f"{file.name} row 1",
                f'missing column "{f.names[0]}"{accepted}{_closest(f.names, file.header)}',
            )
        used = set(self.columns.values())
        self.extra = [h for h in file.header if h and h not in used]
        self.usable = file.usable and not missing

    def __getitem__(self, key: str) -> str:
        """The column holding field ``key`` (its first name when absent, which reads as empty)."""
        return self.columns.get(key) or self.fields[key].names[0]

    def extras(self, row: Row) -> dict[str, str]:
        """The row's non-empty cells in columns no field claims, by header name."""
        return filled(row, self.extra)

    def texts(self, row: Row, keys: Iterable[str]) -> dict[str, str]:
        """The row's non-empty values of fields ``keys``, by field key."""
        return {k: v for k in keys if (v := row.text(self[k])) is not None}

    def person(self, row: Row) -> Person:
        """The fields that describe a person, read by the same keys in every CRM preset."""
        return Person(
            email=row.text(self["email"]),
            first_name=row.text(self["first_name"]),
            last_name=row.text(self["last_name"]),
            title=row.text(self["title"]),
            country=row.text(self["country"]),
        )

    def note(self, bundle: ImportBundle) -> None:
        """Say once, in the bundle's notes, which columns were kept in properties."""
        if not self.extra:
            return
        shown = ", ".join(self.extra[:NOTE_COLUMNS])
        more = len(self.extra) - NOTE_COLUMNS
        tail = f" and {more} more" if more > 0 else ""
        bundle.notes.append(
            f"{self.file.name}: {len(self.extra)} column(s) are not Baton fields and were kept "
            f"in properties: {shown}{tail}"
        )


def read_rows(
    paths: Sequence[Path],
    fields: Sequence[Field],
    bundle: ImportBundle,
    problems: Problems,
    zone: ZoneInfo,
    progress: Progress,
) -> Iterator[tuple[Row, Header]]:
    """Each record row of each file (folders expanded), with its file's resolved header.

    Records every file's fingerprint and unmapped columns in ``bundle``, shows one progress
    bar per file, and skips the rows of a file that lacks a required column.
    """
    for path in expand(paths):
        file = CsvFile(path, problems=problems, zone=zone)
        header = Header(file, fields)
        bundle.files[file.name] = file.sha256
        header.note(bundle)
        advance = progress.task(f"reading {file.name}", len(file))
        if not header.usable:
            continue
        for row in file.rows():
            advance(1)
            yield row, header


def _closest(names: Iterable[str], header: Sequence[str]) -> str:
    by_norm = {_norm_header(h): h for h in header if h}
    for name in names:
        close = difflib.get_close_matches(_norm_header(name), list(by_norm), n=1, cutoff=0.75)
        if close:
            return f'; did you mean "{by_norm[close[0]]}"?'
    return "; check that this is the right export for this preset"


class StageMap:
    """A table from another tool's values to contract stage keys, matched after normalising.

    Parameters
    ----------
    table
        Tool value → stage key, as written in the contract (or a mapping file).
    normalise
        Applied to the table's keys and to each looked-up value, so spellings that mean
        the same value match (``Marketing Qualified Lead`` and ``marketingqualifiedlead``).
    setting
        Where the table lives, for messages: ``[mappings.hubspot.lifecycle_stage] in the
        contract (baton.toml)``.
    stage_keys
        The keys a value may map to, listed when one is missing.
    """

    def __init__(
        self,
        table: Mapping[str, str],
        *,
        normalise: Callable[[str], str],
        setting: str,
        stage_keys: Iterable[str],
    ) -> None:
        self.normalise = normalise
        self.table = {normalise(k): v for k, v in table.items()}
        self.setting = setting
        self.stage_keys = list(stage_keys)

    @classmethod
    def from_contract(
        cls,
        contract: Contract,
        tool: Literal["hubspot", "salesforce"],
        table: Literal["lifecycle_stage", "lead_status", "opportunity_stage"],
        *,
        normalise: Callable[[str], str],
    ) -> StageMap:
        """The contract's ``[mappings.<tool>.<table>]``; opportunity stages map to the pipeline."""
        keys = contract.pipeline_by_key if table == "opportunity_stage" else contract.stage_by_key
        return cls(
            getattr(getattr(contract.mappings, tool), table),
            normalise=normalise,
            setting=f"[mappings.{tool}.{table}] in the contract (baton.toml)",
            stage_keys=keys,
        )

    def get(self, value: str) -> str | None:
        return self.table.get(self.normalise(value))

    def require(self, row: Row, column: str, value: str) -> str | None:
        """The stage for ``value``, or ``None`` after logging a problem that says what to add."""
        stage = self.get(value)
        if stage is None:
            key = json.dumps(value, ensure_ascii=False)
            row.problems.add(
                f"{row.where} column {column}",
                f'"{value}" has no stage in {self.setting}; add {key} = "<stage key>" there '
                f"(stage keys: {', '.join(self.stage_keys)})",
            )
        return stage


def squeeze(value: str) -> str:
    """Case and spacing folded: ``"Open -  not contacted"`` → ``"open - not contacted"``."""
    return " ".join(value.split()).casefold()


def snake(value: str) -> str:
    """Lower snake case: ``"ORGANIC_SEARCH"`` and ``"Organic Search"`` → ``"organic_search"``."""
    return re.sub(r"[^0-9a-z]+", "_", value.casefold()).strip("_")


def company_key(name: str) -> str:
    """The id an account gets from its name: spacing and case folded."""
    return squeeze(name)


def needs_reason(contract: Contract, stage: str, *, pipeline: bool = False) -> bool:
    """Whether entering ``stage`` needs a reason under the contract's lifecycle rules."""
    stages = contract.pipeline_by_key if pipeline else contract.stage_by_key
    found = stages.get(stage)
    return found is not None and found.kind in contract.lifecycle.reason_required


class Owners:
    """Users made from the owner names or emails a CRM export puts on its records."""

    def __init__(self) -> None:
        self.users: dict[str, UserIn] = {}

    def add(self, value: str | None, origin: str) -> str | None:
        """Register the owner ``value`` (a name, an email or a CRM user id); return its id."""
        if value is None:
            return None
        if value not in self.users:
            email = value if "@" in value else None
            self.users[value] = UserIn(value, name=value, email=email, origin=origin)
        return value


def share(row: Row, column: str, *, percent: bool) -> float | None:
    """A probability as a share from 0 to 1.

    ``"25%"`` is always read as a percent. Other values are percents when ``percent`` is
    true (Salesforce writes 0 to 100) and shares otherwise.
    """
    text = row.text(column)
    if text is None:
        return None
    is_percent = percent or text.endswith("%")
    try:
        value = Decimal(text.removesuffix("%").strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if is_percent:
        value /= 100
    if not value.is_finite() or not 0 <= value <= 1:
        expected = (
            "a percent from 0 to 100"
            if percent
            else "a share from 0 to 1 (0.25) or a percent with its sign (25%)"
        )
        row.problems.add(
            f"{row.where} column {column}", f'"{text}" is not a probability; write {expected}'
        )
        return None
    return float(value)


def currency(row: Row, column: str) -> str | None:
    """An ISO 4217 code from the column, upper-cased; ``None`` when the cell is empty or bad."""
    code = row.text(column)
    if code is None:
        return None
    if not re.fullmatch(r"[A-Za-z]{3}", code):
        row.problems.add(
            f"{row.where} column {column}",
            f'"{code}" is not a currency code; write a three-letter ISO 4217 code such as EUR',
        )
        return None
    return code.upper()


def plain_number(value: Decimal | None) -> int | float | None:
    """A number as JSON can hold it in ``properties``: whole numbers as int."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)
