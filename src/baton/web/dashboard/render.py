"""Jinja2 rendering for the dashboard: the templates shipped in the package and their filters.

Templates autoescape. Chart specs reach the page as JSON inside a ``<script type=
"application/json">`` block (escaped by :func:`json_script`), never as inline code, so a
campaign named ``</script>`` cannot break out.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from baton.analytics.kpis.catalogue import format_value

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent.parent / "static"

#: The navigation: (page key, path, label). Pages a role cannot see are left out of its menu.
NAV = (
    ("scoreboard", "/scoreboard", "Scoreboard"),
    ("funnel", "/funnel", "Funnel"),
    ("sla", "/sla", "Handoff & SLA"),
    ("leads", "/leads", "My leads"),
    ("feedback", "/feedback", "Feedback"),
    ("attribution", "/attribution", "Attribution"),
    ("contract", "/contract", "Contract"),
    ("report", "/report", "Weekly report"),
)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: Any, digits: int = 0) -> str:
    return "-" if _missing(value) else f"{float(value):,.{digits}f}"


def percent(value: Any, digits: int = 1) -> str:
    return "-" if _missing(value) else f"{float(value):.{digits}%}"


def when(value: Any, zone: Any = None) -> str:
    if _missing(value) or value is None:
        return "-"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        if zone is not None:
            value = value.astimezone(zone)
        return str(value.strftime("%Y-%m-%d %H:%M"))
    return str(value)


def json_script(data: Any) -> Markup:
    """JSON safe to put inside ``<script type="application/json">``."""
    text = json.dumps(data, default=str, allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def raw(value: Any) -> str:
    """A number as the machine reads it (``data-value`` attributes), empty when missing."""
    return "" if _missing(value) else repr(float(value))


#: Every dashboard page may load scripts and styles from this site only. Vega compiles chart
#: expressions with ``Function``, hence ``'unsafe-eval'``; vega-embed and htmx set inline styles.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(
    number=number, percent=percent, kpi_value=format_value, when=when, json_script=json_script, raw=raw
)


def render(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    """The page ``template`` with ``context``, the signed-in viewer and the menu they may see."""
    from baton.web.dashboard.auth import PAGES

    viewer = getattr(request.state, "viewer", None)
    nav = [
        (key, path, label)
        for key, path, label in NAV
        if viewer is not None and viewer.role in PAGES[key]
    ]
    body = environment.get_template(template).render(
        request=request, viewer=viewer, nav=nav, path=request.url.path, **context
    )
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)
