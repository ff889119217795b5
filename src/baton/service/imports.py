"""The import use case: read files with a preset, check them, write them whole or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from baton.domain.model import Clock
from baton.errors import ImportRejected
from baton.ingest.presets import ImportOptions, get_preset
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
    started = clock()
    with UnitOfWork(engine) as uow:
        applied = apply_contract(uow.session, contract_text, clock=clock)
        options = options or ImportOptions()
        bundle = reader(list(paths), applied.contract, options, progress)
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
                preset=preset,
                files=bundle.files,
                started_at=started,
                finished_at=clock(),
                counts=counts,
            )
        )
        uow.commit()
    return ImportReport(preset, bundle.files, counts, bundle.notes, applied.version)
