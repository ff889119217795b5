"""Rule-based lead scoring: a contract model, a lead's fields and touches in, a 0-100 score out.

How a score is made (:meth:`RuleScorer.score`), all in tenths of a point so that the
breakdown adds up exactly:

1. **Fit.** Every fit rule whose condition holds adds its points (negative points take
   away). The sum is clipped to ``[0, fit.max]``.
2. **Engagement.** Every touch of a type the model lists, at or before the scoring time,
   adds the type's points times ``0.5 ** (age_days / half_life_days)``: a touch two
   half-lives old counts a quarter. Each type's total is rounded to a tenth and held within
   ``[-cap, cap]``; the part's sum is clipped to ``[0, engagement.max]``.
3. **Score** = fit + engagement, at most 100.

Points are kept in whole tenths, each line rounded half away from zero. The breakdown has
one line per rule that gave points and one per touch type, with the points it gave; every
clip is a line of its own, with the points it took away (or gave back, when a negative part
is raised to 0). So the lines always sum to the score, and a rep sees both what the rules
gave and what the limits took.

No SQL here: the service reads leads and touches in bulk and hands them to a scorer.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from baton.contract.model import Contract, StageKind
from baton.contract.scoring import Condition, FitRule, ScoreModel, Scoring, split_field

#: The score's scale: at most 100 points.
MAX_SCORE = 100.0
#: Points are kept in tenths; every line of a breakdown is a whole number of tenths.
TENTHS = 10
_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Part(StrEnum):
    """Which part of the score a breakdown line belongs to."""

    FIT = "fit"
    ENGAGEMENT = "engagement"
    TOTAL = "total"


@dataclass(frozen=True)
class Touch:
    """One marketing touch of a lead: its type (``webinar``, ``demo_request``) and time."""

    type: str
    at: dt.datetime


@dataclass(frozen=True)
class Profile:
    """What conditions read: the lead's fields, and its contact's and account's, if any.

    Each mapping holds a record's columns by name and its imported properties under
    ``"properties"``. A field such as ``"account.industry"`` reads the account's column; a name
    that is not a column (``"account.segment"``) or is written ``"lead.properties.<name>"``
    reads a property.
    """

    lead: Mapping[str, Any]
    contact: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    account: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def value(self, name: str) -> Any:
        """The value of field ``name``; ``None`` when it or its record is missing."""
        return _reader(name)(self)


@dataclass(frozen=True)
class Line:
    """One line of a breakdown: a rule, a touch type or a limit, and the points it gave."""

    part: Part
    rule: str
    points: float
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "part": self.part.value,
            "rule": self.rule,
            "points": self.points,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Line:
        return cls(
            Part(data["part"]),
            str(data["rule"]),
            float(data["points"]),
            str(data.get("detail", "")),
        )


@dataclass(frozen=True)
class RuleScore:
    """A lead's score under one model at one time, with the lines it is made of.

    ``fit`` and ``engagement`` are the parts after their own limits; ``score`` is their sum,
    at most 100, and always equals the sum of ``lines`` (to the tenth, exactly).
    """

    model: str
    model_version: str
    at: dt.datetime
    score: float
    fit: float
    engagement: float
    lines: tuple[Line, ...]

    def breakdown(self) -> list[dict[str, Any]]:
        """The lines as JSON-ready dicts, in order."""
        return [line.as_dict() for line in self.lines]


# -- reading fields --------------------------------------------------------------------------
def _reader(name: str) -> Callable[[Profile], Any]:
    record, inner, is_property = split_field(name)

    if is_property:

        def read_property(profile: Profile) -> Any:
            props = getattr(profile, record).get("properties")
            return props.get(inner) if isinstance(props, Mapping) else None

        return read_property

    def read_column(profile: Profile) -> Any:
        return getattr(profile, record).get(inner)

    return read_column


def filled(value: Any) -> bool:
    """Whether a field counts as filled in: not missing, not blank text, not an empty list."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | dict):
        return bool(value)
    return True


