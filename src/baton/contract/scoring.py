"""The contract's ``[scoring]`` section: named rule models that turn a lead into a 0-100 score.

A model has a *fit* part (points for what a lead is: its title, its account's industry and
size, its country, any field or imported property) and an *engagement* part (points for what
it did: each marketing touch, by type, capped per type and halved every ``half_life_days``).
Each part is clipped to ``[0, max]`` and the score is their sum, at most 100. Leads pick their
model by its ``applies_to`` conditions, first match wins. :mod:`baton.domain.scoring` does the
arithmetic; this module only says what a model may contain and checks it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, ClassVar

from pydantic import Field, PlainValidator, field_validator, model_validator

from baton.contract.base import Key, Strict

#: Records a field may be read from; a field without one is the lead's.
RECORDS = ("lead", "contact", "account")
#: Stored columns of each record a field name may mean; any other name reads a property.
COLUMNS: dict[str, tuple[str, ...]] = {
    "lead": (
        "source", "external_id", "email", "first_name", "last_name", "company", "title",
        "country", "channel", "stage", "stage_entered_at", "owner_id", "score", "created_at",
    ),
    "contact": (
        "source", "external_id", "email", "first_name", "last_name", "title", "phone",
        "country", "created_at",
    ),
    "account": (
        "source", "external_id", "name", "domain", "industry", "employees", "annual_revenue",
        "country", "owner_id", "created_at",
    ),
}  # fmt: skip
#: The tests a condition may make; exactly one per condition (``at_least``/``below`` are one).
TESTS = ("equals", "contains", "matches", "at_least/below", "present")

Scalar = str | int | float | bool


def _values(value: Any) -> Scalar | list[Scalar]:
    """``equals``: one value or a list of them, with one message for anything else."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str | int | float | bool) for v in items):
        raise ValueError(
            f"must be text, a number, true or false, or a non-empty list of them (got {value!r})"
        )
    return value  # type: ignore[no-any-return]


def _texts(value: Any) -> str | list[str]:
    """``contains``: a piece of text or a list of them."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ValueError(f"must be text or a non-empty list of texts (got {value!r})")
    return value  # type: ignore[no-any-return]


Values = Annotated[Scalar | list[Scalar], PlainValidator(_values)]
Texts = Annotated[str | list[str], PlainValidator(_texts)]
FieldName = Annotated[str, Field(min_length=1, max_length=200)]
TouchType = Annotated[str, Field(min_length=1, max_length=40)]


def split_field(name: str) -> tuple[str, str, bool]:
    """``"account.industry"`` → ``("account", "industry", False)``: the record, the name, and
    whether the name is a property (``"lead.properties.x"``, or a name that is no column)."""
    head, dot, rest = name.partition(".")
    record, inner = (head, rest) if dot and head in RECORDS else ("lead", name)
    if inner.startswith("properties."):
        return record, inner.removeprefix("properties."), True
    return record, inner, inner not in COLUMNS[record]


class Condition(Strict):
    """A test on one field of a lead, its contact or its account.

    Exactly one test: ``equals`` (one value or a list; text compared without regard to case or
    surrounding spaces, numbers as numbers), ``contains`` (a piece of text or a list of them),
    ``matches`` (a regular expression, case-insensitive, found anywhere in the text),
    ``at_least``/``below`` (a number band; ``at_least`` included, ``below`` excluded; either end
    may be left out) or ``present`` (whether the field is filled in).
    """

    #: Field names shown when a field names no record; a subclass may show its own.
    FIELD_EXAMPLES: ClassVar[str] = (
        '"title", "lead.title", "contact.phone", "account.industry", "lead.properties.<name>"'
    )

    field: FieldName
    equals: Values | None = None
    contains: Texts | None = None
    matches: str | None = None
    at_least: float | None = None
    below: float | None = None
    present: bool | None = None

    @field_validator("field")
    @classmethod
    def _known_record(cls, value: str) -> str:
        head, dot, rest = value.partition(".")
        if dot and head not in RECORDS and head != "properties":
            from baton.contract.load import did_you_mean

            raise ValueError(
                f'"{head}" is not a record{did_you_mean(head, RECORDS)} '
                f"(fields are {cls.FIELD_EXAMPLES} ...)"
            )
        if dot and not rest:
            raise ValueError(f'"{value}" names no field after the dot')
        return value

    @field_validator("matches")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(
                    f'"{value}" is not a regular expression ({exc}); in TOML, write it in single '
                    "quotes so backslashes stay as they are, e.g. '\\bVP\\b'"
                ) from exc
        return value

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [
            name
            for name, on in (
                ("equals", self.equals is not None),
                ("contains", self.contains is not None),
                ("matches", self.matches is not None),
                ("at_least/below", self.at_least is not None or self.below is not None),
                ("present", self.present is not None),
            )
            if on
        ]
        if len(given) != 1:
            found = f"found {' and '.join(given)}" if given else "found none"
            raise ValueError(
                f'give exactly one test for "{self.field}": {", ".join(TESTS)} ({found})'
            )
        if self.at_least is not None and self.below is not None and self.at_least >= self.below:
            raise ValueError(
                f"at_least ({self.at_least:g}) must be less than below ({self.below:g}); "
                "the band is at_least <= value < below"
            )
        return self

    def describe(self) -> str:
        """The test in words, for a score's breakdown: ``account.industry is Software or Media``."""
        name = self.field
        if self.equals is not None:
            values = self.equals if isinstance(self.equals, list) else [self.equals]
            return f"{name} is {' or '.join(_show(v) for v in values)}"
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


