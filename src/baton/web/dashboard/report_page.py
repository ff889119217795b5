"""The weekly alignment report in the dashboard: ``/report?week=2026-W47``.

The page is the report's own HTML, made by :func:`baton.report.render_html` (the same page
``baton report --format html`` writes), computed once per week and cached with the other
analytics.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract.model import Contract
from baton.domain.model import Clock
from baton.errors import BatonError
from baton.report import render_html
from baton.report.week import check_started, last_complete_week, parse_week
from baton.service.web_users import Viewer
from baton.web.context import Ctx
from baton.web.dashboard.auth import page_for
from baton.web.dashboard.common import compute, contract_now, refused

router = APIRouter(include_in_schema=False)


def _week(text: str | None, zone: Any, now: dt.datetime) -> Period:
    """The week asked for, read as ``baton report --week`` reads it; last week by default."""
    if not text:
        return last_complete_week(now, zone)
    week = parse_week(text, zone)
    check_started(week, now)
    return week


def _render(tables: Tables, contract: Contract, week: Period, clock: Clock) -> str:
    return render_html(tables, week, clock, contract=contract)


@router.get("/report", response_class=HTMLResponse)
async def report_page(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("report"))]
) -> HTMLResponse:
    contract = await contract_now(ctx)
    now = ctx.clock()
    try:
        week = _week(request.query_params.get("week"), contract.business_hours.zone, now)
    except BatonError as exc:
        raise refused(exc) from exc
    html = await compute(
        ctx, ("report", week.label, now.date().isoformat()),
        lambda t: _render(t, contract, week, ctx.clock),
    )  # fmt: skip
    return HTMLResponse(html)
