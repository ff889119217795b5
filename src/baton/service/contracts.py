"""Use cases for the contract: apply a version, find the version in force, list versions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baton.contract import Contract, digest, parse_contract
from baton.domain.lifecycle import Lifecycle
from baton.domain.model import Clock
from baton.errors import NotFound
from baton.store.tables import ContractVersion


@dataclass(frozen=True)
class AppliedContract:
    """A contract together with the stored version that holds it."""

    contract: Contract
    version: int
    version_id: int
    effective_at: dt.datetime
    created: bool

    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self.contract, self.version)


def apply_contract(
    session: Session,
    text: str,
    *,
    clock: Clock,
    effective_at: dt.datetime | None = None,
    source: str = "baton.toml",
) -> AppliedContract:
    """Store ``text`` as the next contract version, unless the latest version is the same text.

    The effective time is, in order: ``effective_at``, the contract's ``effective_from`` date
    (midnight in its business-hours time zone), or now.
    """
    contract = parse_contract(text, source=source)
    fingerprint = digest(text)
    latest = session.scalars(
        select(ContractVersion).order_by(ContractVersion.version.desc()).limit(1)
    ).first()
    if latest is not None and latest.digest == fingerprint and effective_at is None:
        return AppliedContract(contract, latest.version, latest.id, latest.effective_at, False)
    now = clock()
    if effective_at is None and contract.effective_from is not None:
        effective_at = dt.datetime.combine(
            contract.effective_from, dt.time(), tzinfo=contract.business_hours.zone
        )
    row = ContractVersion(
        version=(latest.version + 1) if latest else 1,
        effective_at=effective_at or now,
        applied_at=now,
        digest=fingerprint,
        body=text,
        note=contract.note,
    )
    session.add(row)
    session.flush()
    return AppliedContract(contract, row.version, row.id, row.effective_at, True)


def contract_in_force(session: Session, at: dt.datetime) -> AppliedContract:
    """The latest version whose effective time is at or before ``at``."""
    row = session.scalars(
        select(ContractVersion)
        .where(ContractVersion.effective_at <= at)
        .order_by(ContractVersion.effective_at.desc(), ContractVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(
            f"no contract version is in force at {at.isoformat()}; run `baton contract apply`"
        )
    return AppliedContract(_parsed(row.body), row.version, row.id, row.effective_at, False)


@lru_cache(maxsize=8)
def _parsed(body: str) -> Contract:
    """A stored version's contract, parsed once: routing reads it on every MQL, and the
    contract is frozen, so one parsed object can serve every caller."""
    return parse_contract(body)


def list_versions(session: Session) -> list[ContractVersion]:
    return list(session.scalars(select(ContractVersion).order_by(ContractVersion.version)))


def version_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ContractVersion)) or 0)
