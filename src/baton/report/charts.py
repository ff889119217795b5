"""The report's charts: Vega-Lite specs drawn to SVG offline by ``vl-convert-python``.

vl-convert bundles Vega, Vega-Lite and a JavaScript engine, so nothing is fetched when a chart
is drawn; the SVG goes inline into the page, where browsers show it and WeasyPrint draws it into
the PDF (its titles and labels stay text, so they can be searched). The dashboard's report page
leaves the drawing to the browser instead, with the same specs and the Vega-Lite it ships.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import pandas as pd

from baton.analytics.funnel import OVERALL
from baton.errors import BatonError

#: Vega-Lite's schema the specs are written for (vl-convert bundles it).
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
WIDTH = 480
#: Colours: marketing, sales, shared (a qualitative set readable on white and in grey print).
BLUE, ORANGE, GREY, RED, GREEN = "#2b6cb0", "#c05621", "#718096", "#c53030", "#2f855a"
_FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


@dataclass(frozen=True)
class Chart:
    """A chart: its title (also its accessible name) and its full Vega-Lite spec, as JSON with
    the data inlined. The SVG is drawn when first asked for: a page whose browser draws the
    chart (the dashboard's report) never pays for it."""

    key: str
    title: str
    spec: str

    @cached_property
    def svg(self) -> str:
        """The chart drawn to inline SVG, its ids prefixed by its key."""
        return _scoped(_svg(self.spec), self.key, self.title)


def draw(key: str, title: str, spec: dict[str, Any]) -> Chart:
    """``spec`` (without title or data schema; both are added) as a :class:`Chart`."""
    full = {
        "$schema": SCHEMA,
        "title": {"text": title, "anchor": "start", "fontSize": 14},
        "config": {"font": _FONT, "view": {"stroke": None}, "axis": {"labelFontSize": 11}},
        "background": "white",
        **spec,
    }
    return Chart(key, title, json.dumps(full, sort_keys=True, default=str))


@lru_cache(maxsize=64)
def _svg(spec: str) -> str:
    """A full spec (data included, as JSON) drawn; the charts drawn lately are kept, so a
    report made again after a change redraws only the charts whose numbers moved (drawing one
    takes about 60-100 ms)."""
    try:
        import vl_convert
    except ImportError as exc:  # a runtime dependency, so only a broken install lands here
        raise BatonError(
            "the report's charts need the vl-convert-python package; run "
            "`pip install 'vl-convert-python>=1.6,<2'` in Baton's environment"
        ) from exc
    return str(vl_convert.vegalite_to_svg(json.loads(spec)))


def _scoped(svg: str, key: str, title: str) -> str:
    """The SVG with its ids prefixed by ``key``, so charts inline in one page cannot clash."""
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{key}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{key}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{key}-\1"', svg)
    # an accessible name; the page also captions it
    return svg.replace("<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _values(frame: pd.DataFrame) -> list[dict[str, Any]]:
    clean = frame.astype(object).where(frame.notna(), None)
    return list(clean.to_dict("records"))


def goals_chart(goals: pd.DataFrame) -> Chart | None:
    """Each goal's share of its target, against the share of its period gone."""
    if goals.empty:
        return None
    rows = goals.assign(goal=goals["label"].where(goals["label"] != "", goals["key"]))
    spec = {
        "width": WIDTH,
        "data": {"values": _values(rows[["goal", "share", "expected_share", "period"]])},
        "encoding": {"y": {"field": "goal", "type": "nominal", "title": None, "sort": None}},
        "layer": [
            {
                "mark": {"type": "bar", "color": BLUE, "height": {"band": 0.6}},
                "encoding": {
                    "x": {"field": "share", "type": "quantitative", "title": "share of target",
                          "axis": {"format": "%"}, "scale": {"domainMin": 0, "domainMax": 1}},
                },
            },
            {
                "mark": {"type": "tick", "color": RED, "thickness": 3, "size": 26},
                "encoding": {"x": {"field": "expected_share", "type": "quantitative"}},
            },
        ],
    }  # fmt: skip
    return draw("goals", "Goals: share of target reached (red tick: share of period gone)", spec)


def funnel_chart(funnel: pd.DataFrame, labels: dict[str, str]) -> Chart | None:
    """How many leads entered each stage in the week, and how many of them went on."""
    if funnel.empty:
        return None
    rows = []
    for r in funnel.itertuples(index=False):
        stage = labels.get(r.stage, r.stage)
        rows.append({"stage": stage, "what": "entered", "leads": int(r.entered)})
        rows.append({"stage": stage, "what": "went on", "leads": int(r.converted)})
    order = list(dict.fromkeys(row["stage"] for row in rows))
    spec = {
        "width": WIDTH,
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "stage", "type": "nominal", "sort": order, "title": None},
            "yOffset": {"field": "what", "sort": ["entered", "went on"]},
            "x": {"field": "leads", "type": "quantitative", "title": "leads"},
            "color": {"field": "what", "type": "nominal", "title": None,
                      "scale": {"domain": ["entered", "went on"], "range": [BLUE, GREEN]},
                      "legend": {"orient": "bottom"}},
        },
    }  # fmt: skip
    return draw("funnel", "Funnel: leads entering each stage this week, and going on", spec)


