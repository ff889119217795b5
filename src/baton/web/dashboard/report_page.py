"""The weekly alignment report in the dashboard: ``/report?week=2026-W47``.

The page is the report's own HTML, made as :func:`baton.report.render_html` makes it (the same
page ``baton report --format html`` writes), and cached with the other analytics in three
parts: the attribution summary and the wins, which no dashboard action changes, and the rest
(numbers, goals, funnel, SLA, rejections, the page itself), which an accepted or rejected lead
changes. After an action only the rest is computed again.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.errors import BatonError
from baton.report.gather import gather, summary_query
from baton.report.render import html
from baton.report.week import check_started, last_complete_week, parse_week
from baton.report.wins import week_wins
from baton.service.attribution import attribute
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
    summary = await compute(
        ctx, ("report", week.label, "attribution"),
        lambda t: attribute(t, contract, summary_query(week)), reads=(),
    )  # fmt: skip
    wins = await compute(
        ctx, ("report", week.label, "wins"), lambda t: week_wins(t, contract, week), reads=()
    )

    def page(tables: Tables) -> tuple[str, Any, Any]:
        report = gather(tables, contract, week, now=ctx.clock(), attribution=summary, wins=wins)
        return html(report), summary, wins

    # the page is kept with the parts it was made of: its key names them (parts computed again
    # make a new page), and holding them keeps their ids from being reused while it is kept
    made, _, _ = await compute(
        ctx, ("report", week.label, now.date().isoformat(), id(summary), id(wins)), page
    )
    return HTMLResponse(made)
