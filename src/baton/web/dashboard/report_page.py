"""The weekly alignment report in the dashboard: ``/report?week=2026-W47``.

The page is the report's own HTML, made by :func:`baton.report.render_html` (the same page
``baton report --format html`` writes), computed once per week and cached with the other
analytics. Until the report module is installed the route answers 404 saying so, and the
menu keeps its entry.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract.model import Contract
from baton.errors import BatonError
from baton.service.web_users import Viewer
from baton.web.context import Ctx
from baton.web.dashboard.auth import Refused, page_for
from baton.web.dashboard.common import compute, contract_now, refused

router = APIRouter(include_in_schema=False)

MISSING = (
    "The weekly report is not part of this installation of Baton (the baton.report module, "
    "which renders it, could not be imported). Install a version of Baton that has "
    "`baton report`, then reload this page."
)


def _renderer() -> Any:
    try:
        module = importlib.import_module("baton.report")
        return module.render_html
    except (ImportError, AttributeError):
        raise Refused(404, "Weekly report not available", MISSING) from None


def _week(text: str | None, zone: Any, now: dt.datetime) -> Period:
    if text:
        found = Period.parse(text, zone)
        if "-W" not in found.label:
            raise Refused(
                422,
                "Check what you entered",
                f'week "{text}" is not an ISO week; write e.g. 2026-W47',
            )
        return found
    last_week = now.astimezone(zone).date() - dt.timedelta(days=7)
    return Period.containing(last_week, "week", zone)


def _render(
    render_html: Any, tables: Tables, contract: Contract, week: Period, now: dt.datetime
) -> str:
    """Call ``render_html`` with what it asks for: a gathered report, or the parts of one."""
    names = list(inspect.signature(render_html).parameters)
    if names and names[0] == "report":
        gather = importlib.import_module("baton.report.gather").gather
        return str(render_html(gather(tables, contract, week, now=now)))
    offered = {"tables": tables, "contract": contract, "week": week, "now": now}
    return str(render_html(**{k: v for k, v in offered.items() if k in names}))


@router.get("/report", response_class=HTMLResponse)
async def report_page(
    request: Request, ctx: Ctx, viewer: Annotated[Viewer, Depends(page_for("report"))]
) -> HTMLResponse:
    render_html = _renderer()
    contract = await contract_now(ctx)
    now = ctx.clock()
    try:
        week = _week(request.query_params.get("week"), contract.business_hours.zone, now)
    except BatonError as exc:
        raise refused(exc) from exc
    html = await compute(
        ctx, ("report", week.label, now.date().isoformat()),
        lambda t: _render(render_html, t, contract, week, now),
    )  # fmt: skip
    return HTMLResponse(html)