def sla_chart(sales: pd.DataFrame, hours: float) -> Chart | None:
    """The week's MQLs per rep: first touched within the SLA, breached, or still open."""
    reps = sales[sales["team"] != OVERALL]
    if reps.empty:
        return None
    rows = [
        {"rep": r.rep, "state": state, "mqls": int(getattr(r, column))}
        for r in reps.itertuples(index=False)
        for state, column in (("within", "within"), ("breached", "breached"), ("open", "open"))
    ]
    spec = {
        "width": WIDTH,
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "rep", "type": "nominal", "title": None},
            "x": {"field": "mqls", "type": "quantitative", "title": "MQLs", "stack": "zero",
                  "axis": {"format": "d", "tickMinStep": 1}},
            "color": {"field": "state", "type": "nominal", "title": None,
                      "scale": {"domain": ["within", "breached", "open"],
                                "range": [GREEN, RED, GREY]},
                      "legend": {"orient": "bottom"}},
            "order": {"field": "state", "sort": "descending"},
        },
    }  # fmt: skip
    return draw("sla", f"Sales SLA: first touch within {hours:g} business hours, by rep", spec)


def rejections_chart(rejections: pd.DataFrame) -> Chart | None:
    """The week's rejections by reason, to recycled and to disqualified."""
    if rejections.empty:
        return None
    rows = [
        {"reason": r.label, "to": to, "leads": int(getattr(r, to))}
        for r in rejections.itertuples(index=False)
        for to in ("recycled", "disqualified")
    ]
    order = list(rejections["label"])
    spec = {
        "width": WIDTH,
        "data": {"values": rows},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "reason", "type": "nominal", "sort": order, "title": None},
            "x": {"field": "leads", "type": "quantitative", "title": "leads sent back",
                  "axis": {"format": "d", "tickMinStep": 1}},
            "color": {"field": "to", "type": "nominal", "title": None,
                      "scale": {"domain": ["recycled", "disqualified"], "range": [ORANGE, GREY]},
                      "legend": {"orient": "bottom"}},
        },
    }  # fmt: skip
    return draw("rejections", "Top rejection reasons this week", spec)


def attribution_chart(credit: pd.DataFrame, models: list[str], currency: str) -> Chart | None:
    """Won revenue credited to each channel, one bar per model."""
    if credit.empty or not float(credit["value"].abs().sum()):
        return None
    rows = credit[["model", "channel", "value"]]
    spec = {
        "width": WIDTH,
        "height": 36 * credit["channel"].nunique(),
        "data": {"values": _values(rows)},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "channel", "type": "nominal", "title": None},
            "yOffset": {"field": "model", "sort": models},
            "x": {"field": "value", "type": "quantitative", "title": f"won revenue ({currency})"},
            "color": {"field": "model", "type": "nominal", "title": "model",
                      "sort": models, "legend": {"orient": "bottom"}},
        },
    }  # fmt: skip
    return draw("attribution", "Attribution: won revenue by channel, models side by side", spec)