def _show(value: Scalar) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class FitRule(Condition):
    """A condition and the points a lead gets when it holds (negative points take away)."""

    points: float = Field(ge=-100, le=100)
    label: str = ""

    @field_validator("points")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("a rule worth 0 points does nothing; give it points or remove it")
        return value

    @property
    def name(self) -> str:
        """What the breakdown calls this rule: its label, or the test in words."""
        return self.label or self.describe()


class FitPart(Strict):
    """Points for what a lead is. Their sum is clipped to ``[0, max]``."""

    max: float = Field(default=50, gt=0, le=100)
    rules: list[FitRule] = Field(default_factory=list)


class TouchPoints(Strict):
    """Points per touch of one type, the most that type may add, and its own half-life."""

    points: float = Field(ge=-100, le=100)
    cap: float | None = Field(default=None, gt=0, le=100)
    half_life_days: float | None = Field(default=None, gt=0)

    @field_validator("points")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("a touch worth 0 points does nothing; give it points or remove it")
        return value


class EngagementPart(Strict):
    """Points for a lead's marketing touches, by touch type, halved every ``half_life_days``.

    Each type's decayed total is held within ``[-cap, cap]``; the part's sum is clipped to
    ``[0, max]``. Without ``half_life_days`` touches never fade.
    """

    max: float = Field(default=50, gt=0, le=100)
    half_life_days: float | None = Field(default=None, gt=0)
    touches: dict[TouchType, TouchPoints] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _distinct_types(self) -> EngagementPart:
        seen: dict[str, str] = {}
        for name in self.touches:
            folded = name.casefold()
            if folded in seen:
                raise ValueError(
                    f'touch types "{seen[folded]}" and "{name}" differ only in case; touch types '
                    "are compared without case, so keep one"
                )
            seen[folded] = name
        return self


class ScoreModel(Strict):
    """One named rule model: which leads it scores, and its fit and engagement parts."""

    key: Key
    label: str = ""
    applies_to: list[Condition] = Field(default_factory=list)
    fit: FitPart = Field(default_factory=FitPart)
    engagement: EngagementPart = Field(default_factory=EngagementPart)

    @property
    def digest(self) -> str:
        """The model's version: a fingerprint of its definition, stored with every score.

        Two contract versions with the same model give the same digest, so a score's history
        shows when the rules changed and not merely when the contract did.
        """
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    def touch_types(self) -> frozenset[str]:
        """The touch types this model gives points for, case-folded."""
        return frozenset(t.casefold() for t in self.engagement.touches)


class Scoring(Strict):
    """The ``[scoring]`` section: rule models, tried in order for each lead."""

    models: list[ScoreModel] = Field(default_factory=list)

    def model(self, key: str) -> ScoreModel:
        """The model with this key; raises ``KeyError`` naming the known keys."""
        for m in self.models:
            if m.key == key:
                return m
        known = ", ".join(m.key for m in self.models) or "none"
        raise KeyError(f'"{key}" is not a scoring model of the contract; models: {known}')
