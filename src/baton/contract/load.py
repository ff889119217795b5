"""Read and check ``baton.toml``, reporting every problem with its key path and what to do."""

from __future__ import annotations

import difflib
import hashlib
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from baton.contract.model import PIPELINE_KINDS, Contract, StageKind
from baton.errors import ContractInvalid, NotFound, Problem


def default_contract_text() -> str:
    """The commented default contract that ``baton init`` writes."""
    return resources.files("baton.contract").joinpath("default.toml").read_text(encoding="utf-8")


def digest(text: str) -> str:
    """A short fingerprint of a contract's text, stored with each applied version."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_contract(path: Path) -> Contract:
    """Read and check the contract at ``path``; raise :class:`ContractInvalid` listing problems."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotFound(
            f"{path}: no contract there; run `baton init` to write the default one"
        ) from exc
    return parse_contract(text, source=str(path))


def parse_contract(text: str, *, source: str = "baton.toml") -> Contract:
    """Parse and check contract text; every problem names its key path and what to do."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ContractInvalid(
            f"{source} is not valid TOML", [Problem("", f"{exc}; fix the syntax there")]
        ) from exc
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        problems = [_explain(err, data) for err in exc.errors()]
        raise ContractInvalid(f"{source} has {_count(problems)}", problems) from exc
    problems = list(check_consistency(contract))
    if problems:
        raise ContractInvalid(f"{source} has {_count(problems)}", problems)
    return contract


def _count(problems: Sequence[Problem]) -> str:
    return "1 problem" if len(problems) == 1 else f"{len(problems)} problems"


def key_path(loc: Iterable[int | str]) -> str:
    """``("stages", 3, "kind")`` → ``stages[3].kind``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """``; did you mean "x"?`` for the closest choice, or a list of the choices."""
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.6)
    if close:
        return f'; did you mean "{close[0]}"?'
    return "; use one of: " + ", ".join(f'"{c}"' for c in options)


