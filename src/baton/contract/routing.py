"""The contract's ``[routing]`` section: who gets an MQL, and what happens when its SLA runs out.

What teams agree on lives here: the rules in order (each a set of conditions on the lead, its
contact and its account, and the team or reps it assigns to, with weights), whether the
account's owner comes first, the default when no rule takes the lead, the default capacity of
a rep, who is notified, and the escalation of an SLA that runs out (reminders at shares of the
first-touch time, then on breach: notify the manager and/or hand the lead to the next rep).

Who is available this week does not: a rep's own capacity, weight, working hours and days out
of office change often and are set in the store (``baton rep set``), not by a new contract
version. :mod:`baton.domain.routing` applies both; this module only says what a rule may contain.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from baton.contract.base import Key, Strict
from baton.contract.scoring import Condition

#: Fields computed for routing: the territory of the lead's country and its size band.
DERIVED = ("territory", "size_band")
#: The size bands used when the contract sets none: the same bands as ``baton funnel --by segment``.
DEFAULT_SIZE_BANDS = {"smb": 0, "mid-market": 200, "enterprise": 2000}


class Match(Condition):
    """A test on one field of the lead, its contact or its account.

    ``field`` is a lead column (``country``, ``title``, ``channel``...), ``contact.<name>``,
    ``account.<name>`` (``industry``, ``employees``, ``country``...), a property
    (``lead.properties.product``, or any name that is not a column), or a field computed for
    routing: ``territory`` (from ``[routing.territories]``) and ``size_band`` (from
    ``[routing.size_bands]``). Exactly one test: ``equals`` (a value or a list; text compared
    without case), ``contains``, ``matches`` (a regular expression, without case),
    ``at_least``/``below`` (a number band) or ``present``.
    """

    FIELD_EXAMPLES: ClassVar[str] = (
        '"country", "account.employees", "contact.title", "lead.properties.product", "territory"'
    )

    def describe(self) -> str:
        """The test in words: ``country is Germany or France``."""
        name = self.field
        if self.equals is not None:
            values = self.equals if isinstance(self.equals, list) else [self.equals]
            return f"{name} is {' or '.join(str(v) for v in values)}"
        if self.contains is not None:
            parts = self.contains if isinstance(self.contains, list) else [self.contains]
            return f"{name} contains {' or '.join(repr(p) for p in parts)}"
        if self.matches is not None:
            return f"{name} matches {self.matches!r}"
        if self.present is not None:
            return f"{name} is {'filled in' if self.present else 'empty'}"
        if self.at_least is not None and self.below is not None:
            return f"{name} {self.at_least:g} to under {self.below:g}"
        if self.at_least is not None:
            return f"{name} at least {self.at_least:g}"
        return f"{name} under {self.below:g}"


class RepShare(Strict):
    """A rep named by email, with the weight of their share of a rule's leads."""

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    weight: float = Field(default=1.0, gt=0, le=1000)


def _rep(value: Any) -> Any:
    """``"ana@x.com"`` is short for ``{ email = "ana@x.com" }``."""
    return {"email": value} if isinstance(value, str) else value


Rep = Annotated[RepShare, BeforeValidator(_rep)]


class Assign(Strict):
    """Who leads go to: a team (its active members, each with their weight from the store),
    reps named here with weights, or both."""

    team: str | None = Field(default=None, min_length=1, max_length=200)
    reps: list[Rep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _someone(self) -> Assign:
        if self.team is None and not self.reps:
            raise ValueError('assigns to nobody; give a team = "..." or reps = ["a@b.com", ...]')
        return self

    def describe(self) -> str:
        parts = [f'team "{self.team}"'] if self.team else []
        if self.reps:
            parts.append(", ".join(r.email for r in self.reps))
        return " and ".join(parts)


class RouteRule(Assign):
    """One routing rule: when every condition holds, its team or reps take the lead."""

    key: Key
    label: str = ""
    when: list[Match] = Field(default_factory=list)


BreachAction = Literal["notify_manager", "reassign"]


class Escalation(Strict):
    """What the SLA clock does on its way: reminders to the owner, then the breach."""

    reminders: list[float] = Field(default_factory=lambda: [0.5, 0.8])
    on_breach: list[BreachAction] = Field(
        default_factory=lambda: list[BreachAction](["notify_manager", "reassign"])
    )
    max_reassignments: int = Field(default=2, ge=0, le=20)
    check_attempts: bool = True
    retry_unassigned_minutes: float = Field(default=30, gt=0, le=7 * 24 * 60)

    @field_validator("reminders")
    @classmethod
    def _shares(cls, value: list[float]) -> list[float]:
        for share in value:
            if not 0 < share < 1:
                raise ValueError(
                    f"{share:g} is not a share of the SLA time; use numbers between 0 and 1, "
                    "e.g. [0.5, 0.8]"
                )
        if value != sorted(set(value)):
            raise ValueError(f"{value} must be increasing and without repeats, e.g. [0.5, 0.8]")
        return value

    @field_validator("on_breach")
    @classmethod
    def _distinct(cls, value: list[BreachAction]) -> list[BreachAction]:
        if len(set(value)) != len(value):
            raise ValueError(f"{value} lists an action twice; list each once")
        return value


Channel = Literal["email", "webhook"]


class Routing(Strict):
    """The ``[routing]`` section."""

    owner_first: bool = True
    prefer_working_now: bool = True
    max_open_per_rep: int | None = Field(default=None, ge=1)
    max_per_day_per_rep: int | None = Field(default=None, ge=1)
    territories: dict[Key, list[str]] = Field(default_factory=dict)
    size_bands: dict[Key, int] = Field(default_factory=lambda: dict(DEFAULT_SIZE_BANDS))
    rules: list[RouteRule] = Field(default_factory=list)
    default: Assign | None = None
    notify: list[Channel] = Field(default_factory=lambda: list[Channel](["email", "webhook"]))
    escalation: Escalation = Field(default_factory=Escalation)

    @field_validator("size_bands")
    @classmethod
    def _bands(cls, value: dict[str, int]) -> dict[str, int]:
        if value and 0 not in value.values():
            raise ValueError(
                "one band must start at 0 so every known size has a band, e.g. "
                "{ smb = 0, mid-market = 200, enterprise = 2000 }"
            )
        if len(set(value.values())) != len(value):
            raise ValueError("two bands start at the same size; give each its own lower bound")
        if any(v < 0 for v in value.values()):
            raise ValueError("band lower bounds are numbers of employees, 0 or more")
        return value

    def pool_keys(self) -> list[str]:
        """Every round-robin pool: one per rule, and the default."""
        return [f"rule:{r.key}" for r in self.rules] + (["default"] if self.default else [])
