"""The alignment contract as typed data.

The contract is what marketing and sales sign: the lifecycle stages (each with a fixed
*kind* that code branches on), the MQL and SQL definitions, the opportunity pipeline, the
SLA on both sides, business hours, stuck-stage thresholds, shared goals, rejection reasons,
the mappings that turn other tools' stage names into ours, and the lead score models
(:mod:`baton.contract.scoring`). It is read from
``baton.toml`` by :mod:`baton.contract.load`, which turns every validation failure into a
message with its key path.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator, model_validator

from baton.contract.base import Key, Strict
from baton.contract.routing import Routing
from baton.contract.scoring import Scoring


class StageKind(StrEnum):
    """What a lifecycle or pipeline stage means, whatever a team calls it."""

    OPEN = "open"
    QUALIFIED = "qualified"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    RECYCLED = "recycled"
    DISQUALIFIED = "disqualified"


#: Kinds a record cannot leave unless the contract lists the move explicitly.
TERMINAL_KINDS = frozenset({StageKind.WON, StageKind.LOST, StageKind.DISQUALIFIED})
#: Kinds that sit beside the main path: skipping past them is not skipping a stage.
SIDE_KINDS = frozenset({StageKind.RECYCLED, StageKind.DISQUALIFIED, StageKind.LOST})
PIPELINE_KINDS = frozenset({StageKind.OPEN, StageKind.WON, StageKind.LOST})


class Stage(Strict):
    """One lifecycle stage: a stable key, a label people see, a kind code branches on."""

    key: Key
    label: str = Field(min_length=1)
    kind: StageKind
    position: int = Field(ge=0, description="order on the funnel; higher is further along")
    description: str = ""


class PipelineStage(Strict):
    """One opportunity pipeline stage (open, won or lost) with its default probability."""

    key: Key
    label: str = Field(min_length=1)
    kind: StageKind
    position: int = Field(ge=0)
    probability: float = Field(default=0.0, ge=0.0, le=1.0)


class Move(Strict):
    """A lifecycle move named explicitly, such as ``mql`` to ``recycled``."""

    from_: Key = Field(alias="from")
    to: Key

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Lifecycle(Strict):
    """Which moves between stages are allowed."""

    forward_only: bool = True
    allow_skip: bool = True
    reason_required: list[StageKind] = Field(
        default_factory=lambda: [StageKind.RECYCLED, StageKind.DISQUALIFIED, StageKind.LOST]
    )
    backward: list[Move] = Field(default_factory=list)


class Qualification(Strict):
    """What makes a record reach a qualified stage: a score and fields that must be filled."""

    stage: Key
    min_score: float = Field(default=0.0, ge=0.0, le=100.0)
    required_fields: list[str] = Field(default_factory=list)


class Qualifications(Strict):
    """The MQL and SQL definitions."""

    mql: Qualification
    sql: Qualification


class SalesSLA(Strict):
    """What sales promises: how fast the first touch comes, how many attempts follow, and how
    many MQLs a month it can work."""

    first_touch_hours: float = Field(gt=0, description="business hours from MQL to first touch")
    attempts: int = Field(ge=1, description="follow-up attempts before a lead may be recycled")
    attempts_within_days: int = Field(ge=1, description="business days the attempts span")
    capacity_mql_per_month: int | None = Field(
        default=None,
        ge=1,
        description="MQLs a month sales can work; unset means sla.marketing.mql_per_month",
    )


class MarketingSLA(Strict):
    """What marketing promises: MQL volume and a quality sales accepts."""

    mql_per_month: int = Field(ge=0)
    min_acceptance_rate: float = Field(ge=0.0, le=1.0)


class SLA(Strict):
    """Both sides of the service-level agreement."""

    sales: SalesSLA
    marketing: MarketingSLA


DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class BusinessHours(Strict):
    """When the SLA clock runs: a time zone, working days, hours and holidays."""

    timezone: str = "UTC"
    days: list[DayName] = Field(
        default_factory=lambda: list[DayName](["mon", "tue", "wed", "thu", "fri"]), min_length=1
    )
    start: str = "09:00"
    end: str = "17:00"
    holidays: list[dt.date] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f'"{value}" is not a known time zone; use an IANA name such as "Europe/Berlin"'
            ) from exc
        return value

    @field_validator("start", "end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError(f'"{value}" is not a time of day; write it as HH:MM, e.g. "09:00"')
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start_time(self) -> dt.time:
        return dt.time.fromisoformat(self.start)

    @property
    def end_time(self) -> dt.time:
        return dt.time.fromisoformat(self.end)

    @property
    def weekdays(self) -> frozenset[int]:
        """Working days as ``datetime.weekday()`` numbers (Monday is 0)."""
        return frozenset(DAY_NAMES.index(d) for d in self.days)


_PERIOD = re.compile(r"^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2])|-H[12])?$")


class Goal(Strict):
    """A shared goal both teams sign up to, over a period such as ``2026``, ``2026-Q3``, ``2026-07``."""

    key: Key
    metric: Literal["revenue", "customers", "opportunities", "pipeline", "sqls", "mqls", "leads"]
    period: str
    target: float = Field(gt=0)
    label: str = ""

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        if not _PERIOD.match(value):
            raise ValueError(
                f'"{value}" is not a period; write a year ("2026"), a quarter ("2026-Q3"), '
                'a half ("2026-H1") or a month ("2026-07")'
            )
        return value


class Reason(Strict):
    """A reason code sales can give when rejecting a lead or marketing when disqualifying one."""

    key: Key
    label: str = Field(min_length=1)


class SourceMapping(Strict):
    """How one tool's stage names map to contract stage keys."""

    lifecycle_stage: dict[str, Key] = Field(default_factory=dict)
    lead_status: dict[str, Key] = Field(default_factory=dict)
    opportunity_stage: dict[str, Key] = Field(default_factory=dict)