def _fields_at(loc: Sequence[int | str]) -> list[str]:
    """The keys allowed in the table that holds ``loc``'s last part."""
    annotation: Any = Contract
    for part in loc[:-1]:
        annotation = _unwrap(annotation)
        if isinstance(part, int) or get_origin(annotation) is dict:
            annotation = _item(annotation)  # a list's item or a table's value, by index or key
            continue
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        field = annotation.model_fields.get(part) or next(
            (f for f in annotation.model_fields.values() if f.alias == part), None
        )
        if field is None:
            return []
        annotation = field.annotation
    model = _inner_model(annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` → ``X``; anything else as it is."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) in (Union, UnionType) and len(args) == 1:
        return args[0]
    return annotation


def _item(annotation: Any) -> Any:
    """What a list or table holds: ``list[X]`` → ``X``, ``dict[K, X]`` → ``X``."""
    args = get_args(annotation)
    return args[-1] if args else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None:
        for arg in get_args(annotation):
            inner = _inner_model(arg)
            if inner is not None:
                return inner
    return None


def _explain(err: Any, data: dict[str, Any]) -> Problem:
    loc = tuple(err["loc"])
    where = key_path(loc)
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        name = str(loc[-1])
        return Problem(where, f'"{name}" is not a known key{did_you_mean(name, _fields_at(loc))}')
    if kind == "missing":
        return Problem(where, "is required; add it (`baton init` writes an example)")
    is_kind = bool(loc) and (loc[-1] == "kind" or (len(loc) >= 2 and loc[-2] == "reason_required"))
    if kind == "enum" and is_kind:
        choices = [k.value for k in StageKind]
        return Problem(where, f'"{value}" is not a stage kind{did_you_mean(str(value), choices)}')
    if kind in {"enum", "literal_error"}:
        expected = str(err.get("ctx", {}).get("expected", ""))
        choices = [c.strip().strip("'\"") for c in expected.replace(" or ", ",").split(",")]
        choices = [c for c in choices if c]
        return Problem(where, f'"{value}" is not allowed here{did_you_mean(str(value), choices)}')
    if kind == "string_pattern_mismatch" and (loc[-1] == "key" or "stuck_after_days" in loc):
        return Problem(
            where,
            f'"{value}" is not a valid key; use lower-case letters, digits, "-" and "_", '
            "starting with a letter",
        )
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind.startswith(("int_", "float_", "bool_", "string_", "date_", "list_", "dict_")):
        message = f"{message} (got {value!r})"
    return Problem(where, message)


def check_consistency(contract: Contract) -> Iterable[Problem]:
    """Rules that span several keys: references between sections, unique keys, order."""
    stages = contract.stage_by_key
    yield from _unique("stages", [s.key for s in contract.stages], "key")
    yield from _unique("stages", [s.position for s in contract.stages], "position")
    yield from _unique("pipeline", [s.key for s in contract.pipeline], "key")
    yield from _unique("goals", [g.key for g in contract.goals], "key")
    yield from _unique("rejection_reasons", [r.key for r in contract.rejection_reasons], "key")
    yield from _check_scoring(contract)

    kinds = {s.kind for s in contract.stages}
    for needed in (StageKind.OPEN, StageKind.QUALIFIED, StageKind.OPPORTUNITY, StageKind.WON):
        if needed not in kinds:
            yield Problem("stages", f'no stage has kind "{needed}"; add one')

    for side in ("mql", "sql"):
        rule = getattr(contract.qualification, side)
        where = f"qualification.{side}.stage"
        if rule.stage not in stages:
            yield Problem(where, f'"{rule.stage}" is not a stage key{did_you_mean(rule.stage, stages)}')
        elif stages[rule.stage].kind != StageKind.QUALIFIED:
            yield Problem(
                where,
                f'stage "{rule.stage}" has kind "{stages[rule.stage].kind}"; '
                'point it at a stage of kind "qualified"',
            )
    mql, sql = contract.qualification.mql.stage, contract.qualification.sql.stage
    if mql in stages and sql in stages and stages[mql].position >= stages[sql].position:
        yield Problem(
            "qualification.sql.stage",
            f'"{sql}" (position {stages[sql].position}) must come after the MQL stage "{mql}" '
            f"(position {stages[mql].position}); raise its position",
        )

    for i, move in enumerate(contract.lifecycle.backward):
        base = f"lifecycle.backward[{i}]"
        ok = True
        for end, key in (("from", move.from_), ("to", move.to)):
            if key not in stages:
                ok = False
                yield Problem(f"{base}.{end}", f'"{key}" is not a stage key{did_you_mean(key, stages)}')
        if ok and stages[move.to].position >= stages[move.from_].position:
            yield Problem(
                base,
                f'"{move.from_}" to "{move.to}" is a forward move, always allowed; remove it',
            )

    for i, p in enumerate(contract.pipeline):
        if p.kind not in PIPELINE_KINDS:
            yield Problem(
                f"pipeline[{i}].kind",
                f'"{p.kind}" is not a pipeline kind; use "open", "won" or "lost"',
            )
    pipeline_kinds = {p.kind for p in contract.pipeline}
    for needed in (StageKind.OPEN, StageKind.WON, StageKind.LOST):
        if needed not in pipeline_kinds:
            yield Problem("pipeline", f'no pipeline stage has kind "{needed}"; add one')

    for key, days in contract.stuck_after_days.items():
        if key not in stages:
            yield Problem(f"stuck_after_days.{key}", f'"{key}" is not a stage key{did_you_mean(key, stages)}')
        if days <= 0:
            yield Problem(f"stuck_after_days.{key}", f"must be a positive number of days (got {days})")

    hours = contract.business_hours
    if hours.start_time >= hours.end_time:
        yield Problem("business_hours.end", f'"{hours.end}" must be later than start "{hours.start}"')

    for tool in ("hubspot", "salesforce"):
        mapping = getattr(contract.mappings, tool)
        for section, known in (
            ("lifecycle_stage", stages),
            ("lead_status", stages),
            ("opportunity_stage", contract.pipeline_by_key),
        ):
            for source_name, key in getattr(mapping, section).items():
                if key not in known:
                    yield Problem(
                        f'mappings.{tool}.{section}."{source_name}"',
                        f'"{key}" is not a {"pipeline " if section == "opportunity_stage" else ""}'
                        f"stage key{did_you_mean(key, known)}",
                    )

    yield from _check_routing(contract)


def _check_routing(contract: Contract) -> Iterable[Problem]:
    """Routing rules: unique keys and reps, territories that do not overlap, and conditions
    on ``territory`` and ``size_band`` that name ones the contract defines."""
    routing = contract.routing
    yield from _unique("routing.rules", [r.key for r in routing.rules], "key")
    seen: dict[str, str] = {}
    for territory, countries in routing.territories.items():
        for country in countries:
            folded = country.strip().casefold()
            if folded in seen and seen[folded] != territory:
                yield Problem(
                    f"routing.territories.{territory}",
                    f'"{country}" is already in territory "{seen[folded]}"; a country belongs '
                    "to one territory",
                )
            seen.setdefault(folded, territory)
    known = {"territory": list(routing.territories), "size_band": list(routing.size_bands)}
    for i, rule in enumerate(routing.rules):
        base = f"routing.rules[{i}]"
        emails = [r.email.casefold() for r in rule.reps]
        for j, email in enumerate(emails):
            if email in emails[:j]:
                yield Problem(f"{base}.reps[{j}]", f'"{rule.reps[j].email}" is listed twice')
        for j, match in enumerate(rule.when):
            if match.field not in known or match.equals is None:
                continue
            values = match.equals if isinstance(match.equals, list) else [match.equals]
            for value in values:
                if str(value) not in known[match.field]:
                    what = "territories" if match.field == "territory" else "size_bands"
                    hint = did_you_mean(str(value), known[match.field]) if known[match.field] else (
                        f"; define it in [routing.{what}]"
                    )
                    yield Problem(
                        f"{base}.when[{j}].equals",
                        f'"{value}" is not one of routing.{what}{hint}',
                    )
    escalation = routing.escalation
    if "reassign" in escalation.on_breach and escalation.max_reassignments == 0:
        yield Problem(
            "routing.escalation.max_reassignments",
            'is 0 but on_breach says "reassign"; raise it or remove "reassign"',
        )


def _check_scoring(contract: Contract) -> Iterable[Problem]:
    """Model keys are unique, and no model hides behind one that takes every lead."""
    models = contract.scoring.models
    yield from _unique("scoring.models", [m.key for m in models], "key")
    catch_all = next((i for i, m in enumerate(models) if not m.applies_to), None)
    if catch_all is not None:
        for i in range(catch_all + 1, len(models)):
            yield Problem(
                f"scoring.models[{i}]",
                f'"{models[i].key}" never scores a lead: "{models[catch_all].key}" before it has '
                "no applies_to and takes every lead; move the model without applies_to last",
            )


def _unique(section: str, values: Sequence[object], field: str) -> Iterable[Problem]:
    counts = Counter(values)
    seen: set[object] = set()
    for i, value in enumerate(values):
        if counts[value] > 1 and value in seen:
            yield Problem(
                f"{section}[{i}].{field}",
                f'"{value}" is used more than once in {section}; each {field} must be unique',
            )
        seen.add(value)
