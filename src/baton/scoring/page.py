"""The evaluation as one self-contained HTML page: tables and four charts, nothing fetched.

The charts (ROC curves, calibration by decile, cumulative gain, lift by decile) are drawn as
inline SVG here rather than with a charting library: they are four line charts on fixed
axes, the page then needs no script, no network and no extra dependency (matplotlib would
add tens of megabytes to every install for these), and the output is plain text a test can
read back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from baton.scoring.artifact import ModelCard
from baton.scoring.evaluate import Contender, Evaluation

COLORS = ("#1f5fa8", "#d9730d", "#2e8540", "#8e44ad")
WIDTH, HEIGHT, PAD = 420, 300, 48

Series = tuple[str, Sequence[float], Sequence[float], str]


def chart(
    title: str,
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    y_max: float = 1.0,
    diagonal: bool = False,
    reference: float | None = None,
    legend: str = "top-left",
) -> str:
    """A line chart as an SVG element: x from 0 to 1, y from 0 to ``y_max``.

    ``legend`` is where the names go, away from the lines: ``top-left``, ``top-right`` or
    ``bottom-right``.
    """

    def x(v: float) -> float:
        return PAD + v * (WIDTH - PAD - 12)

    def y(v: float) -> float:
        return HEIGHT - PAD + 8 - v / y_max * (HEIGHT - PAD - 20)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{WIDTH / 2}" y="14" text-anchor="middle" class="title">{escape(title)}</text>',
    ]
    for i in range(6):
        tx, ty = i / 5, y_max * i / 5
        parts.append(
            f'<line x1="{x(0)}" y1="{y(ty):.1f}" x2="{x(1)}" y2="{y(ty):.1f}" class="grid"/>'
        )
        parts.append(f'<text x="{x(0) - 6}" y="{y(ty) + 4:.1f}" text-anchor="end">{ty:.2g}</text>')
        parts.append(
            f'<text x="{x(tx):.1f}" y="{y(0) + 16:.1f}" text-anchor="middle">{tx:.1f}</text>'
        )
    parts.append(
        f'<text x="{x(0.5):.1f}" y="{HEIGHT - 4}" text-anchor="middle">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text transform="translate(12 {y(y_max / 2):.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    if diagonal:
        parts.append(
            f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(min(1.0, y_max))}" class="ref"/>'
        )
    if reference is not None:
        level = f"{y(reference):.1f}"
        parts.append(f'<line x1="{x(0)}" y1="{level}" x2="{x(1)}" y2="{level}" class="ref"/>')
    for name, xs, ys, color in series:
        points = " ".join(f"{x(a):.1f},{y(min(b, y_max)):.1f}" for a, b in zip(xs, ys, strict=True))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2">'
            f"<title>{escape(name)}</title></polyline>"
        )
    left = x(0) + 8 if legend == "top-left" else x(1) - 150
    top = y(0) - 14 * len(series) - 6 if legend == "bottom-right" else 24.0
    for i, (name, _, _, color) in enumerate(series):
        parts.append(
            f'<rect x="{left:.1f}" y="{top + 14 * i:.1f}" width="10" height="3" fill="{color}"/>'
        )
        parts.append(f'<text x="{left + 14:.1f}" y="{top + 5 + 14 * i:.1f}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _series(contenders: Sequence[Contender], pick: str) -> list[Series]:
    out: list[Series] = []
    for i, c in enumerate(contenders):
        color = COLORS[i % len(COLORS)]
        d = c.deciles
        if pick == "roc":
            out.append((c.name, list(c.roc["fpr"]), list(c.roc["tpr"]), color))
        elif pick == "calibration":
            out.append((c.name, list(d["mean_predicted"]), list(d["observed"]), color))
        elif pick == "gain":
            share = [0.0, *(d["leads"].cumsum() / d["leads"].sum())]
            out.append((c.name, share, [0.0, *d["gain"]], color))
        else:
            share = list((d["leads"].cumsum() - d["leads"] / 2) / d["leads"].sum())
            out.append((c.name, share, list(d["lift"]), color))
    return out


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pct(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.1%}"


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .6em 0; }
th, td { padding: .2em .7em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
svg text { font-size: 11px; fill: #333; } svg .title { font-size: 13px; font-weight: 600; }
svg .grid { stroke: #eee; } svg .ref { stroke: #999; stroke-dasharray: 4 3; }
.note { color: #555; }
"""


def render(evaluation: Evaluation, card: ModelCard | None = None) -> str:
    """The evaluation page as HTML text."""
    contenders = evaluation.contenders
    title = "Lead score evaluation" + (f": {card.name}" if card else "")
    metrics = _table(
        ["model", "ROC AUC", "PR AUC", "Brier score"],
        [[c.name, f"{c.roc_auc:.4f}", f"{c.pr_auc:.4f}", f"{c.brier:.4f}"] for c in contenders],
    )
    lift_max = max(max(c.deciles["lift"].max() for c in contenders), 1.0)
    charts = [
        chart(
            "ROC curve",
            _series(contenders, "roc"),
            x_label="false positive rate",
            y_label="true positive rate",
            diagonal=True,
            legend="bottom-right",
        ),
        chart(
            "Calibration by decile",
            _series(contenders, "calibration"),
            x_label="mean predicted probability",
            y_label="share converted",
            diagonal=True,
        ),
        chart(
            "Cumulative gain",
            _series(contenders, "gain"),
            x_label="share of leads, best first",
            y_label="share of conversions",
            diagonal=True,
            legend="bottom-right",
        ),
        chart(
            "Lift by decile",
            _series(contenders, "lift"),
            x_label="share of leads, best first",
            y_label="lift",
            y_max=math.ceil(lift_max),
            reference=1.0,
            legend="top-right",
        ),
    ]
    deciles = []
    for c in contenders:
        rows = [
            [
                str(r.decile),
                f"{r.leads:,}",
                f"{r.converted:,}",
                _pct(r.mean_predicted),
                _pct(r.observed),
                f"{r.lift:.2f}",
                _pct(r.gain),
            ]
            for r in c.deciles.itertuples()
        ]
        deciles.append(
            f"<h3>{escape(c.name)}</h3>"
            + _table(
                ["decile", "leads", "converted", "predicted", "observed", "lift", "gain"], rows
            )
        )
    about = [
        f"{evaluation.leads:,} held-out leads, {evaluation.converted:,} converted "
        f"({evaluation.base_rate:.1%}); {escape(evaluation.protocol)}.",
    ]
    if evaluation.window:
        w = evaluation.window
        about.append(
            f"Held-out leads from {escape(w.get('first', ''))} to "
            f"{escape(w.get('last', ''))} (by {escape(w.get('by', ''))})."
        )
    if card:
        about.append(
            f"Model trained {escape(card.created)} on {escape(str(card.data['name']))} "
            f"({card.data['labelled']:,} labelled leads); parameters "
            f"{escape(card.params_hash[:12])}; LightGBM {escape(card.versions['lightgbm'])}."
        )
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            *(f'<p class="note">{a}</p>' for a in about),
            "<h2>Metrics</h2>",
            metrics,
            '<h2>Charts</h2><div class="charts">',
            *charts,
            "</div>",
            "<h2>Deciles (highest scores first)</h2>",
            *deciles,
            "</body></html>",
        ]
    )