def _number(value: Any) -> float | None:
    """A field as a number (imported properties are often text), or ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip().replace(",", ""))
    except ValueError:
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().casefold()


def _test(condition: Condition) -> Callable[[Any], bool]:
    """The condition's test as a function of the field's value (``None`` when missing)."""
    if condition.present is not None:
        want = condition.present
        return lambda v: filled(v) is want
    if condition.equals is not None:
        expected = condition.equals if isinstance(condition.equals, list) else [condition.equals]
        texts = frozenset(_text(e) for e in expected)
        numbers = frozenset(
            float(e) for e in expected if isinstance(e, int | float) and not isinstance(e, bool)
        )

        def equals(v: Any) -> bool:
            if not filled(v):
                return False
            if numbers and not isinstance(v, bool):
                number = _number(v)
                if number is not None and number in numbers:
                    return True
            return _text(v) in texts

        return equals
    if condition.contains is not None:
        parts = condition.contains if isinstance(condition.contains, list) else [condition.contains]
        pieces = tuple(p.casefold() for p in parts)
        return lambda v: filled(v) and any(p in _text(v) for p in pieces)
    if condition.matches is not None:
        pattern = re.compile(condition.matches, re.IGNORECASE)
        return lambda v: filled(v) and pattern.search(str(v)) is not None
    low = -float("inf") if condition.at_least is None else condition.at_least
    high = float("inf") if condition.below is None else condition.below

    def band(v: Any) -> bool:
        number = _number(v)
        return number is not None and low <= number < high

    return band


@dataclass(frozen=True)
class _Compiled:
    """A condition ready to run: how to read its field and how to test the value."""

    read: Callable[[Profile], Any]
    test: Callable[[Any], bool]

    @classmethod
    def of(cls, condition: Condition) -> _Compiled:
        return cls(_reader(condition.field), _test(condition))

    def holds(self, profile: Profile) -> Any:
        """The value read when the condition holds (``True`` for a value that is missing),
        else ``None``."""
        value = self.read(profile)
        if not self.test(value):
            return None
        return True if value is None else value


# -- the scorer ------------------------------------------------------------------------------
def _tenths(points: float) -> int:
    """Points as whole tenths, rounded half away from zero (1.25 → 13 tenths, -1.25 → -13)."""
    # round to 6 places first: 0.35 * 10 is 3.4999999999999996 in binary and should give 4
    scaled = round(points * TENTHS, 6)
    return int(math.copysign(math.floor(abs(scaled) + 0.5), scaled))


def _points(tenths: int) -> float:
    return tenths / TENTHS


class RuleScorer:
    """One contract model, compiled once and applied to many leads.

    Parameters
    ----------
    model
        A model of the contract's ``[scoring]`` section.
    """

    def __init__(self, model: ScoreModel) -> None:
        self.model = model
        self.key = model.key
        self.version = model.digest
        self._selector = [_Compiled.of(c) for c in model.applies_to]
        self._rules: list[tuple[FitRule, _Compiled]] = [
            (r, _Compiled.of(r)) for r in model.fit.rules
        ]
        part = model.engagement
        self._touches = {
            name.casefold(): (name, rule, rule.half_life_days or part.half_life_days)
            for name, rule in part.touches.items()
        }
        self.touch_types = frozenset(self._touches)

    def __repr__(self) -> str:
        return f"RuleScorer({self.key!r}, version {self.version[:12]})"

    def applies(self, profile: Profile) -> bool:
        """Whether every ``applies_to`` condition holds for this lead (always, with none)."""
        return all(c.holds(profile) is not None for c in self._selector)

    def score(self, profile: Profile, touches: Iterable[Touch], at: dt.datetime) -> RuleScore:
        """The lead's score at ``at`` and its breakdown.

        Parameters
        ----------
        profile
            The lead's, contact's and account's fields.
        touches
            The lead's touches, in any order; those after ``at`` and those of types the model
            does not list are ignored.
        at
            When the score is taken (an aware datetime): the age of each touch is counted to it.
        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"{at.isoformat()}: a score needs a time with a time zone")
        lines: list[Line] = []
        fit = self._fit(profile, lines)
        engagement = self._engagement(touches, at, lines)
        total = fit + engagement
        top = _tenths(MAX_SCORE)
        if total > top:
            lines.append(
                Line(Part.TOTAL, f"score limited to {MAX_SCORE:g}", _points(top - total),
                     f"fit {_points(fit):g} + engagement {_points(engagement):g}")
            )  # fmt: skip
            total = top
        return RuleScore(
            model=self.key,
            model_version=self.version,
            at=at,
            score=_points(total),
            fit=_points(fit),
            engagement=_points(engagement),
            lines=tuple(lines),
        )

    def _fit(self, profile: Profile, lines: list[Line]) -> int:
        raw = 0
        for rule, compiled in self._rules:
            value = compiled.holds(profile)
            if value is None:
                continue
            points = _tenths(rule.points)
            raw += points
            shown = "" if value is True else f"{rule.field}: {value}"
            lines.append(Line(Part.FIT, rule.name, _points(points), shown))
        return _clip(raw, _tenths(self.model.fit.max), Part.FIT, "fit", "rules", lines)

    def _engagement(self, touches: Iterable[Touch], at: dt.datetime, lines: list[Line]) -> int:
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        for touch in touches:
            kind = touch.type.casefold()
            found = self._touches.get(kind)
            if found is None:
                continue
            age = (at - touch.at).total_seconds() / 86_400
            if age < 0:
                continue  # not happened yet at the scoring time
            _, rule, half_life = found
            weight = 0.5 ** (age / half_life) if half_life else 1.0
            totals[kind] = totals.get(kind, 0.0) + rule.points * weight
            counts[kind] = counts.get(kind, 0) + 1
        raw = 0
        for kind, (name, rule, half_life) in self._touches.items():
            if kind not in counts:
                continue
            n = counts[kind]
            given = _tenths(totals[kind])
            undecayed = rule.points * n
            fading = f", fading by half every {half_life:g} days" if half_life else ""
            detail = f"{n} touch{'es' if n != 1 else ''} of {rule.points:g}{fading}"
            if given != _tenths(undecayed):
                detail += f" (full value {undecayed:g})"
            if given:
                lines.append(Line(Part.ENGAGEMENT, f"{name} touches", _points(given), detail))
            if rule.cap is not None:
                cap = _tenths(rule.cap)
                held = max(-cap, min(cap, given))
                if held != given:
                    lines.append(
                        Line(Part.ENGAGEMENT, f"{name} limited to {rule.cap:g}",
                             _points(held - given), f"{name} touches gave {_points(given):g}")
                    )  # fmt: skip
                given = held
            raw += given
        return _clip(
            raw, _tenths(self.model.engagement.max), Part.ENGAGEMENT, "engagement", "touches", lines
        )


