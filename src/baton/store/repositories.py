"""Repositories: load and save domain records, so services never build SQL themselves."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.domain.model import Lead, StageChange
from baton.errors import NotFound
from baton.store import tables as t


class LeadRepository:
    """Leads and their stage log."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, lead_id: int) -> t.Lead:
        row = self.session.get(t.Lead, lead_id, with_for_update=True)
        if row is None:
            raise NotFound(f"lead {lead_id} does not exist")
        return row

    def get(self, lead_id: int) -> Lead:
        """The lead with this id; raises :class:`NotFound` when there is none."""
        row = self._row(lead_id)
        return Lead(
            id=row.id,
            stage=row.stage,
            stage_entered_at=row.stage_entered_at,
            email=row.email,
            company=row.company,
            owner_id=row.owner_id,
            score=row.score,
            properties=dict(row.properties or {}),
        )

    def record_move(self, lead: Lead, change: StageChange, contract_version_id: int | None) -> None:
        """Store the lead's new stage and append its log entry."""
        row = self._row(change.subject_id or 0)
        row.stage = lead.stage
        row.stage_entered_at = lead.stage_entered_at
        self.session.add(
            t.StageChangeRow(
                subject=change.subject.value,
                subject_id=change.subject_id,
                from_stage=change.from_stage,
                to_stage=change.to_stage,
                at=change.at,
                actor=change.actor,
                contract_version_id=contract_version_id,
                reason=change.reason,
                recorded_at=change.at,
            )
        )

    def history(self, lead_id: int) -> list[t.StageChangeRow]:
        """The lead's stage log, oldest first."""
        return list(
            self.session.scalars(
                select(t.StageChangeRow)
                .where(t.StageChangeRow.subject == "lead", t.StageChangeRow.subject_id == lead_id)
                .order_by(t.StageChangeRow.at, t.StageChangeRow.id)
            )
        )