class Mappings(Strict):
    """Stage mappings per source tool, used by the importers."""

    hubspot: SourceMapping = Field(default_factory=SourceMapping)
    salesforce: SourceMapping = Field(default_factory=SourceMapping)


class Organization(Strict):
    """Who signs the contract and the currency its money is counted in."""

    name: str = "Our company"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


#: The roles a touch can play in a journey, in the order position weights are written.
ROLES = ("first", "lead", "opportunity", "won", "last", "middle")
Weight = Annotated[float, Field(ge=0.0, le=1.0)]


class PositionWeights(Strict):
    """Shares of one conversion by the role a touch plays in its journey; they add up to 1.

    ``first`` is the journey's first touch, ``lead``, ``opportunity`` and ``won`` the touches
    that created the lead, created the opportunity and closed the deal, ``last`` its last
    touch, and ``middle`` is spread evenly over the touches that hold no role with a weight.
    How journeys of one, two or three touches and touches holding several roles are credited
    is in docs/attribution.md.
    """

    first: Weight = 0.0
    lead: Weight = 0.0
    opportunity: Weight = 0.0
    won: Weight = 0.0
    last: Weight = 0.0
    middle: Weight = 0.0

    @model_validator(mode="after")
    def _adds_up_to_one(self) -> PositionWeights:
        total = sum(self.weights().values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                f"the weights add up to {total:g}; make first + lead + opportunity + won + "
                "last + middle add up to 1"
            )
        return self

    def weights(self) -> dict[str, float]:
        """The weight of each role, in the order of :data:`ROLES`."""
        return {role: float(getattr(self, role)) for role in ROLES}


class CustomPositions(PositionWeights):
    """A position-based model of the contract's own, named by ``key`` (``--model KEY``)."""

    key: Key
    label: str = ""


class Attribution(Strict):
    """Defaults of ``baton attribution``: the window, the models' parameters, custom models."""

    lookback_days: int = Field(
        default=90, ge=0, description="days of touches before a conversion; 0 for no limit"
    )
    half_life_days: float = Field(default=7.0, gt=0.0)
    direct_channels: list[str] = Field(default_factory=lambda: ["direct", "direct_traffic"])
    u_shaped: PositionWeights = Field(
        default_factory=lambda: PositionWeights(first=0.4, lead=0.4, middle=0.2)
    )
    w_shaped: PositionWeights = Field(
        default_factory=lambda: PositionWeights(first=0.3, lead=0.3, opportunity=0.3, middle=0.1)
    )
    full_path: PositionWeights = Field(
        default_factory=lambda: PositionWeights(
            first=0.225, lead=0.225, opportunity=0.225, won=0.225, middle=0.1
        )
    )
    custom: list[CustomPositions] = Field(default_factory=list)


class Contract(Strict):
    """The whole alignment contract. Build it with :func:`baton.contract.load.parse_contract`."""

    effective_from: dt.date | None = None
    note: str = ""
    organization: Organization = Field(default_factory=Organization)
    stages: list[Stage] = Field(min_length=2)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    qualification: Qualifications
    pipeline: list[PipelineStage] = Field(min_length=2)
    sla: SLA
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    stuck_after_days: dict[Key, int] = Field(default_factory=dict)
    goals: list[Goal] = Field(default_factory=list)
    rejection_reasons: list[Reason] = Field(default_factory=list)
    mappings: Mappings = Field(default_factory=Mappings)
    routing: Routing = Field(default_factory=Routing)
    scoring: Scoring = Field(default_factory=Scoring)
    attribution: Attribution = Field(default_factory=Attribution)

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Lookups used everywhere; computed once per contract object.
    @cached_property
    def stage_by_key(self) -> dict[str, Stage]:
        return {s.key: s for s in self.stages}

    @cached_property
    def pipeline_by_key(self) -> dict[str, PipelineStage]:
        return {s.key: s for s in self.pipeline}

    def stage(self, key: str) -> Stage:
        """The stage with this key; raises ``KeyError`` naming the known keys."""
        try:
            return self.stage_by_key[key]
        except KeyError:
            raise KeyError(
                f'"{key}" is not a stage of the contract; known stages: '
                + ", ".join(self.stage_by_key)
            ) from None

    def main_path(self) -> list[Stage]:
        """Stages on the main funnel (not recycled, disqualified or lost), by position."""
        return sorted((s for s in self.stages if s.kind not in SIDE_KINDS), key=lambda s: s.position)

    def stages_of_kind(self, kind: StageKind) -> list[Stage]:
        return [s for s in sorted(self.stages, key=lambda s: s.position) if s.kind == kind]

    @property
    def mql_stage(self) -> Stage:
        return self.stage(self.qualification.mql.stage)

    @property
    def sql_stage(self) -> Stage:
        return self.stage(self.qualification.sql.stage)

    @property
    def won_stage(self) -> Stage:
        """The first stage of kind ``won`` (the customer stage)."""
        return self.stages_of_kind(StageKind.WON)[0]

    @property
    def opportunity_stage(self) -> Stage:
        return self.stages_of_kind(StageKind.OPPORTUNITY)[0]
