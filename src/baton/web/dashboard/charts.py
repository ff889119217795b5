"""Vega-Lite specs of the dashboard's charts: plain dicts with their data inlined.

The page embeds each spec with the vendored vega-embed (no CDN); every chart also has a table
beside it with the same numbers, so a screen reader or a keyboard user loses nothing.
"""

from __future__ import annotations

from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier; never fetched
BLUE, ORANGE = "#1f5fa8", "#b85c00"


def _base(
    title: str, values: list[dict[str, Any]], width: int = 560, height: int = 260
) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": width,
        "height": height,
        "data": {"values": values},
        "config": {
            "font": "system-ui, sans-serif",
            "axis": {"labelFontSize": 12, "titleFontSize": 12},
        },
    }


def funnel_chart(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Leads entering each stage of the main path, with the drop-off to the next stage."""
    spec = _base("Leads entering each stage, and the share lost before the next", steps)
    spec["layer"] = [
        {
            "mark": {"type": "bar", "color": BLUE},
            "encoding": {
                "y": {"field": "stage", "type": "nominal", "sort": None, "title": None},
                "x": {"field": "entered", "type": "quantitative", "title": "leads"},
                "tooltip": [
                    {"field": "stage"},
                    {"field": "entered", "format": ","},
                    {"field": "drop_off", "title": "lost before next stage", "format": ".1%"},
                ],
            },
        },
        {
            "mark": {"type": "text", "align": "left", "dx": 4, "color": "#222"},
            "encoding": {
                "y": {"field": "stage", "type": "nominal", "sort": None},
                "x": {"field": "entered", "type": "quantitative"},
                "text": {"field": "label"},
            },
        },
    ]
    return spec


def rejections_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rejected leads per month, stacked by reason."""
    spec = _base("Leads sales sent back, by month and reason", rows)
    spec["mark"] = "bar"
    spec["encoding"] = {
        "x": {"field": "month", "type": "ordinal", "title": "month"},
        "y": {
            "aggregate": "sum",
            "field": "leads",
            "type": "quantitative",
            "title": "leads rejected",
        },
        "color": {"field": "reason", "type": "nominal", "scale": {"scheme": "tableau10"}},
        "tooltip": [{"field": "month"}, {"field": "reason"}, {"field": "leads"}],
    }
    return spec


def attribution_chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each channel's share of the conversions under each model, side by side."""
    spec = _base("Share of the credit by channel, model beside model", rows, width=620, height=300)
    spec["mark"] = "bar"
    spec["encoding"] = {
        "y": {"field": "channel", "type": "nominal", "title": None},
        "yOffset": {"field": "model"},
        "x": {
            "field": "share",
            "type": "quantitative",
            "axis": {"format": "%"},
            "title": "share of conversions",
        },
        "color": {"field": "model", "type": "nominal", "scale": {"scheme": "tableau10"}},
        "tooltip": [{"field": "model"}, {"field": "channel"}, {"field": "share", "format": ".1%"}],
    }
    return spec
