"""The weekly report as one self-contained HTML page, and as a PDF drawn from that page.

The page has its CSS inline and its charts as inline SVG, so it can be mailed, archived or
opened with no network. The PDF is that same page laid out by WeasyPrint, a pure-Python
renderer that reads HTML and CSS (paged media included) and draws SVG itself; it needs Pango
from the system (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from baton import __version__
from baton.analytics.funnel import OVERALL
from baton.errors import BatonError
from baton.report.charts import (
    Chart,
    attribution_chart,
    funnel_chart,
    goals_chart,
    rejections_chart,
    sla_chart,
)
from baton.report.gather import WeeklyReport
from baton.report.wins import Win, WinTouch

#: The week-in-numbers tiles: metric of :data:`baton.analytics.goals.METRICS`, label, money?
TILES = (
    ("leads", "new leads", False),
    ("mqls", "MQLs", False),
    ("sqls", "SQLs", False),
    ("opportunities", "opportunities opened", False),
    ("pipeline", "pipeline opened", True),
    ("customers", "deals won", False),
    ("revenue", "revenue won", True),
)
#: What to install when the PDF renderer is missing or cannot load its system libraries.
PDF_HELP = (
    "the PDF report needs WeasyPrint and the Pango library: run `pip install 'baton[pdf]'` "
    "(or `pip install 'weasyprint>=62,<71'`) and, on Debian or Ubuntu, "
    "`apt-get install -y libpango-1.0-0 libpangoft2-1.0-0`; or write HTML with --format html"
)


def charts(report: WeeklyReport) -> dict[str, Chart | None]:
    """Every chart of the report by key; None where its section has nothing to draw."""
    labels = {s.key: s.label for s in report.contract.stages}
    result = report.attribution
    return {
        "goals": goals_chart(report.goals),
        "funnel": funnel_chart(report.funnel, labels),
        "sla": sla_chart(report.sla.sales, report.contract.sla.sales.first_touch_hours),
        "rejections": rejections_chart(report.rejections),
        "attribution": attribution_chart(result.credit, result.models, report.currency),
    }


def html(report: WeeklyReport, *, scripts: tuple[str, ...] = ()) -> str:
    """The report as a self-contained HTML page, its charts inline SVG.

    With ``scripts`` (addresses of Vega, Vega-Lite, vega-embed and a script that draws each
    ``script[data-chart]`` block into the element it names, as the dashboard serves them), the
    charts are left to the browser: each is a Vega-Lite spec in a JSON block, and nothing is
    drawn here (about 0.1 s a chart saved; the dashboard's report page). The page loads those
    scripts, so it is no longer self-contained.
    """
    drawn = charts(report)
    zone = report.contract.business_hours.zone
    env = _environment(report.currency)

    def chart(key: str, empty: str) -> Markup:
        found = drawn[key]
        if found is None:
            return Markup('<p class="empty">{}</p>').format(empty.capitalize() + ".")
        if scripts:
            # Vega names the chart it draws by its description (its own label would replace
            # ours); no "</script>" inside the block
            spec = json.dumps({**json.loads(found.spec), "description": found.title})
            return Markup(
                '<figure class="chart" id="chart-{0}"><div id="chart-{0}-drawn" role="img" '
                'aria-label="{1}"></div><script type="application/json" '
                'data-chart="chart-{0}-drawn">{2}</script></figure>'
            ).format(key, found.title, Markup(spec.replace("</", "<\\/")))
        return Markup('<figure class="chart" id="chart-{}">{}</figure>').format(
            key, Markup(found.svg)
        )

    template = env.get_template("weekly.html.j2")
    return template.render(
        r=report, zone=zone, tiles=TILES, chart=chart, overall=OVERALL, version=__version__,
        scripts=scripts,
        stages={s.key: s.label for s in report.contract.stages}, terms=report.contract.sla,
    )  # fmt: skip


def pdf(page: str) -> bytes:
    """Lay ``page`` (the report's HTML) out as a PDF with WeasyPrint.

    Raises
    ------
    BatonError
        When WeasyPrint is not installed or cannot load Pango, saying what to install.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint found, Pango not
        raise BatonError(f"{PDF_HELP} ({str(exc).splitlines()[0]})") from exc
    # nothing to fetch: the page holds its CSS and charts; a stray link must not reach out
    document = weasyprint.HTML(string=page, url_fetcher=_no_fetch)
    written: bytes = document.write_pdf()
    return written


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the report fetches nothing; {url} was left out")


@lru_cache(maxsize=8)
def _environment(currency: str) -> jinja2.Environment:
    """The template environment for ``currency``, made once (compiling the template took
    more time than rendering it)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("baton.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=_num, pct=_pct, day=_day, moment=_moment, goalstatus=_goal_status, short=_short,
        money=lambda v, cur=currency: _money(v, cur),
        goalnum=lambda v, metric: _money(v, currency) if metric in ("revenue", "pipeline") else _num(v),
        touch_groups=touch_groups,
    )  # fmt: skip
    return env


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value: Any, digits: int = 0) -> str:
    return "—" if _missing(value) else f"{float(value):,.{digits}f}"


def _pct(value: Any) -> str:
    return "—" if _missing(value) else f"{float(value):.1%}"


def _money(value: Any, currency: str) -> str:
    return "—" if _missing(value) else f"{currency} {float(value):,.0f}"


def _day(value: dt.date | dt.datetime) -> str:
    return f"{value:%a %d %b %Y}"


def _short(value: dt.datetime, zone: ZoneInfo) -> str:
    return f"{value.astimezone(zone):%d %b}"


def _moment(value: dt.datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "—"
    return f"{value.astimezone(zone):%a %d %b %Y, %H:%M}"


def _goal_status(goal: Any) -> str:
    labels = {"ended": ("met", "missed"), "in progress": ("on track", "behind")}
    pair = labels.get(goal.state, (goal.state, goal.state))
    return str(escape(pair[0] if goal.on_track else pair[1]))


@dataclass(frozen=True)
class TouchGroup:
    """Touches of a won deal that hold no role, summed per channel (the W's middle share)."""

    channel: str
    count: int
    first: dt.datetime
    last: dt.datetime
    share: float
    credit: float


def touch_groups(win: Win) -> tuple[list[WinTouch], list[TouchGroup]]:
    """A deal's role-holding touches one by one, and the rest summed per channel.

    A long journey has dozens of touches sharing the W's 10%; listing each would hide the few
    that carried the deal.
    """
    key = [t for t in win.touches if t.roles or t.touch_id is None]
    rest: dict[str, list[WinTouch]] = {}
    for t in win.touches:
        if not (t.roles or t.touch_id is None):
            rest.setdefault(t.channel, []).append(t)
    groups = [
        TouchGroup(
            channel,
            len(ts),
            min(t.at for t in ts if t.at),
            max(t.at for t in ts if t.at),
            sum(t.share for t in ts),
            sum(t.credit for t in ts),
        )
        for channel, ts in sorted(rest.items(), key=lambda kv: -sum(t.share for t in kv[1]))
    ]
    return key, groups


def check_pdf_renderer() -> None:
    """Raise :class:`BatonError` naming what to install when PDFs cannot be made here."""
    pdf("<p>check</p>")
