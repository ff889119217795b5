"""Import presets: each reads one kind of export into an :class:`ImportBundle`.

A preset is a function ``read(paths, contract, options, progress) -> ImportBundle``. It never
writes: checking against the lifecycle and writing happen in one place for all presets
(:func:`baton.store.bulk.write_bundle`), so every preset gets the same all-or-nothing,
idempotent behaviour.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from baton.contract.load import did_you_mean
from baton.contract.model import Contract
from baton.errors import InvalidInput, NotFound
from baton.ingest.records import ImportBundle
from baton.progress import Progress


@dataclass(frozen=True)
class ImportOptions:
    """Choices the user makes for one import.

    Parameters
    ----------
    timezone
        The zone for dates and times written without one (IANA name); UTC by default.
    mapping
        For the ``csv`` preset: the mapping file that says which column is which field.
    source
        Overrides the preset's source name, to keep two systems of the same kind apart.
    """

    timezone: str = "UTC"
    mapping: Path | None = None
    source: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


Reader = Callable[[Sequence[Path], Contract, ImportOptions, Progress], ImportBundle]

#: Preset name → (module, one-line description). Modules are imported when used.
PRESETS: dict[str, tuple[str, str]] = {
    "olist": ("olist", "Olist marketing funnel: MQLs and closed deals (two CSV files)"),
    "maven-crm": ("maven_crm", "Maven CRM + Sales Opportunities: accounts, products, teams, pipeline"),
    "hubspot-contacts": ("hubspot", "HubSpot contacts export (CSV), lifecycle stage mapped by the contract"),
    "salesforce-leads": ("salesforce", "Salesforce leads export (CSV), lead status mapped by the contract"),
    "salesforce-opportunities": ("salesforce", "Salesforce opportunities export (CSV), stage mapped by the contract"),
    "spend": ("spend", "marketing spend per month and channel (or campaign), for CAC"),
    "csv": ("mapping", "any CSV, with a mapping file (--mapping) that names each column's field"),
}


def get_preset(name: str) -> Reader:
    """The reader for preset ``name``; unknown names get the closest match."""
    if name not in PRESETS:
        raise InvalidInput(f'"{name}" is not an import preset{did_you_mean(name, PRESETS)}')
    module = importlib.import_module(f"baton.ingest.presets.{PRESETS[name][0]}")
    reader: Reader = module.READERS[name]
    return reader


def expand(paths: Sequence[Path]) -> list[Path]:
    """Files named directly, plus the ``*.csv`` files inside any folder named."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.csv"))
            if not found:
                raise NotFound(f"{path}: the folder holds no .csv files; name the files to import")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise NotFound(f"{path}: no such file or folder; check the path")
    return out
