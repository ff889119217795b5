"""The weekly alignment report (``baton report``): its content on hand-made and demo data, the
HTML page with every chart inline as SVG, and a real PDF whose pages render with pdftoppm."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from tests.fixtures import ten_leads
from typer.testing import CliRunner

from baton.analytics.source import Tables, from_store
from baton.cli import app
from baton.contract import default_contract_text, parse_contract
from baton.demo import run_demo
from baton.errors import InvalidInput
from baton.report import render_html, resolve_week, weekly_report
from baton.report.rejections import top_rejections
from baton.report.render import charts, html
from baton.report.week import last_complete_week, parse_week
from baton.report.wins import week_wins
from baton.store.engine import make_engine
from baton.store.migrate import upgrade
from baton.store.uow import UnitOfWork

runner = CliRunner()
CONTRACT = parse_contract(default_contract_text())
ZONE = CONTRACT.business_hours.zone
#: The titles of the report's charts: each must be in the page and in the PDF's text.
CHART_TITLES = {
    "goals": "Goals: share of target reached",
    "funnel": "Funnel: leads entering each stage this week",
    "sla": "Sales SLA: first touch within 4 business hours, by rep",
    "rejections": "Top rejection reasons this week",
    "attribution": "Attribution: won revenue by channel, models side by side",
}
#: The demo's window ends here; 2026-W47 (16 to 22 November) is inside it and has wins.
DEMO_END = dt.date(2026, 11, 28)
DEMO_NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
DEMO_WEEK = "2026-W47"


# -- weeks -------------------------------------------------------------------------------------
def test_iso_weeks_parse_in_the_contracts_time_zone() -> None:
    week = parse_week("2026-W47", ZONE)
    assert (week.label, week.first, week.end) == (
        "2026-W47",
        dt.date(2026, 11, 16),
        dt.date(2026, 11, 23),
    )
    # Monday midnight in New York (UTC-5 in November)
    assert week.bounds()[0] == dt.datetime(2026, 11, 16, 5, 0)
    assert parse_week("2026w5", ZONE).label == "2026-W05"
    assert parse_week("2020-W53", ZONE).first == dt.date(2020, 12, 28)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "2026-07",
            '"2026-07" is not an ISO week; write the year, "-W" and the week number, e.g. 2026-W47',
        ),
        ("W47", '"W47" is not an ISO week'),
        ("2026-W54", '"2026-W54": 2026 has ISO weeks 1 to 53'),
        ("2021-W53", '"2021-W53": 2021 has ISO weeks 1 to 52'),
        ("2026-W00", "2026 has ISO weeks 1 to 53"),
    ],
)
def test_a_bad_week_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_week(text, ZONE)
    assert message in str(caught.value)


def test_the_default_week_is_the_last_complete_one() -> None:
    friday = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    assert last_complete_week(friday, ZONE).label == "2026-W46"
    # Monday 02:00 UTC is still Sunday evening in New York: W47 is not over there yet
    monday = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
    assert last_complete_week(monday, ZONE).label == "2026-W46"
    assert last_complete_week(monday + dt.timedelta(hours=4), ZONE).label == "2026-W47"
    with pytest.raises(InvalidInput, match="has not started yet"):
        resolve_week("2026-W48", CONTRACT, friday)
    assert resolve_week("2026-W47", CONTRACT, friday).label == "2026-W47"  # this week, so far


# -- content on the ten-lead history (SQLite and PostgreSQL) -----------------------------------
def test_a_won_deal_appears_with_its_touches_and_rep(ten_lead_tables: Tables) -> None:
    # O1 (Acme, Ann, 10,000) was won on 14 August, week 2026-W33. Acme's touches before it:
    # L1's paid_search form on 07-01 (first touch, and L1 was created then), L2's paid_search
    # form on 07-02 (middle), L1's events visit on 07-09 (the last before O1 opened on 07-10).
    # W-shaped: 30% first + 30% lead = 60%, the middle's 10%, 30% opportunity.
    wins = week_wins(ten_lead_tables, CONTRACT, parse_week("2026-W33", ZONE))
    assert len(wins) == 1
    win = wins[0]
    assert (win.name, win.account, win.amount, win.rep, win.team) == (
        "Deal O1",
        "Acme",
        10_000.0,
        "Ann",
        "East",
    )
    assert win.closed_at == dt.datetime(2026, 8, 14, 12, tzinfo=dt.UTC)
    touches = [(t.at, t.channel, t.campaign, t.roles) for t in win.touches]
    assert touches == [
        (
            dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC),
            "paid_search",
            "paid_search campaign",
            ("first touch", "lead created"),
        ),
        (dt.datetime(2026, 7, 2, 12, tzinfo=dt.UTC), "paid_search", "paid_search campaign", ()),
        (
            dt.datetime(2026, 7, 9, 12, tzinfo=dt.UTC),
            "events",
            "events campaign",
            ("opportunity created", "deal won"),
        ),
    ]
    assert [t.share for t in win.touches] == pytest.approx([0.6, 0.1, 0.3])
    assert [t.credit for t in win.touches] == pytest.approx([6_000, 1_000, 3_000])
    assert win.marketing_credit == pytest.approx(10_000)
    assert win.channels == ["paid_search", "events"]
    # a week with no win has none; the week of O5 (30 July) has Umbrella's deal
    assert week_wins(ten_lead_tables, CONTRACT, parse_week("2026-W34", ZONE)) == []
    [o5] = week_wins(ten_lead_tables, CONTRACT, parse_week("2026-W31", ZONE))
    assert (o5.name, o5.rep, o5.account) == ("Deal O5", "Ann", "Umbrella")


def test_rejection_reasons_of_the_week(ten_lead_tables: Tables) -> None:
    # L3 recycled on 07-20 (no-budget), L8 disqualified on 07-21 (not-icp): week 2026-W30
    frame = top_rejections(ten_lead_tables, CONTRACT, parse_week("2026-W30", ZONE))
    rows = {
        r.reason: (r.label, r.recycled, r.disqualified, r.rejections) for r in frame.itertuples()
    }
    assert rows == {
        "no-budget": ("No budget", 1, 0, 1),
        "not-icp": ("Not our ideal customer", 0, 1, 1),
    }
    assert frame["share"].tolist() == [0.5, 0.5]
    assert top_rejections(ten_lead_tables, CONTRACT, parse_week("2026-W33", ZONE)).empty


def test_the_page_reads_the_store_through_an_engine(sqlite_engine: Engine, clock: object) -> None:
    ten_leads.load(sqlite_engine, clock)
    page = render_html(sqlite_engine, "2026-W33", clock)  # type: ignore[arg-type]
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "Week 2026-W33: Mon 10 Aug 2026 to Sun 16 Aug 2026" in text
    assert "Deal O1 · Acme · USD 10,000" in text
    assert "Sales: Ann (East) closed it." in text
    assert "Marketing: 3 touches across paid_search, events." in text
    assert "USD 6,000" in text and "first touch, lead created" in text
    with UnitOfWork(sqlite_engine) as uow:  # the dashboard passes its unit of work
        assert render_html(uow, "2026-W33", clock) == page  # type: ignore[arg-type]


def test_the_cli_refuses_bad_options_in_one_line(ten_lead_folder: Path) -> None:
    bad = runner.invoke(app, ["report", "--week", "2026-47"])
    assert bad.exit_code == 1 and '--week "2026-47" is not an ISO week' in bad.output
    fmt = runner.invoke(app, ["report", "--week", "2026-W33", "--format", "docx"])
    assert fmt.exit_code == 1 and "use html or pdf" in fmt.output
    folder = runner.invoke(app, ["report", "--week", "2026-W33", "--out", "nowhere/r.html"])
    assert folder.exit_code == 1 and "the folder nowhere does not exist" in folder.output
    ok = runner.invoke(app, ["report", "--week", "2026-W33"])
    assert ok.exit_code == 0, ok.output
    assert "wrote baton-report-2026-W33.html" in ok.output and "1 deal won" in ok.output
    assert (ten_lead_folder / "baton-report-2026-W33.html").is_file()


# -- the demo: every chart, the HTML page and the PDF -----------------------------------------
@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite store holding a small demo (1,500 leads over three months to 28 November)."""
    folder = tmp_path_factory.mktemp("report-demo")
    engine = make_engine(f"sqlite:///{folder / 'baton.db'}")
    upgrade(engine)
    run_demo(
        engine, contract_text=default_contract_text(), clock=lambda: DEMO_NOW, seed=7,
        leads=1500, months=3, end=DEMO_END,
    )  # fmt: skip
    engine.dispose()
    return folder


