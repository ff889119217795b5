"""The import use case: read files with a preset, check them, write them whole or not at all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text

from baton.contract import Contract
from baton.domain.model import Clock
from baton.errors import ImportRejected
from baton.ingest.presets import ImportOptions, get_preset
from baton.ingest.records import ImportBundle
from baton.progress import NoProgress, Progress
from baton.service.contracts import apply_contract
from baton.store.bulk import write_bundle
from baton.store.tables import ImportRun
from baton.store.uow import UnitOfWork


@dataclass
class ImportReport:
    """What an import read and wrote."""

    preset: str
    files: dict[str, str]
    counts: dict[str, dict[str, int]]
    notes: list[str] = field(default_factory=list)
    contract_version: int = 0

    @property
    def changed_anything(self) -> bool:
        return any(c["new"] or c["changed"] for c in self.counts.values())


def run_import(
    engine: Engine,
    preset: str,
    paths: Sequence[Path],
    *,
    contract_text: str,
    clock: Clock,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``paths`` with ``preset`` in one transaction; raise :class:`ImportRejected` on bad rows.

    The contract text is applied first (stored as a new version if it changed) so every stage
    change written names the version that allowed it.
    """
    progress = progress or NoProgress()
    reader = get_preset(preset)
    options = options or ImportOptions()
    return write_import(
        engine,
        lambda contract: reader(list(paths), contract, options, progress),
        label=preset,
        contract_text=contract_text,
        clock=clock,
        progress=progress,
    )


def write_import(
    engine: Engine,
    build: Callable[[Contract], ImportBundle],
    *,
    label: str,
    contract_text: str,
    clock: Clock,
    progress: Progress | None = None,
) -> ImportReport:
    """Apply the contract, build a bundle under it and write the bundle, all in one transaction.

    Parameters
    ----------
    engine
        The store.
    build
        Makes the bundle from the contract in force (a preset reading files, the demo
        simulator); called inside the transaction, after the contract is applied.
    label
        What made the bundle, recorded on the import run (a preset name, ``demo``).
    contract_text
        The contract's TOML; stored as a new version only if it differs from the latest.
    clock
        The time source for the run's start and end and the stage log's ``recorded_at``.
    progress
        Where to report progress; nothing is shown by default.

    Returns
    -------
    ImportReport
        The counts of new, changed and unchanged records per table.

    Raises
    ------
    ImportRejected
        When the bundle has problems or a history breaks the lifecycle; nothing is written.
    """
    progress = progress or NoProgress()
    started = clock()
    with UnitOfWork(engine) as uow:
        applied = apply_contract(uow.session, contract_text, clock=clock)
        bundle = build(applied.contract)
        if bundle.problems:
            raise ImportRejected(
                f"import refused, nothing was written: {len(bundle.problems)} "
                f"problem{'s' if len(bundle.problems) != 1 else ''}",
                bundle.problems,
            )
        result = write_bundle(
            uow.session,
            bundle,
            lifecycle=applied.lifecycle(),
            contract_version_id=applied.version_id,
            now=clock(),
            progress=progress,
        )
        counts = result.as_dict()
        uow.session.add(
            ImportRun(
                preset=label,
                files=bundle.files,
                started_at=started,
                finished_at=clock(),
                counts=counts,
            )
        )
        uow.commit()
    if any(c["new"] or c["changed"] for c in counts.values()):
        refresh_statistics(engine)
    return ImportReport(label, bundle.files, counts, bundle.notes, applied.version)


def refresh_statistics(engine: Engine) -> None:
    """Let the query planner see what a bulk write changed.

    PostgreSQL plans analytics from table statistics; right after a large load they are
    missing (or stale where autovacuum is off or slow) and the planner can choose nested loops
    that take minutes instead of a second. SQLite gets the same from ``PRAGMA optimize``.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        elif engine.dialect.name == "sqlite":
            conn.execute(text("PRAGMA optimize"))
        conn.commit()
