"""The score log and what scoring reads: leads with their contact and account, and their touches.

Everything here works on a batch of leads at a time, in a fixed number of queries whatever
the batch's size, so rescoring every open lead costs a few round trips per thousand leads.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from baton.contract.scoring import COLUMNS
from baton.domain.model import Lead, StageChange
from baton.domain.scoring import Profile, RuleScore, Touch
from baton.errors import InvalidInput, NotFound
from baton.store import tables as t
from baton.store.events import insert_many, update_rows

_TABLES: dict[str, Any] = {"lead": t.Lead, "contact": t.Contact, "account": t.Account}


@dataclass(frozen=True)
class LeadFacts:
    """A lead as scoring sees it: its id, where it stands, its last score and its fields."""

    id: int
    stage: str | None
    stage_entered_at: dt.datetime | None
    score: float | None
    profile: Profile

    def as_lead(self) -> Lead:
        """The domain record the lifecycle moves."""
        fields = self.profile.lead
        return Lead(
            id=self.id,
            stage=self.stage,
            stage_entered_at=self.stage_entered_at,
            email=fields.get("email"),
            company=fields.get("company"),
            owner_id=fields.get("owner_id"),
            score=self.score,
            properties=dict(fields.get("properties") or {}),
        )


@functools.cache
def _profile_query() -> Select[Any]:
    """The leads joined to their contact and account, every column scoring reads (built once:
    statements are immutable, and building this one costs more than running it for a lead)."""
    columns: list[Any] = [t.Lead.id]
    for record, model in _TABLES.items():
        table = model.__table__
        columns += [
            table.c[name].label(f"{record}.{name}") for name in (*COLUMNS[record], "properties")
        ]
    return (
        select(*columns)
        .outerjoin(t.Contact, t.Contact.id == t.Lead.contact_id)
        .outerjoin(t.Account, t.Account.id == t.Lead.account_id)
    )


@functools.cache
def _facts_query(lock: bool) -> Select[Any]:
    """:func:`_profile_query` for the leads ``ids``, in id order, locked when asked."""
    query = (
        _profile_query().where(t.Lead.id.in_(bindparam("ids", expanding=True))).order_by(t.Lead.id)
    )
    return query.with_for_update(of=t.Lead) if lock else query  # SQLite locks the whole file


#: Touches of the leads ``ids`` at or before ``until``, of the (case-folded) ``types``.
_TOUCHES = select(t.Touchpoint.lead_id, t.Touchpoint.touch_type, t.Touchpoint.occurred_at).where(
    t.Touchpoint.lead_id.in_(bindparam("ids", expanding=True)),
    t.Touchpoint.occurred_at <= bindparam("until"),
    func.lower(t.Touchpoint.touch_type).in_(bindparam("types", expanding=True)),
)


_LEADS = t.Base.metadata.tables[t.Lead.__tablename__]


class ScoreRepository:
    """Reads for scoring and writes to the score log, a batch of leads at a time."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open_lead_ids(self, stages: Collection[str], *, created_by: dt.datetime) -> list[int]:
        """Ids of leads in one of ``stages`` or in none yet, created by ``created_by``, in order."""
        query = (
            select(t.Lead.id)
            .where(or_(t.Lead.stage.in_(list(stages)), t.Lead.stage.is_(None)))
            .where(t.Lead.created_at <= created_by)
            .order_by(t.Lead.id)
        )
        return list(self.session.scalars(query))

    def facts(self, ids: Sequence[int], *, lock: bool = True) -> list[LeadFacts]:
        """The leads with these ids (missing ones left out), locked for update when asked."""
        query = _facts_query(lock)
        names = [(record, (*COLUMNS[record], "properties")) for record in _TABLES]
        out = []
        for row in self.session.execute(query, {"ids": list(ids)}):
            records: dict[str, dict[str, Any]] = {}
            at = 1  # row[0] is the lead's id; then each record's columns, in _profile_query order
            for record, columns in names:
                values = dict(zip(columns, row[at : at + len(columns)], strict=True))
                records[record] = values if values["source"] is not None else {}
                at += len(columns)
            lead = records["lead"]
            out.append(
                LeadFacts(
                    id=row[0],
                    stage=lead["stage"],
                    stage_entered_at=lead["stage_entered_at"],
                    score=lead["score"],
                    profile=Profile(records["lead"], records["contact"], records["account"]),
                )
            )
        return out

    def touches(
        self, ids: Sequence[int], *, until: dt.datetime, types: Collection[str]
    ) -> dict[int, list[Touch]]:
        """Touches of these leads at or before ``until``, of the (case-folded) ``types`` only."""
        found: dict[int, list[Touch]] = defaultdict(list)
        if not ids or not types:
            return found
        values = {"ids": list(ids), "until": until, "types": sorted(types)}
        for lead_id, kind, at in self.session.execute(_TOUCHES, values):
            if lead_id is not None:  # always, given the filter; the column is nullable
                found[lead_id].append(Touch(kind, at))
        return found

    def record(
        self,
        scores: Sequence[tuple[int, RuleScore]],
        moves: Sequence[tuple[Lead, StageChange]],
        *,
        contract_version_id: int | None,
        recorded_at: dt.datetime,
    ) -> None:
        """Log these scores and make each the lead's ``leads.score``; store the ``moves``
        (new stages) and append them to the stage log. A lead that moves is updated once,
        score and stage together: at most four statements for the whole batch."""
        if scores:
            # the driver's executemany: SQLAlchemy's per-row work costs more than the rows
            insert_many(
                self.session,
                t.Base.metadata.tables[t.LeadScoreRow.__tablename__],
                [
                    {
                        "lead_id": lead_id,
                        "model_key": s.model,
                        "model_version": s.model_version,
                        "contract_version_id": contract_version_id,
                        "scored_at": s.at,
                        "score": s.score,
                        "fit": s.fit,
                        "engagement": s.engagement,
                        "breakdown": s.breakdown(),
                        "recorded_at": recorded_at,
                    }
                    for lead_id, s in scores
                ],
            )
        moved = {lead.id: lead for lead, _ in moves if lead.id is not None}
        stays = [{"id": i, "score": s.score} for i, s in scores if i not in moved]
        update_rows(self.session, _LEADS, stays)
        if not moved:
            return
        score_of: dict[int, float | None] = {i: s.score for i, s in scores}
        self.session.execute(
            update(t.Lead),
            [
                {
                    "id": lead_id,
                    "score": score_of.get(lead_id, lead.score),
                    "stage": lead.stage,
                    "stage_entered_at": lead.stage_entered_at,
                }
                for lead_id, lead in moved.items()
            ],
        )
        self.session.execute(
            insert(t.StageChangeRow),
            [
                {
                    "subject": c.subject.value,
                    "subject_id": c.subject_id,
                    "from_stage": c.from_stage,
                    "to_stage": c.to_stage,
                    "at": c.at,
                    "actor": c.actor,
                    "contract_version_id": contract_version_id,
                    "reason": c.reason,
                    "dedupe_key": None,
                    "recorded_at": recorded_at,
                }
                for _, c in moves
            ],
        )

    def latest(self, lead_id: int) -> tuple[t.LeadScoreRow, int | None] | None:
        """The lead's last logged score and the number of the contract version it came from."""
        row = self.session.execute(
            select(t.LeadScoreRow, t.ContractVersion.version)
            .outerjoin(
                t.ContractVersion, t.ContractVersion.id == t.LeadScoreRow.contract_version_id
            )
            .where(t.LeadScoreRow.lead_id == lead_id)
            .order_by(t.LeadScoreRow.id.desc())
            .limit(1)
        ).first()
        return None if row is None else (row[0], row[1])

    def find_lead(self, ref: str) -> t.Lead:
        """A lead by its store id (digits), its id in its source, or ``SOURCE:ID``.

        Raises :class:`NotFound` when nothing matches and :class:`InvalidInput` when an id in
        the source is used by several sources, naming them.
        """
        text = ref.strip()
        if text.isdigit():
            found = self.session.get(t.Lead, int(text))
            if found is not None:
                return found
        rows = list(
            self.session.scalars(select(t.Lead).where(t.Lead.external_id == text).limit(10))
        )
        if not rows and ":" in text:
            source, _, external = text.partition(":")
            rows = list(
                self.session.scalars(
                    select(t.Lead).where(t.Lead.source == source, t.Lead.external_id == external)
                )
            )
        if len(rows) == 1:
            return rows[0]
        if not rows:
            raise NotFound(
                f'no lead "{ref}": give its number in Baton, its id in its source system, '
                "or SOURCE:ID"
            )
        sources = ", ".join(sorted(r.source for r in rows))
        raise InvalidInput(
            f'"{ref}" is the id of a lead in several sources ({sources}); write SOURCE:{text}'
        )