def _clip(raw: int, top: int, part: Part, name: str, source: str, lines: list[Line]) -> int:
    """``raw`` held within ``[0, top]``, with a line for whatever the limit changed."""
    if raw > top:
        lines.append(
            Line(part, f"{name} limited to {_points(top):g}", _points(top - raw),
                 f"{source} gave {_points(raw):g}")
        )  # fmt: skip
        return top
    if raw < 0:
        lines.append(
            Line(part, f"{name} no lower than 0", _points(-raw), f"{source} gave {_points(raw):g}")
        )
        return 0
    return raw


class RuleScoring:
    """All the contract's rule models, in order: each lead is scored by the first that applies.

    Parameters
    ----------
    scoring
        The contract's ``[scoring]`` section.
    only
        A model key: keep only that model, so leads that an earlier model would take are
        left alone rather than handed to it.
    """

    def __init__(self, scoring: Scoring, only: str | None = None) -> None:
        self.scorers = [RuleScorer(m) for m in scoring.models]
        self.only = only
        if only is not None:
            scoring.model(only)  # raises KeyError naming the known models

    @property
    def touch_types(self) -> frozenset[str]:
        """Every touch type any model gives points for, case-folded."""
        return frozenset().union(*(s.touch_types for s in self.scorers))

    def choose(self, profile: Profile) -> RuleScorer | None:
        """The model for this lead: the first whose ``applies_to`` holds, or ``None``.

        With ``only``, the chosen model must be that one, or ``None`` is returned.
        """
        for scorer in self.scorers:
            if scorer.applies(profile):
                return scorer if self.only in (None, scorer.key) else None
        return None


# -- qualification ---------------------------------------------------------------------------
def missing_fields(profile: Profile, required: Sequence[str]) -> list[str]:
    """The contract's required fields (``email``, ``account.industry``) this lead lacks."""
    return [name for name in required if not filled(profile.value(name))]


def qualifies_as_mql(
    contract: Contract,
    *,
    stage: str | None,
    previous: float | None,
    score: float,
    profile: Profile,
) -> bool:
    """Whether a lead just scored should move to the contract's MQL stage.

    It must be before the MQL stage (no stage yet, or a stage of kind ``open`` or ``recycled``),
    score at least ``qualification.mql.min_score`` and have every required field filled in.
    A recycled lead must also *cross* the threshold: its previous score was below it (or it
    had none). Sales sent it back, so the score that made it an MQL before does not send it
    again; it has to cool down and warm up anew.
    """
    rule = contract.qualification.mql
    if stage is not None:
        kind = contract.stage_by_key[stage].kind if stage in contract.stage_by_key else None
        if kind not in (StageKind.OPEN, StageKind.RECYCLED):
            return False
        if kind is StageKind.RECYCLED and previous is not None and previous >= rule.min_score:
            return False
    return score >= rule.min_score and not missing_fields(profile, rule.required_fields)


def mql_reason(result: RuleScore, contract: Contract) -> str:
    """The reason logged with a scoring move: the score, the threshold and the model."""
    return (
        f"score {result.score:g} reached the MQL threshold of "
        f"{contract.qualification.mql.min_score:g} (model {result.model})"
    )
