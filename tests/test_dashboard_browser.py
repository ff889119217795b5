"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against a live
``baton serve`` (its own process) on a small demo store.

A sales rep sees only their leads, accepts one and rejects one with a reason, in place; the
marketing login finds that rejection on the Feedback page; a viewer is refused an action with
a message naming their role; the scoreboard's numbers are ``baton scoreboard --format json``'s.
Every page is photographed at 1280x800 into ``BATON_SCREENSHOTS`` (docs/screenshots for the
docs) or a temporary folder.

Chromium is the system's (``/usr/bin/chromium``, Debian's ``chromium`` package, installed by
``.ci/run``); Playwright never downloads a browser here. Without it the tests skip, unless
``BATON_REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.fixtures.dashboard import PASSWORD, DashboardStore, build
from tests.fixtures.live import ROOT, ProcessServer

from baton.store import tables as t
from baton.store.engine import make_engine
from baton.store.uow import UnitOfWork

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

playwright_api = pytest.importorskip("playwright.sync_api")


def _need_browser() -> None:
    if CHROMIUM.is_file():
        return
    reason = f"no Chromium at {CHROMIUM}: apt-get install -y chromium chromium-driver"
    if os.environ.get("BATON_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + "; BATON_REQUIRE_BROWSER=1 requires it")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> DashboardStore:
    _need_browser()
    return build(tmp_path_factory.mktemp("dashboard-browser"))


@pytest.fixture(scope="module")
def server(store: DashboardStore) -> Iterator[ProcessServer]:
    live = ProcessServer(store.url, store.path.parent)
    live.start()
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("BATON_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as play:
        launched = play.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def page_as(browser: object, server: ProcessServer, email: str) -> object:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.base)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/(leads|scoreboard)$"))
    return page


def shoot(page: object, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"))  # type: ignore[attr-defined]


def test_scoreboard_numbers_equal_the_cli(
    browser: object, server: ProcessServer, store: DashboardStore, shots: Path
) -> None:
    cli = subprocess.run(
        [sys.executable, "-m", "baton.cli", "scoreboard", "--format", "json"],
        env={**server.env}, cwd=store.path.parent, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    expected = {
        row["kpi"]: row["value"]
        for row in json.loads(cli.stdout)["kpis"]
        if row["group"] == "(all)"
    }
    page = page_as(browser, server, store.logins["admin"])
    page.goto("/scoreboard")
    cells = page.locator('a.kpi[data-group="(all)"]')
    shown = {
        cells.nth(i).get_attribute("data-kpi"): cells.nth(i).get_attribute("data-value")
        for i in range(cells.count())
    }
    assert set(shown) == set(expected) and len(expected) >= 10
    for kpi, value in expected.items():
        if value is None:
            assert shown[kpi] == "", kpi
        else:
            assert math.isclose(float(shown[kpi]), value, rel_tol=1e-12), (kpi, shown[kpi], value)
    # the visible text is the same number, and it links to its definition
    first = page.locator('a.kpi[data-kpi="mql_to_sql"][data-group="(all)"]')
    assert first.inner_text() == f"{expected['mql_to_sql']:.1%}"
    shoot(page, shots, "scoreboard")
    first.click()
    page.wait_for_url(re.compile(r"/definitions#kpi-mql_to_sql$"))
    assert page.locator("#kpi-mql_to_sql h2").inner_text().startswith("MQL to SQL ratio")
    for path, name in (
        ("/funnel", "funnel"),
        ("/sla", "sla"),
        ("/attribution", "attribution"),
        ("/contract", "contract"),
        ("/report", "report"),
    ):
        page.goto(path)
        if name in ("funnel", "attribution"):
            page.wait_for_selector("figure.chart svg")  # vega drew the chart, offline
        if name == "report":  # the weekly report, its charts drawn by vega from their specs
            assert page.locator("h1").first.inner_text().startswith("Week ")
            page.wait_for_selector("figure.chart svg")
            blocks = page.locator("figure.chart script[data-chart]").count()
            assert blocks >= 1
            page.wait_for_function(
                f"document.querySelectorAll('figure.chart .vega-embed > svg').length == {blocks}"
            )
            for i in range(blocks):  # each named by its title, as the report's own SVG is
                figure = page.locator("figure.chart").nth(i)
                spec = json.loads(figure.locator("script[data-chart]").text_content() or "{}")
                label = figure.locator(".vega-embed").get_attribute("aria-label")
                assert label and label == spec["title"]["text"] == spec["description"], label
        shoot(page, shots, name)
    page.context.close()


def test_a_rep_accepts_and_rejects_in_place_and_marketing_sees_the_rejection(
    browser: object, server: ProcessServer, store: DashboardStore, shots: Path
) -> None:
    engine = make_engine(store.url)
    with UnitOfWork(engine) as uow:
        mine = set(
            uow.session.scalars(
                select(t.Lead.id).where(t.Lead.owner_id == store.rep_id, t.Lead.stage == "mql")
            )
        )
    assert len(mine) >= 2
    page = page_as(browser, server, store.logins["sales"])
    page.goto("/leads")
    rows = page.locator("tbody.lead")
    shown = {int(rows.nth(i).get_attribute("data-lead")) for i in range(rows.count())}
    assert shown == mine  # their own leads, all of them, no one else's
    page.locator("tbody.lead details").first.locator("summary").click()
    shoot(page, shots, "my-leads")
    first, second = (int(rows.nth(i).get_attribute("data-lead")) for i in range(2))

    accepted = page.locator(f"#lead-{first}")
    accepted.get_by_role("button", name="Accept").click()
    page.locator(f"#lead-{first} .flash.ok").wait_for()
    assert "Accepted lead" in page.locator(f"#lead-{first}").inner_text()
    assert page.url.endswith("/leads")  # in place: no page load

    rejected = page.locator(f"#lead-{second}")
    rejected.get_by_label("Reason").select_option("not-icp")
    rejected.get_by_label("Note").fill("a two-person agency")
    rejected.get_by_role("button", name="Reject").click()
    page.locator(f"#lead-{second} .flash.ok").wait_for()
    assert "went back to marketing" in page.locator(f"#lead-{second}").inner_text()
    page.context.close()

    with UnitOfWork(engine) as uow:
        stages = dict(
            uow.session.execute(
                select(t.Lead.id, t.Lead.stage).where(t.Lead.id.in_([first, second]))
            ).all()
        )
    engine.dispose()
    assert stages == {first: "sql", second: "recycled"}

    page = page_as(browser, server, store.logins["marketing"])
    page.goto("/feedback")
    row = page.locator(f'#rejections tr[data-lead="{second}"]')
    assert "Not our ideal customer" in row.inner_text()
    page.wait_for_selector("figure.chart svg")
    shoot(page, shots, "feedback")
    row.get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/leads/{second}$"))
    assert "mql → recycled" in page.locator("ol.timeline").inner_text()
    shoot(page, shots, "lead")
    page.context.close()


def test_a_viewer_is_refused_an_action_with_a_clear_message(
    browser: object, server: ProcessServer, store: DashboardStore, shots: Path
) -> None:
    page = page_as(browser, server, store.logins["viewer"])
    page.goto("/leads")
    lead = page.locator("tbody.lead").first
    lead_id = lead.get_attribute("data-lead")
    lead.get_by_role("button", name="Log attempt").click()
    alert = page.locator("#flash .flash.error")
    alert.wait_for()
    assert "Your role (viewer) cannot log follow-up attempts" in alert.inner_text()
    assert page.locator(f"#lead-{lead_id}").count() == 1  # the lead is still there, untouched
    shoot(page, shots, "viewer-refused")
    page.goto("/feedback")
    page.context.close()


def test_every_page_is_usable_by_keyboard(
    browser: object, server: ProcessServer, store: DashboardStore
) -> None:
    page = page_as(browser, server, store.logins["admin"])
    page.goto("/scoreboard")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # into the page: the first picker
    assert page.evaluate("document.activeElement.id") == "period"
    unlabeled = page.evaluate(
        """() => [...document.querySelectorAll('select, input:not([type=hidden]), textarea')]
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length"""
    )
    assert unlabeled == 0
    page.context.close()


def test_the_screenshots_are_there(shots: Path) -> None:
    names = {p.stem for p in shots.glob("*.png")}
    assert {
        "scoreboard",
        "funnel",
        "sla",
        "my-leads",
        "feedback",
        "attribution",
        "lead",
        "contract",
        "report",
        "viewer-refused",
    } <= names
    assert ROOT.is_dir()
