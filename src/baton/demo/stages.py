"""The contract stages the simulator moves records through, found by kind, and its reason codes.

The simulator never names a stage: it asks the contract for the stage of each kind (the
qualified stages of the MQL and SQL definitions, the opportunity and won stages, the recycled
and disqualified ones) so a team that renames its stages still gets a working demo. Before
drawing anything it checks that the contract allows every move the demo makes, and says
which one it refuses otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from baton.contract.model import Contract, StageKind
from baton.domain.lifecycle import Lifecycle
from baton.errors import InvalidInput, InvalidTransition

#: Reason codes the demo's people give, with how often, when the contract has them.
MARKETING_DISQUALIFY = {"not-icp": 0.6, "duplicate": 0.4}
MQL_RECYCLE = {"no-response": 0.4, "bad-timing": 0.3, "no-budget": 0.2, "not-icp": 0.1}
MQL_DISQUALIFY = {"not-icp": 0.5, "duplicate": 0.3, "competitor": 0.2}
SQL_RECYCLE = {"bad-timing": 0.5, "no-budget": 0.4, "no-response": 0.1}
SQL_DISQUALIFY = {"competitor": 0.6, "not-icp": 0.4}
DEAL_LOSS = {
    "competitor": 0.35,
    "no-budget": 0.25,
    "bad-timing": 0.25,
    "no-response": 0.1,
    "not-icp": 0.05,
}
#: What a step says when the contract lists no reason codes but requires a reason.
NO_CODE = "unspecified"


@dataclass(frozen=True)
class Stages:
    """The stage keys the demo uses, taken from the contract by kind.

    ``lifecycle`` and ``pipeline`` list every key; the simulator records a move as the index
    of its key there. ``reasons`` are the contract's reason codes.
    """

    subscriber: int | None
    lead: int
    mql: int
    sql: int
    opportunity: int
    customer: int
    recycled: int
    disqualified: int
    open_deal: tuple[int, ...]
    won: int
    lost: int
    lifecycle: tuple[str, ...]
    pipeline: tuple[str, ...]
    reasons: tuple[str, ...]

    @classmethod
    def from_contract(cls, contract: Contract) -> Stages:
        """The contract's stages for the demo; raise :class:`InvalidInput` if one is missing."""
        lifecycle = tuple(s.key for s in contract.stages)
        pipeline = tuple(s.key for s in contract.pipeline)
        try:
            mql = contract.mql_stage
            entry = [s for s in contract.main_path() if s.position < mql.position]
            open_deal = sorted(
                (s for s in contract.pipeline if s.kind == StageKind.OPEN), key=lambda s: s.position
            )
            stages = cls(
                subscriber=lifecycle.index(entry[0].key) if len(entry) > 1 else None,
                lead=lifecycle.index(entry[-1].key),
                mql=lifecycle.index(mql.key),
                sql=lifecycle.index(contract.sql_stage.key),
                opportunity=lifecycle.index(contract.opportunity_stage.key),
                customer=lifecycle.index(contract.won_stage.key),
                recycled=lifecycle.index(contract.stages_of_kind(StageKind.RECYCLED)[0].key),
                disqualified=lifecycle.index(
                    contract.stages_of_kind(StageKind.DISQUALIFIED)[0].key
                ),
                open_deal=tuple(pipeline.index(s.key) for s in open_deal),
                won=pipeline.index(
                    next(s.key for s in contract.pipeline if s.kind == StageKind.WON)
                ),
                lost=pipeline.index(
                    next(s.key for s in contract.pipeline if s.kind == StageKind.LOST)
                ),
                lifecycle=lifecycle,
                pipeline=pipeline,
                reasons=tuple(r.key for r in contract.rejection_reasons) or (NO_CODE,),
            )
        except (IndexError, KeyError, StopIteration) as exc:
            raise InvalidInput(
                "the demo needs a contract with an open stage before the MQL stage, the MQL, "
                "SQL, opportunity and won stages, a recycled and a disqualified stage, and "
                "open, won and lost pipeline stages; check the [[stages]] and [[pipeline]] "
                f"sections ({exc})"
            ) from exc
        stages.check(Lifecycle(contract))
        return stages

    def check(self, rules: Lifecycle) -> None:
        """Raise :class:`InvalidInput` naming the first demo move the contract refuses."""
        k, p = self.lifecycle, self.pipeline
        moves = [
            (self.lead, self.mql),
            (self.mql, self.sql),
            (self.sql, self.opportunity),
            (self.opportunity, self.customer),
            (self.recycled, self.mql),
            (self.lead, self.disqualified),
        ]
        moves += [(s, self.recycled) for s in (self.mql, self.sql, self.opportunity)]
        moves += [(s, self.disqualified) for s in (self.mql, self.sql)]
        if self.subscriber is not None:
            moves.append((self.subscriber, self.lead))
        deal = [*self.open_deal, self.won]
        deal_moves = list(itertools.pairwise(deal))
        deal_moves += [(s, self.lost) for s in self.open_deal]
        try:
            for frm, to in moves:
                rules.check(k[frm], k[to], reason=NO_CODE)
            for frm, to in deal_moves:
                rules.check_pipeline(p[frm], p[to], reason=NO_CODE)
        except InvalidTransition as exc:
            raise InvalidInput(
                f"the demo cannot run on this contract: {exc}; the demo moves leads "
                "forward along the main path, recycles them from the MQL, SQL and opportunity "
                "stages and disqualifies them, so those moves must be allowed"
            ) from exc

    def draw_reasons(
        self, rng: np.random.Generator, n: int, weights: Mapping[str, float]
    ) -> NDArray[np.int64]:
        """``n`` reason codes (indexes into :attr:`reasons`) drawn with the given weights.

        Only codes the contract lists are drawn; when it lists none of the weighted codes,
        its own codes are drawn uniformly.
        """
        p = np.array([weights.get(code, 0.0) for code in self.reasons])
        if not p.sum():
            p = np.ones(len(self.reasons))
        return rng.choice(len(self.reasons), size=n, p=p / p.sum()).astype(np.int64)

    def reason_index(self, code: str) -> int:
        """Index of a reason code, or ``-1`` when the contract does not list it."""
        return self.reasons.index(code) if code in self.reasons else -1
