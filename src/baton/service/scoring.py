"""Use cases of rule scoring: score one lead, rescore every open lead, show a lead's last score.

Scores come from the ``[scoring]`` models of the contract version in force at the scoring
time and are appended to the score log with the model's version and that contract version;
``leads.score`` takes the new score. A lead that now meets the MQL rule
(:func:`baton.domain.scoring.qualifies_as_mql`) is moved to the MQL stage by the contract's
lifecycle rules, and the move is logged like any other, by actor ``scoring:<model>``.

Rescoring works in batches: each batch reads its leads (with contact and account) in one
query and their touches in another, scores them in memory, and writes the scores, the new
``leads.score`` values and any moves in a few bulk statements, then commits. A batch that
fails rolls back alone; the batches before it stay, and running again is safe.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from baton.contract.model import StageKind
from baton.domain.model import Clock, Lead, StageChange
from baton.domain.scoring import (
    Line,
    RuleScore,
    RuleScoring,
    missing_fields,
    mql_reason,
    qualifies_as_mql,
)
from baton.errors import InvalidInput, InvalidTransition, NotFound
from baton.progress import NoProgress, Progress
from baton.service.contracts import AppliedContract, apply_contract, contract_in_force
from baton.store.scores import LeadFacts, ScoreRepository
from baton.store.tables import ContractVersion
from baton.store.uow import UnitOfWork

#: Leads per batch: large enough that round trips do not dominate, small enough to keep
#: locks and memory short.
BATCH = 2_000
#: How many refused moves a report lists by lead (it counts them all).
SHOWN_REFUSALS = 20


@dataclass(frozen=True)
class ScoredLead:
    """One lead's new score, its score before, and the MQL move it caused, if any.

    ``refused`` is the lifecycle's reason when the lead qualified but the move was refused
    (say, the scoring time is before the lead entered its stage).
    """

    lead_id: int
    result: RuleScore
    previous: float | None
    moved: StageChange | None
    refused: str | None = None


@dataclass
class RescoreReport:
    """What a rescoring run did: leads scored, at or above the MQL threshold and moved to MQL,
    by model, and those left alone (no model, a required field empty, a move refused)."""

    at: dt.datetime
    contract_version: int
    threshold: float
    open_leads: int = 0
    scored: int = 0
    by_model: Counter[str] = field(default_factory=Counter)
    at_threshold: Counter[str] = field(default_factory=Counter)
    mql_by_model: Counter[str] = field(default_factory=Counter)
    mqls: int = 0
    unmatched: int = 0
    held_back: int = 0
    refused: int = 0
    refusals: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "contract_version": self.contract_version,
            "mql_threshold": self.threshold,
            "open_leads": self.open_leads,
            "scored": self.scored,
            "by_model": {
                key: {
                    "scored": n,
                    "at_threshold": self.at_threshold[key],
                    "became_mql": self.mql_by_model[key],
                }
                for key, n in sorted(self.by_model.items())
            },
            "became_mql": self.mqls,
            "no_model": self.unmatched,
            "missing_required_fields": self.held_back,
            "moves_refused": self.refused,
            "refusals": self.refusals,
        }


@dataclass(frozen=True)
class StoredScore:
    """A lead's last logged score, as ``baton score show`` prints it."""

    lead_id: int
    source: str
    external_id: str
    stage: str | None
    model: str
    model_version: str
    contract_version: int | None
    scored_at: dt.datetime
    score: float
    fit: float
    engagement: float
    lines: tuple[Line, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "source": self.source,
            "external_id": self.external_id,
            "stage": self.stage,
            "model": self.model,
            "model_version": self.model_version,
            "contract_version": self.contract_version,
            "scored_at": self.scored_at.isoformat(),
            "score": self.score,
            "fit": self.fit,
            "engagement": self.engagement,
            "breakdown": [line.as_dict() for line in self.lines],
        }


def _contract_at(session: Session, when: dt.datetime) -> AppliedContract:
    """The contract in force at ``when``, with a way out when scoring asks for a time before
    the first version."""
    try:
        return contract_in_force(session, when)
    except NotFound:
        first = session.scalar(select(func.min(ContractVersion.effective_at)))
        if first is None:
            raise
        raise NotFound(
            f"no contract version is in force at {when.isoformat()}: the first takes effect at "
            f"{first.isoformat()}; to score as of an earlier time, store the contract with an "
            f"earlier date (`baton contract apply --effective {when:%Y-%m-%d}`)"
        ) from None


#: Compiled rule models by contract (kept alive with it, so its id is not reused): compiling
#: every model's conditions costs about a millisecond, which one event's scoring must not pay.
_COMPILED: dict[tuple[int, str | None], tuple[object, RuleScoring]] = {}