@pytest.fixture
def demo_tables(demo_folder: Path) -> Iterator[Tables]:
    tables = from_store(f"sqlite:///{demo_folder / 'baton.db'}")
    try:
        yield tables
    finally:
        tables.close()


@pytest.fixture
def in_demo(demo_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The command line pointed at the demo store, in the demo's folder."""
    monkeypatch.chdir(demo_folder)
    monkeypatch.setenv("BATON_DATABASE_URL", f"sqlite:///{demo_folder / 'baton.db'}")
    monkeypatch.delenv("BATON_CONTRACT", raising=False)
    return demo_folder


def test_the_wins_add_up_to_the_attribution_summary(demo_tables: Tables) -> None:
    report = weekly_report(demo_tables, DEMO_WEEK, lambda: DEMO_NOW, contract=CONTRACT)
    assert report.complete and report.as_of == dt.datetime(2026, 11, 23, 5, tzinfo=dt.UTC)
    assert report.wins, "the demo week should have won deals"
    assert len(report.wins) == report.numbers["customers"]
    assert sum(w.amount or 0 for w in report.wins) == pytest.approx(report.numbers["revenue"])
    for win in report.wins:
        assert win.rep and win.touches
        assert sum(t.share for t in win.touches) == pytest.approx(1.0)
    # each touch's W-shaped credit, summed per channel, is the summary's W-shaped column
    credited: dict[str, float] = {}
    for win in report.wins:
        for touch in win.touches:
            credited[touch.channel] = credited.get(touch.channel, 0.0) + touch.credit
    credit = report.attribution.credit
    w_shaped = credit[credit["model"] == "w-shaped"].set_index("channel")["value"]
    assert {c: v for c, v in w_shaped.items() if v} == pytest.approx(credited)
    assert all(c is not None for c in charts(report).values()), "every chart has data"


def test_with_scripts_the_browser_draws_the_same_specs(demo_tables: Tables) -> None:
    report = weekly_report(demo_tables, DEMO_WEEK, lambda: DEMO_NOW, contract=CONTRACT)
    scripts = ("/static/vendor/vega.min.js", "/static/baton.js")
    page = html(report, scripts=scripts)
    assert "<svg" not in page  # nothing drawn here
    for src in scripts:
        assert f'<script src="{src}" defer></script>' in page
    drawn = charts(report)
    for key, title in CHART_TITLES.items():
        figure = re.search(rf'<figure class="chart" id="chart-{key}">(.*?)</figure>', page, re.S)
        assert figure is not None, f"no {key} chart"
        block = re.search(
            rf'<div id="chart-{key}-drawn" role="img" aria-label="([^"]*)"></div>'
            rf'<script type="application/json" data-chart="chart-{key}-drawn">(.*?)</script>',
            figure.group(1),
            re.S,
        )
        chart = drawn[key]
        assert chart is not None and chart.title.startswith(title)
        assert block is not None and block.group(1) == chart.title
        # the very spec the command draws to SVG, its title as the name Vega gives the chart
        assert json.loads(block.group(2)) == {**json.loads(chart.spec), "description": chart.title}


def test_html_holds_every_chart_as_inline_svg(in_demo: Path) -> None:
    result = runner.invoke(
        app, ["report", "--week", DEMO_WEEK, "--format", "html", "--out", "week.html"]
    )
    assert result.exit_code == 0, result.output
    page = (in_demo / "week.html").read_text(encoding="utf-8")
    assert page.count("<svg") == len(CHART_TITLES)
    for key, title in CHART_TITLES.items():
        figure = re.search(rf'<figure class="chart" id="chart-{key}">(.*?)</figure>', page, re.S)
        assert figure is not None, f"no {key} chart"
        assert figure.group(1).startswith("<svg") and title in figure.group(1)
    # self-contained: nothing to fetch, no script
    assert not re.search(r'<(script|link|img)\b|src="http|url\(http', page)


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="needs pdftoppm (Debian: poppler-utils)"
)
def test_pdf_pages_render_with_every_chart(in_demo: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["report", "--week", DEMO_WEEK, "--format", "pdf", "--out", "week.pdf"]
    )
    assert result.exit_code == 0, result.output
    pdf = in_demo / "week.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    assert pages >= 3
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages
    assert all(image.stat().st_size > 2_000 for image in images)  # drawn, not blank
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    for title in CHART_TITLES.values():
        assert title in text, f"the PDF lacks the chart {title!r}"
    assert "Wins: marketing and sales, credited together" in text
