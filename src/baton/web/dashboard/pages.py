"""The analytics pages: Scoreboard, definitions, Funnel, Handoff & SLA, Feedback, Attribution.

Each page reads its pickers from the query string, computes (or takes from the cache) the
same service the CLI command of that name calls, and renders it. The scoreboard's numbers are
``baton scoreboard --format json``'s, each carrying its raw value in ``data-value``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from baton.analytics.attribution.store_journeys import LEVELS, OUTCOMES
from baton.analytics.kpis import KPIS, OVERALL
from baton.analytics.memo import Built
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract.model import Contract
from baton.domain.model import Clock
from baton.service.attribution import AttributionQuery, attribute, model_list
from baton.service.commitments import goals_report, handoffs_query, records, sla_report
from baton.service.funnel import funnel_query, funnel_report, stuck_report
from baton.service.scoreboard import kpi_query, kpi_scoreboard
from baton.service.web_users import Viewer
from baton.service.workbench import queue, rejections, scope_for
from baton.web.context import AppContext, Ctx
from baton.web.dashboard import charts
from baton.web.dashboard.analytics import REJECTIONS, STAGES, TOPICS, Analytics, checkpoint
from baton.web.dashboard.auth import SignedIn, page_for
from baton.web.dashboard.common import (
    analytics_of,
    choice,
    compute,
    contract_now,
    int_param,
    parse_period,
    period_choices,
    read,
)
from baton.web.dashboard.render import render

router = APIRouter(include_in_schema=False)

BREAKDOWNS = ("channel", "owner", "team")
#: The Feedback page's choices of months (any other may be typed in the address).
FEEDBACK_MONTHS = (6, 3, 12, 24)
#: The models the Attribution page puts side by side unless asked for others.
DEFAULT_MODELS = ("first", "last", "linear", "time-decay", "w-shaped", "markov-1", "shapley")


# -- the cached sections: each a cache key, how to compute it and what it reads ----------------
# The key holds every picker the result depends on. Sections "as of now" (stuck leads, the
# SLA, goals) are keyed without the time: the cache's time to live bounds how old they get;
# they read the clock when they run, since a section may be computed again after an action.
# What a section reads are the analytics topics an action may change (a lead's stage, its
# handoff); an action drops only the sections that read what it changed.
Section = tuple[tuple[Any, ...], Callable[[Tables], Any], tuple[str, ...]]


def kpis_section(contract: Contract, span: Period, by: str | None, built: Built) -> Section:
    return (
        ("kpis", span.label, by),
        lambda t: kpi_scoreboard(t, contract, span, by, built=built),
        (STAGES,),
    )


def goals_section(contract: Contract, clock: Clock) -> Section:
    return ("goals",), lambda t: goals_report(t, contract, as_of=clock()), TOPICS


def funnel_section(contract: Contract, span: Period, built: Built) -> Section:
    return (
        ("funnel", span.label),
        lambda t: funnel_report(t, contract, period=span.label, built=built),
        (STAGES,),
    )


def cohort_section(contract: Contract, span: Period, built: Built) -> Section:
    return (
        ("cohorts", span.label),
        lambda t: funnel_report(t, contract, cohort="month", period=span.label, built=built),
        (STAGES,),
    )


def stuck_section(contract: Contract, clock: Clock) -> Section:
    return ("stuck",), lambda t: stuck_report(t, contract, as_of=clock()), (STAGES,)


def sla_section(contract: Contract, span: Period, by: str, clock: Clock) -> Section:
    grouping: Any = by
    return (
        ("sla", span.label, by),
        lambda t: sla_report(t, contract, as_of=clock(), period=span, by=grouping),
        TOPICS,
    )


def feedback_section(ctx: AppContext, contract: Contract, months: int) -> Section:
    """Rejections of the last ``months``: read from the store (they are few), cached like the
    analytics, so rejecting a lead in the dashboard clears them and the rejection shows."""
    zone = contract.business_hours.zone

    def rejected(_: Tables) -> dict[str, Any]:
        since = ctx.clock() - dt.timedelta(days=31 * months)
        return ctx.read(lambda uow: rejections(uow.session, contract, since=since, zone=zone))

    # only a rejection changes them (an accepted lead does not)
    return ("feedback", months), rejected, (REJECTIONS,)


def attribution_section(
    contract: Contract, models: tuple[str, ...], outcome: str, level: str, span: Period | None
) -> Section:
    query = AttributionQuery(models=models, outcome=outcome, level=level, period=span)
    key = ("attribution", models, outcome, level, span.label if span else None)
    # only the MQL and SQL outcomes read the stage log; the others read touches, deals and
    # who each lead is, which no dashboard action changes
    reads = (STAGES,) if outcome in ("mql", "sql") else ()
    # computed ahead, it stops between its steps once an action has made it useless
    return key, lambda t: attribute(t, contract, query, advance=checkpoint), reads


def warm(analytics: Analytics, contract: Contract, clock: Clock) -> None:
    """Compute the sections every page opens with, so the first visitor does not wait."""
    span = parse_period(None, contract, clock())
    for key, work, reads in (
        kpis_section(contract, span, None, analytics.built),
        goals_section(contract, clock),
        funnel_section(contract, span, analytics.built),
        cohort_section(contract, span, analytics.built),
        stuck_section(contract, clock),
        sla_section(contract, span, "rep", clock),
        attribution_section(contract, DEFAULT_MODELS, "won", "account", None),
    ):
        analytics.get(key, work, reads)


def _periods(contract: Contract, now: dt.datetime, shown: Period | None) -> list[Period]:
    """The periods the pickers offer, the one ``shown`` left out: what to compute ahead."""
    zone = contract.business_hours.zone
    found = [Period.parse(label, zone) for label in period_choices(contract, now)]
    return [p for p in found if shown is None or p.label != shown.label]


@router.get("/")
async def home(viewer: SignedIn) -> RedirectResponse:
    return RedirectResponse("/leads" if viewer.role == "sales" else "/scoreboard", status_code=303)


@router.get("/scoreboard", response_class=HTMLResponse)
async def scoreboard(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("scoreboard"))]
) -> HTMLResponse:
    contract = await contract_now(ctx)
    now = ctx.clock()
    span = parse_period(request.query_params.get("period"), contract, now)
    by = choice(request.query_params.get("by"), BREAKDOWNS, "breakdown")
    analytics = analytics_of(ctx)
    board = await compute(ctx, *kpis_section(contract, span, by, analytics.built))
    goals = await compute(ctx, *goals_section(contract, ctx.clock))
    # the other breakdowns of the period: the choice a person makes next most often
    analytics.ahead(
        kpis_section(contract, span, other, analytics.built)
        for other in (None, *BREAKDOWNS)
        if other != by
    )
    # the breakdown shown in the other periods, where the period picker leads: compiled only
    # (building and compiling a KPI query takes ~0.5 s, running it ~0.1 s)
    analytics.prepare(
        (
            ("kpis", period.label, by),
            functools.partial(
                kpi_query, contract=contract, period=period, by=by, built=analytics.built
            ),
        )
        for period in _periods(contract, now, span)
    )
    rows = records(board)
    groups = [OVERALL, *sorted({r["group"] for r in rows} - {OVERALL})]
    cells = {(r["kpi"], r["group"]): r for r in rows}
    sections = []
    for section in dict.fromkeys(k.section for k in KPIS):
        sections.append((section, [k for k in KPIS if k.section == section]))
    return render(
        request,
        "scoreboard.html",
        {
            "title": "Scoreboard",
            "span": span,
            "last": span.end - dt.timedelta(days=1),
            "by": by,
            "breakdowns": BREAKDOWNS,
            "periods": period_choices(contract, now),
            "groups": groups,
            "cells": cells,
            "sections": sections,
            "overall": OVERALL,
            "currency": contract.organization.currency,
            "goals": records(goals),
            "notes": [r for r in rows if r["value"] is None and r["note"]],
        },
    )


@router.get("/definitions", response_class=HTMLResponse)
async def definitions(
    request: Request, viewer: Annotated[Viewer, Depends(page_for("definitions"))]
) -> HTMLResponse:
    return render(request, "definitions.html", {"title": "What each number means", "kpis": KPIS})


@router.get("/funnel", response_class=HTMLResponse)
async def funnel_page(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("funnel"))]
) -> HTMLResponse:
    contract = await contract_now(ctx)
    now = ctx.clock()
    span = parse_period(request.query_params.get("period"), contract, now)
    analytics = analytics_of(ctx)
    pairs = await compute(ctx, *funnel_section(contract, span, analytics.built))
    cohorts = await compute(ctx, *cohort_section(contract, span, analytics.built))
    stuck = await compute(ctx, *stuck_section(contract, ctx.clock))
    # the other periods, where the picker leads: the funnel's and cohorts' queries compiled
    # only (building and compiling them takes several times as long as running them)
    analytics.prepare(
        (
            (kind, period.label),
            functools.partial(
                funnel_query,
                contract=contract,
                cohort=cohort,
                period=period.label,
                built=analytics.built,
            ),
        )
        for period in _periods(contract, now, span)
        for kind, cohort in (("funnel", None), ("cohorts", "month"))
    )
    steps = []
    for row in records(pairs):
        drop = None if row["conversion"] is None else 1 - row["conversion"]
        steps.append(
            {
                "stage": row["stage"],
                "next": row["next_stage"],
                "entered": row["entered"],
                "converted": row["converted"],
                "conversion": row["conversion"],
                "drop_off": drop,
                "median_days": row["median_days"],
                "label": f"{row['entered']:,}"
                + (f"  (-{drop:.0%} to {row['next_stage']})" if drop is not None else ""),
            }
        )
    cohort_rows: dict[str, dict[str, Any]] = defaultdict(dict)
    stages = []
    for row in records(cohorts):
        pair = f"{row['stage']}→{row['next_stage']}"
        if pair not in stages:
            stages.append(pair)
        cohort_rows[row["cohort"]][pair] = row
    stuck_rows = records(stuck)
    return render(
        request,
        "funnel.html",
        {
            "title": "Funnel",
            "span": span,
            "periods": period_choices(contract, now),
            "steps": steps,
            "chart": charts.funnel_chart(steps),
            "pairs": stages,
            "cohorts": sorted(cohort_rows.items()),
            "stuck": stuck_rows[:50],
            "stuck_total": len(stuck_rows),
            "stuck_by_stage": Counter(r["stage"] for r in stuck_rows),
        },
    )


@router.get("/sla", response_class=HTMLResponse)
async def sla_page(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("sla"))]
) -> HTMLResponse:
    contract = await contract_now(ctx)
    now = ctx.clock()
    span = parse_period(request.query_params.get("period"), contract, now)
    by = choice(request.query_params.get("by"), ("rep", "team"), "breakdown") or "rep"
    report = await compute(ctx, *sla_section(contract, span, by, ctx.clock))
    analytics = analytics_of(ctx)
    analytics.ahead([sla_section(contract, span, "team" if by == "rep" else "rep", ctx.clock)])
    # the other periods, where the picker leads: their query compiled only (both breakdowns
    # run the same one; building and compiling it took longer than running it)
    analytics.prepare(
        (
            ("handoffs", period.label),
            functools.partial(handoffs_query, contract=contract, period=period),
        )
        for period in _periods(contract, now, span)
    )

    def waiting(uow: Any) -> list[Any]:
        scope = scope_for(uow.session, viewer)
        return queue(uow.session, contract, scope, now=now, limit=None, with_details=False)

    items = await read(ctx, waiting)
    risk: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        key = (item.owner or "unassigned") if by == "rep" else (item.team or "no team")
        risk[key][item.state] += 1
    late = [i for i in items if i.state in ("breached", "at risk")][:50]
    return render(
        request,
        "sla.html",
        {
            "title": "Handoff & SLA",
            "span": span,
            "by": by,
            "periods": period_choices(contract, now),
            "terms": contract.sla,
            "sales": records(report.sales),
            "volume": records(report.volume),
            "acceptance": report.acceptance,
            "risk": sorted(risk.items()),
            "late": late,
            "zone": contract.business_hours.zone,
        },
    )


@router.get("/feedback", response_class=HTMLResponse)
async def feedback(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("feedback"))]
) -> HTMLResponse:
    contract = await contract_now(ctx)
    months = int_param(request, "months", 6, 1, 36)
    zone = contract.business_hours.zone
    found = await compute(ctx, *feedback_section(ctx, contract, months))
    analytics_of(ctx).ahead(
        feedback_section(ctx, contract, other) for other in FEEDBACK_MONTHS if other != months
    )
    items = found["items"]
    by_month = Counter((i["month"], i["reason_label"]) for i in items)
    chart_rows = [{"month": m, "reason": r, "leads": n} for (m, r), n in sorted(by_month.items())]
    reasons = sorted({i["reason_label"] for i in items})

    def table(key: str) -> list[tuple[str, Counter[str], int]]:
        grouped: dict[str, Counter[str]] = defaultdict(Counter)
        for i in items:
            grouped[i[key]][i["reason_label"]] += 1
        return sorted(((k, c, sum(c.values())) for k, c in grouped.items()), key=lambda x: -x[2])

    return render(
        request,
        "feedback.html",
        {
            "title": "Feedback",
            "months": months,
            "choices": sorted(FEEDBACK_MONTHS),
            "items": items[:100],
            "total": len(items),
            "reasons": reasons,
            "chart": charts.rejections_chart(chart_rows),
            "by_channel": table("channel"),
            "by_campaign": table("campaign")[:25],
            "zone": zone,
        },
    )


@router.get("/attribution", response_class=HTMLResponse)
async def attribution_page(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("attribution"))]
) -> HTMLResponse:
    contract = await contract_now(ctx)
    now = ctx.clock()
    outcome = choice(request.query_params.get("outcome"), tuple(OUTCOMES), "outcome") or "won"
    level = choice(request.query_params.get("level"), tuple(LEVELS), "level") or "account"
    period_text = request.query_params.get("period") or None
    span = parse_period(period_text, contract, now) if period_text else None
    known = [name for name, _, _ in model_list(contract.attribution)]
    asked = tuple(m for m in request.query_params.getlist("model") if m) or DEFAULT_MODELS
    models = tuple(choice(m, tuple(known), "model") or m for m in asked)
    result = await compute(ctx, *attribution_section(contract, models, outcome, level, span))
    # the other outcomes and levels over all time, and these over the other periods: a choice
    # not computed yet takes half a second to seconds, the most of any page's
    analytics_of(ctx).ahead(
        [
            *(
                attribution_section(contract, models, other_outcome, other_level, None)
                for other_outcome in OUTCOMES
                for other_level in LEVELS
            ),
            *(
                attribution_section(contract, models, outcome, level, other)
                for other in _periods(contract, now, None)
            ),
        ]
    )
    credit = records(result.credit)
    channels = sorted({r["channel"] for r in credit})
    table = {(r["channel"], r["model"]): r for r in credit}
    return render(
        request,
        "attribution.html",
        {
            "title": "Attribution",
            "outcome": outcome,
            "level": level,
            "outcomes": OUTCOMES,
            "levels": LEVELS,
            "period": span.label if span else "",
            "periods": period_choices(contract, now),
            "models": list(result.models),
            "known": model_list(contract.attribution),
            "channels": channels,
            "table": table,
            "totals": result.totals,
            "chart": charts.attribution_chart(credit),
            "currency": contract.organization.currency,
        },
    )