def _compiled(applied: AppliedContract, only: str | None) -> RuleScoring:
    scoring = applied.contract.scoring
    key = (id(scoring), only)
    found = _COMPILED.get(key)
    if found is not None and found[0] is scoring:
        return found[1]
    if len(_COMPILED) >= 16:
        _COMPILED.clear()
    models = RuleScoring(scoring, only)
    _COMPILED[key] = (scoring, models)
    return models


def _models(applied: AppliedContract, only: str | None) -> RuleScoring:
    scoring = applied.contract.scoring
    if not scoring.models:
        raise NotFound(
            f"contract version {applied.version} has no scoring models; add [[scoring.models]] "
            "to baton.toml (`baton init` writes an example) and apply it"
        )
    if only is not None and only not in {m.key for m in scoring.models}:
        from baton.contract.load import did_you_mean

        raise InvalidInput(
            f'--model "{only}" is not a scoring model of contract version {applied.version}'
            + did_you_mean(only, [m.key for m in scoring.models])
        )
    return _compiled(applied, only)


def _score_batch(
    session: Session,
    applied: AppliedContract,
    models: RuleScoring,
    facts: Sequence[LeadFacts],
    *,
    at: dt.datetime,
    now: dt.datetime,
    report: RescoreReport | None = None,
    log_unchanged: bool = True,
) -> list[ScoredLead]:
    """Score ``facts`` at ``at``, log the scores, and move the leads that now qualify.

    With ``log_unchanged`` false, a lead whose score is the one it already has and that does
    not move is not logged again (its ``leads.score`` already holds it)."""
    repo = ScoreRepository(session)
    chosen = [(f, models.choose(f.profile)) for f in facts]
    ids = [f.id for f, scorer in chosen if scorer is not None]
    touches = repo.touches(ids, until=at, types=models.touch_types)
    contract = applied.contract
    lifecycle = applied.lifecycle()
    mql = contract.mql_stage.key
    scored: list[ScoredLead] = []
    moves: list[tuple[Lead, StageChange]] = []
    for f, scorer in chosen:
        if scorer is None:
            if report is not None:
                report.unmatched += 1
            continue
        result = scorer.score(f.profile, touches.get(f.id, ()), at)
        change, refused = None, None
        if qualifies_as_mql(
            contract, stage=f.stage, previous=f.score, score=result.score, profile=f.profile
        ):
            try:
                moved, change = lifecycle.move(
                    f.as_lead(), mql, at=at, actor=f"scoring:{result.model}",
                    reason=mql_reason(result, contract),
                )  # fmt: skip
                moves.append((moved, change))
            except InvalidTransition as exc:
                refused = str(exc)
                if report is not None:
                    report.refused += 1
                    if len(report.refusals) < SHOWN_REFUSALS:
                        report.refusals.append(f"lead {f.id}: {exc}")
        elif (
            report is not None
            and result.score >= contract.qualification.mql.min_score
            and missing_fields(f.profile, contract.qualification.mql.required_fields)
        ):
            report.held_back += 1
        scored.append(ScoredLead(f.id, result, f.score, change, refused))
    repo.record(
        [
            (s.lead_id, s.result)
            for s in scored
            if log_unchanged or s.moved is not None or s.previous != s.result.score
        ],
        moves,
        contract_version_id=applied.version_id,
        recorded_at=now,
    )
    if report is not None:
        report.scored += len(scored)
        report.by_model.update(s.result.model for s in scored)
        threshold = contract.qualification.mql.min_score
        report.at_threshold.update(s.result.model for s in scored if s.result.score >= threshold)
        report.mql_by_model.update(s.result.model for s in scored if s.moved is not None)
        report.mqls += len(moves)
    return scored


def score_lead(
    uow: UnitOfWork, lead_id: int, *, clock: Clock, at: dt.datetime | None = None
) -> ScoredLead:
    """Score one lead now (or at ``at``), log it, and move it to MQL if it now qualifies.

    The lead is scored whatever its stage; only a lead before the MQL stage can move. Raises
    :class:`NotFound` when there is no such lead, no contract in force or no model for the
    lead. The caller commits.
    """
    when = at or clock()
    applied = _contract_at(uow.session, when)
    models = _models(applied, None)
    facts = ScoreRepository(uow.session).facts([lead_id])
    if not facts:
        raise NotFound(f"lead {lead_id} does not exist")
    if models.choose(facts[0].profile) is None:
        keys = ", ".join(s.key for s in models.scorers)
        raise NotFound(
            f"no scoring model applies to lead {lead_id} (models: {keys}); "
            "add a model without applies_to as the last one to score every lead"
        )
    [scored] = _score_batch(uow.session, applied, models, facts, at=when, now=clock())
    return scored


