"""Use cases for the contract: apply a version, find the version in force, list versions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
    session.info.pop(_VERSIONS, None)
    return AppliedContract(contract, row.version, row.id, row.effective_at, True)


#: Where a transaction keeps the versions it has read (see :func:`_versions`).
_VERSIONS = "baton.contract_versions"


def _versions(session: Session) -> list[tuple[int, int, dt.datetime, str]]:
    """Every version's ``(id, version, effective_at, digest)``, oldest first, read once per
    transaction: scoring, qualification and routing each ask which version is in force while
    one request is handled, and the answer cannot change before it commits (except by
    :func:`apply_contract` in the same transaction, which drops what was read)."""
    transaction = session.get_transaction()
    cached = session.info.get(_VERSIONS)
    if cached is not None and cached[0] is transaction:
        rows: list[tuple[int, int, dt.datetime, str]] = cached[1]
        return rows
    cv = ContractVersion
    rows = [
        (r[0], r[1], r[2], r[3])
        for r in session.execute(
            select(cv.id, cv.version, cv.effective_at, cv.digest).order_by(
                cv.effective_at, cv.version
            )
        )
    ]
    session.info[_VERSIONS] = (transaction, rows)
    return rows


def contract_in_force(session: Session, at: dt.datetime) -> AppliedContract:
    """The latest version whose effective time is at or before ``at``."""
    found = None
    for row in _versions(session):
        if row[2] <= at:
            found = row
        else:
            break
    if found is None:
        raise NotFound(
            f"no contract version is in force at {at.isoformat()}; run `baton contract apply`"
        )
    return _applied(session, found)


def first_contract(session: Session) -> AppliedContract | None:
    """The earliest version, for times before any version took effect; ``None`` with none."""
    rows = _versions(session)
    return _applied(session, rows[0]) if rows else None


def _applied(session: Session, row: tuple[int, int, dt.datetime, str]) -> AppliedContract:
    version_id, version, effective_at, fingerprint = row
    contract = _BY_DIGEST.get(fingerprint)
    if contract is None:
        body = session.execute(
            select(ContractVersion.body).where(ContractVersion.id == version_id)
        ).scalar_one()
        contract = parse_contract(body)
        if len(_BY_DIGEST) >= 16:
            _BY_DIGEST.clear()
        _BY_DIGEST[fingerprint] = contract
    return AppliedContract(contract, version, version_id, effective_at, False)


#: Parsed contracts by the digest of their text, parsed once per process: routing reads the
#: contract on every MQL, a version's text never changes and a contract is frozen, so one
#: parsed object serves every caller.
_BY_DIGEST: dict[str, Contract] = {}


def list_versions(session: Session) -> list[ContractVersion]:
    return list(session.scalars(select(ContractVersion).order_by(ContractVersion.version)))


def version_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ContractVersion)) or 0)
