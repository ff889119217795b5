"""Lifecycle rules: which stage moves the contract allows, decided by stage *kind* and position.

Every allowed move returns a new record and an append-only :class:`StageChange`; every refused
move raises :class:`InvalidTransition` naming the rule that refused it. The clock is passed in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from baton.contract.model import SIDE_KINDS, TERMINAL_KINDS, Contract, StageKind
from baton.domain.model import Lead, Opportunity, StageChange, Subject
from baton.errors import InvalidTransition


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()}: a stage change needs a time with a time zone")
    return at


class Lifecycle:
    """The contract's lifecycle and pipeline rules, bound to the contract version that states them.

    Parameters
    ----------
    contract
        The contract in force.
    version
        Its stored version number, recorded on every :class:`StageChange` this object makes;
        ``None`` for a contract not yet applied (a dry run).
    """

    def __init__(self, contract: Contract, version: int | None = None) -> None:
        self.contract = contract
        self.version = version
        self._backward = {(m.from_, m.to) for m in contract.lifecycle.backward}

    # -- lifecycle (leads) -----------------------------------------------------------------
    def check(self, from_key: str | None, to_key: str, *, reason: str | None = None) -> None:
        """Raise :class:`InvalidTransition` unless the contract allows ``from_key → to_key``."""
        stages = self.contract.stage_by_key
        if to_key not in stages:
            raise InvalidTransition(
                f'"{to_key}" is not a stage of the contract (stages: {", ".join(stages)})',
                from_stage=from_key,
                to_stage=to_key,
            )
        to = stages[to_key]
        if to.kind in self.contract.lifecycle.reason_required and not (reason and reason.strip()):
            raise InvalidTransition(
                f'moving to "{to_key}" (kind {to.kind}) needs a reason',
                from_stage=from_key,
                to_stage=to_key,
            )
        if from_key is None:
            return  # a record enters the funnel at any stage: imports start where the data does
        if from_key not in stages:
            raise InvalidTransition(
                f'"{from_key}" is not a stage of the contract (stages: {", ".join(stages)})',
                from_stage=from_key,
                to_stage=to_key,
            )
        if from_key == to_key:
            raise InvalidTransition(
                f'already in "{to_key}"', from_stage=from_key, to_stage=to_key
            )
        frm = stages[from_key]
        if (from_key, to_key) in self._backward:
            return
        if frm.kind in TERMINAL_KINDS:
            raise InvalidTransition(
                f'"{from_key}" is a {frm.kind} stage and the contract lists no move out of it '
                f'to "{to_key}" (add it to lifecycle.backward to allow it)',
                from_stage=from_key,
                to_stage=to_key,
            )
        if to.position < frm.position and self.contract.lifecycle.forward_only:
            raise InvalidTransition(
                f'"{from_key}" to "{to_key}" goes backward and the contract allows only forward '
                "moves (list it in lifecycle.backward to allow it)",
                from_stage=from_key,
                to_stage=to_key,
            )
        if not self.contract.lifecycle.allow_skip and to.kind not in SIDE_KINDS:
            skipped = [
                s.key
                for s in self.contract.main_path()
                if frm.position < s.position < to.position
            ]
            if skipped:
                raise InvalidTransition(
                    f'"{from_key}" to "{to_key}" skips {", ".join(skipped)} and the contract '
                    "does not allow skipping (lifecycle.allow_skip = false)",
                    from_stage=from_key,
                    to_stage=to_key,
                )

    def move(
        self,
        lead: Lead,
        to: str,
        *,
        at: dt.datetime,
        actor: str,
        reason: str | None = None,
    ) -> tuple[Lead, StageChange]:
        """Move ``lead`` to stage ``to`` at ``at``; return the moved lead and its log entry."""
        self.check(lead.stage, to, reason=reason)
        if lead.stage_entered_at is not None and _aware(at) < lead.stage_entered_at:
            raise InvalidTransition(
                f"{at.isoformat()} is before the lead entered \"{lead.stage}\" "
                f"({lead.stage_entered_at.isoformat()}); stage changes must go forward in time",
                from_stage=lead.stage,
                to_stage=to,
            )
        change = StageChange(
            subject=Subject.LEAD,
            subject_id=lead.id,
            from_stage=lead.stage,
            to_stage=to,
            at=_aware(at),
            actor=actor,
            contract_version=self.version,
            reason=reason,
        )
        return dataclasses.replace(lead, stage=to, stage_entered_at=at), change

    # -- pipeline (opportunities) ----------------------------------------------------------
    def check_pipeline(self, from_key: str | None, to_key: str, *, reason: str | None = None) -> None:
        """Raise :class:`InvalidTransition` unless an opportunity may go ``from_key → to_key``.

        Open stages may move anywhere; a closed (won or lost) deal stays closed; losing a deal
        needs a reason when the contract says lost moves need one.
        """
        pipeline = self.contract.pipeline_by_key
        if to_key not in pipeline:
            raise InvalidTransition(
                f'"{to_key}" is not a pipeline stage (pipeline: {", ".join(pipeline)})',
                from_stage=from_key,
                to_stage=to_key,
            )
        if from_key is None:
            return
        if from_key not in pipeline:
            raise InvalidTransition(
                f'"{from_key}" is not a pipeline stage (pipeline: {", ".join(pipeline)})',
                from_stage=from_key,
                to_stage=to_key,
            )
        if from_key == to_key:
            raise InvalidTransition(f'already in "{to_key}"', from_stage=from_key, to_stage=to_key)
        if pipeline[from_key].kind in (StageKind.WON, StageKind.LOST):
            raise InvalidTransition(
                f'the deal is closed ("{from_key}"); open a new opportunity instead',
                from_stage=from_key,
                to_stage=to_key,
            )
        to_kind = pipeline[to_key].kind
        if to_kind in self.contract.lifecycle.reason_required and not (reason and reason.strip()):
            raise InvalidTransition(
                f'moving a deal to "{to_key}" (kind {to_kind}) needs a reason',
                from_stage=from_key,
                to_stage=to_key,
            )

    def move_opportunity(
        self,
        opportunity: Opportunity,
        to: str,
        *,
        at: dt.datetime,
        actor: str,
        reason: str | None = None,
    ) -> tuple[Opportunity, StageChange]:
        """Move a deal to pipeline stage ``to``; return the moved deal and its log entry."""
        self.check_pipeline(opportunity.stage, to, reason=reason)
        change = StageChange(
            subject=Subject.OPPORTUNITY,
            subject_id=opportunity.id,
            from_stage=opportunity.stage,
            to_stage=to,
            at=_aware(at),
            actor=actor,
            contract_version=self.version,
            reason=reason,
        )
        return dataclasses.replace(opportunity, stage=to), change
