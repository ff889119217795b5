"""The weekly alignment report in the dashboard: ``/report?week=2026-W47``.

The page is the report's own HTML, made as :func:`baton.report.render_html` makes it (the same
page ``baton report --format html`` writes), and cached with the other analytics in three
parts: the attribution summary and the wins, which no dashboard action changes, and the rest
(numbers, goals, funnel, SLA, rejections: :func:`baton.report.gather.gather_numbers`), which
an accepted or rejected lead changes. After an action only the rest is computed again, and
only its queries run: they were built and compiled when it was first computed. Last week's
report is computed ahead when the server starts, and the report of the week before the one
shown when a report is shown (the week picker's next choice most often). The charts are drawn
by the browser, with the Vega-Lite the dashboard ships, from the same specs the command draws
to SVG (drawing them here took about 0.1 s each, every time the page was made again).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from baton.analytics.memo import Built
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.contract.model import Contract
from baton.domain.model import Clock
from baton.errors import BatonError
from baton.report.gather import gather_numbers, summary_query
from baton.report.render import html
from baton.report.week import check_started, last_complete_week, parse_week, week_before
from baton.report.wins import week_wins
from baton.service.attribution import attribute
from baton.service.web_users import Viewer
from baton.web.context import Ctx
from baton.web.dashboard.analytics import TOPICS, Analytics, checkpoint
from baton.web.dashboard.auth import page_for
from baton.web.dashboard.common import analytics_of, compute, contract_now, refused
from baton.web.dashboard.pages import Section

router = APIRouter(include_in_schema=False)
#: What draws the report's charts in the browser (see base.html): nothing from elsewhere.
SCRIPTS = (
    "/static/vendor/vega.min.js",
    "/static/vendor/vega-lite.min.js",
    "/static/vendor/vega-embed.min.js",
    "/static/baton.js",
)


def _week(text: str | None, zone: Any, now: dt.datetime) -> Period:
    """The week asked for, read as ``baton report --week`` reads it; last week by default."""
    if not text:
        return last_complete_week(now, zone)
    week = parse_week(text, zone)
    check_started(week, now)
    return week


def _parts(contract: Contract, week: Period) -> list[Section]:
    """The report's parts no dashboard action changes: the attribution summary, the wins."""
    return [
        (
            ("report", week.label, "attribution"),
            lambda t: attribute(t, contract, summary_query(week)),
            (),
        ),
        (("report", week.label, "wins"), lambda t: week_wins(t, contract, week), ()),
    ]


def _numbers(contract: Contract, week: Period, clock: Clock, built: Built) -> Section:
    """The rest of the report (:func:`gather_numbers`), which an accepted or rejected lead
    changes; made once a day (the report says when it was made)."""
    now = clock()
    return (
        ("report", week.label, now.date().isoformat(), "numbers"),
        # computed ahead, it stops between its parts once an action has made it useless
        lambda t: gather_numbers(t, contract, week, now=clock(), built=built, advance=checkpoint),
        TOPICS,
    )


def _ahead(analytics: Analytics, contract: Contract, week: Period, clock: Clock) -> None:
    """Compute the report of ``week`` ahead: kept until an action drops its numbers, and
    then they need only their queries run again (they were built and compiled)."""
    analytics.ahead([*_parts(contract, week), _numbers(contract, week, clock, analytics.built)])


def warm(analytics: Analytics, contract: Contract, clock: Clock) -> None:
    """Compute last week's report ahead, so the first report asked for does not wait for it."""
    _ahead(analytics, contract, last_complete_week(clock(), contract.business_hours.zone), clock)


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
    summary_part, wins_part = _parts(contract, week)
    summary = await compute(ctx, *summary_part)
    wins = await compute(ctx, *wins_part)
    analytics = analytics_of(ctx)
    numbers = await compute(ctx, *_numbers(contract, week, ctx.clock, analytics.built))
    # the week before: the week picker's next choice most often
    _ahead(analytics, contract, week_before(week), ctx.clock)

    def page(_tables: Tables) -> tuple[str, Any, Any, Any]:
        return html(numbers.report(summary, wins), scripts=SCRIPTS), numbers, summary, wins

    # the page is kept with the parts it was made of: its key names them (parts computed again
    # make a new page), and holding them keeps their ids from being reused while it is kept
    made, *_ = await compute(
        ctx, ("report", week.label, id(numbers), id(summary), id(wins)), page, ()
    )
    return HTMLResponse(made)
