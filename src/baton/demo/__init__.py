"""``baton demo``: fill the store with a seeded, realistic B2B funnel, so there is something to see.

:func:`run_demo` simulates (:mod:`baton.demo.simulator`) and writes the result through the same
path as every import (:func:`baton.service.imports.write_import`): the contract is applied,
every history is checked against it and everything is written in one transaction. Records are
upserted by their external ids, so running the demo again with the same options changes
nothing; running it with other options on the same database is refused, because its records
would overwrite the first run's and mix two histories in the append-only stage log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from baton.contract import Contract
from baton.demo.arrivals import first_day
from baton.demo.simulator import describe, simulate
from baton.domain.model import Clock
from baton.errors import Conflict
from baton.ingest.records import ImportBundle
from baton.progress import NoProgress, Progress
from baton.service.imports import write_import
from baton.store.tables import ImportRun
from baton.store.uow import UnitOfWork

LABEL = "demo"


@dataclass(frozen=True)
class DemoReport:
    """What a demo run simulated and wrote."""

    seed: int
    leads: int
    start: dt.date
    end: dt.date
    counts: dict[str, dict[str, int]]
    notes: list[str]
    contract_version: int

    @property
    def changed_anything(self) -> bool:
        return any(c["new"] or c["changed"] for c in self.counts.values())


def first_of_month(at: dt.datetime) -> dt.date:
    """The first day of ``at``'s month: where the demo's window ends by default."""
    return at.date().replace(day=1)


def run_demo(
    engine: Engine,
    *,
    contract_text: str,
    clock: Clock,
    seed: int = 7,
    leads: int = 20_000,
    months: int = 18,
    end: dt.date | None = None,
    progress: Progress | None = None,
) -> DemoReport:
    """Simulate a funnel and write it into the store in one transaction.

    Parameters
    ----------
    engine
        The store.
    contract_text
        The contract's TOML, applied first exactly as an import applies it.
    clock
        The time source; the window ends on the first day of its month unless ``end`` is given
        or the database already holds a demo, whose window is then kept.
    seed, leads, months
        Passed to :func:`~baton.demo.simulator.simulate`.
    end
        The first day after the simulated window.
    progress
        Where to report progress.

    Returns
    -------
    DemoReport
        The counts of new, changed and unchanged records per table.

    Raises
    ------
    Conflict
        When the database holds demo data made with other options.
    """
    progress = progress or NoProgress()
    previous = _previous_options(engine)
    if end is None:
        # a later run on the same database keeps the first run's window, so it stays a no-op
        end = dt.date.fromisoformat(previous["end"]) if previous else first_of_month(clock())
    files = describe(seed=seed, leads=leads, months=months, end=end)
    if previous is not None and previous != files:
        raise Conflict(
            "this database already holds demo data made with "
            + ", ".join(f"{k} {v}" for k, v in previous.items())
            + "; run the demo with those options to refresh it, or use a new database "
            + "(BATON_DATABASE_URL) for other options"
        )

    def build(contract: Contract) -> ImportBundle:
        done = progress.task("simulating the funnel", 1)
        bundle = simulate(contract, seed=seed, leads=leads, months=months, end=end)
        done(1)
        return bundle

    report = write_import(
        engine, build, label=LABEL, contract_text=contract_text, clock=clock, progress=progress
    )
    start = first_day(end, months)
    return DemoReport(seed, leads, start, end, report.counts, report.notes, report.contract_version)


def _previous_options(engine: Engine) -> dict[str, str] | None:
    """The options of the last demo written to this database, if any."""
    with UnitOfWork(engine) as uow:
        last = uow.session.scalars(
            select(ImportRun.files)
            .where(ImportRun.preset == LABEL)
            .order_by(ImportRun.id.desc())
            .limit(1)
        ).first()
    return None if last is None else {str(k): str(v) for k, v in last.items()}