def score_leads(uow: UnitOfWork, lead_ids: Sequence[int], *, clock: Clock) -> list[ScoredLead]:
    """Score these leads now, in one batch, log the changed scores, and move those that now
    qualify.

    What the event hook calls with a request's leads: one read of the leads, one of their
    touches and one write of the scores, however many leads the request touched. A lead whose
    score did not change (a touch past its type's cap, say) gets no new row in the score log:
    its last row and ``leads.score`` still hold it. Leads that do not exist or that no model
    applies to are left out, and with no contract in force or no scoring models nothing is
    scored. The caller commits.
    """
    if not lead_ids:
        return []
    now = clock()
    try:
        applied = contract_in_force(uow.session, now)
    except NotFound:
        return []
    if not applied.contract.scoring.models:
        return []
    models = _compiled(applied, None)
    facts = ScoreRepository(uow.session).facts(lead_ids)
    return _score_batch(uow.session, applied, models, facts, at=now, now=now, log_unchanged=False)


def rescore_open_leads(
    engine: Engine,
    *,
    clock: Clock,
    at: dt.datetime | None = None,
    model: str | None = None,
    contract_text: str | None = None,
    batch_size: int = BATCH,
    progress: Progress | None = None,
) -> RescoreReport:
    """Rescore every open lead with the contract's rule models and move those that qualify.

    Parameters
    ----------
    engine
        The store.
    clock
        The time source: the scoring time unless ``at`` is given, and the log's ``recorded_at``.
    at
        The time the scores are taken at and MQL moves are logged at. Leads created after it
        are left out, and so are touches after it.
    model
        Only the leads this model scores (each lead is scored by the first model whose
        ``applies_to`` it meets).
    contract_text
        When given, stored as a new contract version first if it changed (as imports do), so
        the scores use the contract as written.
    batch_size
        Leads per batch; each batch is its own transaction.
    progress
        Where to report progress; nothing is shown by default.

    Returns
    -------
    RescoreReport
        How many leads were scored, by model, and how many became MQLs.

    Notes
    -----
    Open leads are those with no stage yet or in a stage of kind ``open`` or ``recycled``.
    """
    if batch_size < 1:
        raise InvalidInput(f"batch size must be positive, not {batch_size}")
    progress = progress or NoProgress()
    with UnitOfWork(engine) as uow:
        if contract_text is not None:
            apply_contract(uow.session, contract_text, clock=clock)
            uow.commit()
    when = at or clock()
    with UnitOfWork(engine) as uow:
        applied = _contract_at(uow.session, when)
        models = _models(applied, model)
        contract = applied.contract
        open_stages = [
            s.key for s in contract.stages if s.kind in (StageKind.OPEN, StageKind.RECYCLED)
        ]
        ids = ScoreRepository(uow.session).open_lead_ids(open_stages, created_by=when)
    report = RescoreReport(
        at=when,
        contract_version=applied.version,
        threshold=contract.qualification.mql.min_score,
        open_leads=len(ids),
    )
    advance = progress.task("scoring open leads", len(ids))
    for start in range(0, len(ids), batch_size):
        with UnitOfWork(engine) as uow:
            facts = ScoreRepository(uow.session).facts(ids[start : start + batch_size])
            # a lead moved on by someone else since the ids were read is no longer open
            facts = [f for f in facts if f.stage is None or f.stage in open_stages]
            _score_batch(uow.session, applied, models, facts, at=when, now=clock(), report=report)
            uow.commit()
        advance(len(ids[start : start + batch_size]))
    return report


def latest_score(session: Session, lead: str) -> StoredScore:
    """The last logged score of a lead (by store id, source id or ``SOURCE:ID``).

    Raises :class:`NotFound` when there is no such lead or it was never scored.
    """
    repo = ScoreRepository(session)
    row = repo.find_lead(lead)
    found = repo.latest(row.id)
    if found is None:
        raise NotFound(
            f'lead "{lead}" (number {row.id}) has no score yet; run `baton score run` first'
        )
    score, version = found
    return StoredScore(
        lead_id=row.id,
        source=row.source,
        external_id=row.external_id,
        stage=row.stage,
        model=score.model_key,
        model_version=score.model_version,
        contract_version=version,
        scored_at=score.scored_at,
        score=score.score,
        fit=score.fit,
        engagement=score.engagement,
        lines=tuple(Line.from_dict(line) for line in score.breakdown),
    )
