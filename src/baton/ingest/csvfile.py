"""Read CSV files row by row, turning each cell into a typed value or a named problem.

Problems are collected, not raised, so one import reports every bad row at once, each as
``file row N column C: what is wrong``. Row numbers are the file's line numbers as a
spreadsheet shows them: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from baton.contract.load import did_you_mean
from baton.errors import InvalidInput, NotFound, Problem

TRUE = {"true", "yes", "y", "1", "t"}
FALSE = {"false", "no", "n", "0", "f"}
#: Formats tried after ISO 8601, in order. Day-first formats are never guessed.
DATE_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y")


@dataclass
class Problems:
    """Problems found while reading; ``add`` records one, ``ok`` says whether there are none."""

    items: list[Problem] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.items.append(Problem(where, message))

    @property
    def ok(self) -> bool:
        return not self.items


@dataclass
class Row:
    """One record row: its values by header name, and typed getters that log problems."""

    file: str
    line: int
    values: dict[str, str]
    problems: Problems
    zone: ZoneInfo
    date_formats: Sequence[str] = DATE_FORMATS

    @property
    def where(self) -> str:
        return f"{self.file} row {self.line}"

    def _problem(self, column: str, message: str) -> None:
        self.problems.add(f"{self.where} column {column}", message)

    def text(self, column: str, *, required: bool = False) -> str | None:
        """The cell's text, stripped; empty becomes ``None`` (or a problem when required)."""
        value = (self.values.get(column) or "").strip()
        if not value:
            if required:
                self._problem(column, "is empty; every row needs a value here")
            return None
        return value

    def number(self, column: str, *, required: bool = False) -> Decimal | None:
        value = self.text(column, required=required)
        if value is None:
            return None
        try:
            # "1,234.50" as exported by spreadsheets; a lone comma is never a decimal point here
            number = Decimal(value.replace(",", "") if "." in value else value)
        except InvalidOperation:
            self._problem(column, f'"{value}" is not a number; write it like 1234.50')
            return None
        if not number.is_finite():
            self._problem(column, f'"{value}" is not a finite number')
            return None
        return number

    def integer(self, column: str, *, required: bool = False) -> int | None:
        number = self.number(column, required=required)
        if number is None:
            return None
        if number != number.to_integral_value():
            self._problem(column, f'"{self.values[column].strip()}" is not a whole number')
            return None
        return int(number)

    def flag(self, column: str, *, required: bool = False) -> bool | None:
        value = self.text(column, required=required)
        if value is None:
            return None
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        self._problem(column, f'"{value}" is not true or false; use true/false, yes/no or 1/0')
        return None

    def moment(self, column: str, *, required: bool = False) -> dt.datetime | None:
        """A date or date-time; without a time zone it is read in the import's zone."""
        value = self.text(column, required=required)
        if value is None:
            return None
        parsed = parse_moment(value, self.zone, self.date_formats)
        if parsed is None:
            self._problem(
                column,
                f'"{value}" is not a date; use ISO 8601 such as 2026-07-01 or '
                "2026-07-01T09:30:00+02:00 (or set a date format in the mapping)",
            )
        return parsed

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        moment = self.moment(column, required=required)
        return None if moment is None else moment.astimezone(self.zone).date()


def parse_moment(value: str, zone: ZoneInfo, formats: Sequence[str] = DATE_FORMATS) -> dt.datetime | None:
    """Parse ISO 8601 (with or without offset, ``Z`` allowed) or one of ``formats``."""
    text = value.strip()
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in formats:
            try:
                parsed = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


class CsvFile:
    """A CSV file with a header row, checked against the columns a preset needs.

    Parameters
    ----------
    path
        The file. Its delimiter (comma, semicolon or tab) is detected from the header line.
    required
        Columns that must be in the header; a missing one is a problem naming the closest match.
    known
        All columns the preset understands; others are reported once in ``unknown_columns``
        (presets keep them in ``properties``). ``None`` accepts any.
    """

    def __init__(
        self,
        path: Path,
        *,
        problems: Problems,
        zone: ZoneInfo,
        required: Iterable[str] = (),
        known: Iterable[str] | None = None,
        date_formats: Sequence[str] = DATE_FORMATS,
    ) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.problems = problems
        self.zone = zone
        self.date_formats = date_formats
        if not self.path.is_file():
            raise NotFound(f"{self.path}: no such file; check the path")
        raw = self.path.read_bytes()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        try:
            self._text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{self.name}: not UTF-8 text (byte {exc.start}); save it as UTF-8 CSV and retry"
            ) from exc
        first_line = self._text.split("\n", 1)[0]
        self.delimiter = max((",", ";", "\t"), key=first_line.count)
        reader = csv.reader(self._text.splitlines(keepends=True), delimiter=self.delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise InvalidInput(f"{self.name}: the file is empty; it needs a header row") from None
        self.header = [h.strip() for h in header]
        self.required = list(required)
        missing = [c for c in self.required if c not in self.header]
        for column in missing:
            problems.add(
                f"{self.name} row 1",
                f'missing column "{column}"{did_you_mean(column, self.header)}',
            )
        seen: set[str] = set()
        for column in self.header:
            if column in seen:
                problems.add(f"{self.name} row 1", f'column "{column}" appears twice; rename one')
            seen.add(column)
        known_set = set(known) if known is not None else None
        self.unknown_columns = (
            [c for c in self.header if c and c not in known_set] if known_set is not None else []
        )
        self.usable = not missing

    def __len__(self) -> int:
        return max(0, sum(1 for line in self._text.splitlines() if line.strip()) - 1)

    def rows(self) -> Iterator[Row]:
        """Each record row in order; rows of the wrong width become problems and are skipped."""
        if not self.usable:
            return
        reader = csv.reader(self._text.splitlines(keepends=True), delimiter=self.delimiter)
        next(reader)
        width = len(self.header)
        for number, values in enumerate(reader, start=2):
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != width:
                self.problems.add(
                    f"{self.name} row {number}",
                    f"has {len(values)} fields but the header has {width}; "
                    "check for an unquoted delimiter or a missing field",
                )
                continue
            yield Row(
                self.name,
                number,
                dict(zip(self.header, values, strict=True)),
                self.problems,
                self.zone,
                self.date_formats,
            )


class UniqueIds:
    """Checks that ids are unique within and across the files of one import, naming both rows."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.first: dict[str, tuple[str, int]] = {}

    def claim(self, row: Row, column: str, value: str | None) -> bool:
        """True when ``value`` is new; otherwise log a problem and return False."""
        if value is None:
            return False
        if value in self.first:
            file, line = self.first[value]
            where = f"row {line}" if file == row.file else f"{file} row {line}"
            self.problems.add(
                f"{row.where} column {column}",
                f'"{value}" already appears in {where}; '
                "each row needs its own id (remove or merge the duplicate)",
            )
            return False
        self.first[value] = (row.file, row.line)
        return True
