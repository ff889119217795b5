"""Benchmark: how long each dashboard page takes to answer, with every picker choice.

    python benchmarks/dashboard.py [--leads 20000] [--rounds 2] [--store baton.db]
                                   [--out docs/benchmarks.md]

On SQLite, the default demo (``baton demo``: 20,000 leads over 18 months) in a fresh file (or
``--store``, an existing demo store, kept as it is apart from the logged calls):

1. adds an admin login and starts ``baton serve`` in a process of its own, as shipped;
2. signs in over HTTP (the login form and its CSRF token) like a person does;
3. opens every page with every choice of its pickers (period, breakdown, months, outcome,
   level, week), each one timed as the request a person makes, three ways:

   - **right after an action**: a lead waiting in the MQL stage is accepted first (``POST
     /leads/{id}/accept``, as a person does from the queue), which drops every cached section
     that reads leads' stages, and the page is asked for at once, so it computes those
     numbers again;
   - **warm**: the same page asked again at once, answered from the cache;
   - **back after an action**: another lead accepted, and the page asked for again
     ``--pause`` seconds (1) later, as a person goes back to the page they were on: the
     sections it showed are computed again in the background meanwhile;
   - **no cache**: a second server with ``BATON_WEB_CACHE_SECONDS=0``, where every request
     computes everything in SQLite (the worst case: nothing cached, no DuckDB copy);

4. writes per page the median and the slowest answer against the goal (300 ms) into the
   dashboard section of ``--out``.

A benchmark, not a test: ``tests/test_benchmark_dashboard_smoke.py`` runs it at a tiny size so
it cannot rot.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark the code of this checkout

from report import (  # noqa: E402
    free_port,
    machine,
    replace_section,
    wait_until_idle,
    wait_until_up,
)

BEGIN = "<!-- dashboard: written by benchmarks/dashboard.py; rerunning it replaces this section -->"
END = "<!-- end of dashboard -->"
GOAL_MS = 300.0
EMAIL = "bench.admin@example.com"
PASSWORD = "benchmark password 1"
LIBRARIES = ("fastapi", "uvicorn", "ibis-framework", "sqlalchemy", "jinja2")
MODES = ("right after an action", "back after an action", "warm", "no cache")


@dataclass
class Page:
    """One page and the URLs of its picker choices; the times of each way, in ms."""

    name: str
    urls: list[str]
    ms: dict[str, list[float]] = field(default_factory=dict)


def build_store(path: Path, leads: int) -> None:
    """The demo at ``leads`` leads in a new SQLite file, as ``baton demo`` makes it."""
    from baton.contract import default_contract_text
    from baton.demo import run_demo
    from baton.domain.model import system_clock
    from baton.store.engine import make_engine
    from baton.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        run_demo(engine, contract_text=default_contract_text(), clock=system_clock, leads=leads)
    finally:
        engine.dispose()


def prepare(url: str) -> list[int]:
    """Add the admin login (when missing); the leads waiting in the MQL stage, to accept."""
    from sqlalchemy import select

    from baton.domain.model import system_clock
    from baton.service.web_users import create_login
    from baton.store import tables as t
    from baton.store.engine import make_engine
    from baton.store.migrate import upgrade
    from baton.store.uow import UnitOfWork

    engine = make_engine(url)
    try:
        upgrade(engine)
        with UnitOfWork(engine) as uow:
            s = uow.session
            if s.scalar(select(t.WebLogin.id).where(t.WebLogin.email == EMAIL)) is None:
                create_login(
                    s, email=EMAIL, name="Bench Admin", role="admin", password=PASSWORD,
                    clock=system_clock,
                )  # fmt: skip
            leads = list(
                s.scalars(select(t.Lead.id).where(t.Lead.stage == "mql").order_by(t.Lead.id))
            )
            uow.commit()
    finally:
        engine.dispose()
    if not leads:
        raise SystemExit("the store has no lead waiting in the MQL stage to accept")
    return [int(x) for x in leads]


def pages(url: str, lead: int, *, every: bool) -> list[Page]:
    """Every page with every choice of its pickers (``every=False``: one choice of each)."""
    from baton.contract import default_contract_text, parse_contract
    from baton.domain.model import system_clock
    from baton.report.week import last_complete_week
    from baton.web.dashboard.common import period_choices

    contract = parse_contract(default_contract_text())
    now = system_clock()
    periods = period_choices(contract, now)
    if not every:
        periods = periods[:1]
    week = last_complete_week(now, contract.business_hours.zone)
    weeks = [week.first - dt.timedelta(days=7 * n) for n in range(4 if every else 1)]
    iso = [f"{d.isocalendar().year}-W{d.isocalendar().week:02d}" for d in weeks]
    choose = (lambda xs: xs) if every else (lambda xs: xs[:1])
    return [
        Page("Scoreboard", [
            f"/scoreboard?period={p}&by={b}" for p in periods
            for b in choose(["", "channel", "owner", "team"])
        ]),
        Page("Funnel", [f"/funnel?period={p}" for p in periods]),
        Page("Handoff & SLA", [
            f"/sla?period={p}&by={b}" for p in periods for b in choose(["rep", "team"])
        ]),
        Page("Feedback", [f"/feedback?months={m}" for m in choose([6, 3, 12, 24])]),
        # every outcome and level over all time, and the default ones over every period (all
        # of them together are 130 URLs: more than an hour with the seven models)
        Page("Attribution", [
            *(f"/attribution?outcome={o}&level={lv}"
              for o in choose(["won", "lead", "mql", "sql", "opportunity"])
              for lv in choose(["account", "contact"])),
            *(f"/attribution?period={p}" for p in periods),
        ]),
        Page("My leads (admin)", ["/leads"]),
        Page("Lead", [f"/leads/{lead}"]),
        Page("Contract", ["/contract"]),
        Page("Definitions", ["/definitions"]),
        Page("Weekly report", [f"/report?week={w}" for w in iso]),
    ]  # fmt: skip


# -- the server and the signed-in client ----------------------------------------------------------
def serve(
    url: str, workdir: Path, cache_seconds: float | None
) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    env = {
        **os.environ,
        "BATON_DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("BATON_CONTRACT", None)
    if cache_seconds is not None:
        env["BATON_WEB_CACHE_SECONDS"] = str(cache_seconds)
    command = [sys.executable, "-m", "baton.cli", "serve", "--port", str(port),
               "--log-level", "warning"]  # fmt: skip
    with (workdir / f"server-{port}.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base, server)
    return base, server


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)


def sign_in(base: str) -> tuple[object, str]:
    """A client signed in as the admin, and the CSRF token its forms send."""
    import httpx

    client = httpx.Client(base_url=base, timeout=120)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    done = client.post(
        "/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token[1]}
    )
    if done.status_code != 303:
        raise SystemExit(f"could not sign in: {done.status_code} {done.text[:200]}")
    page = client.get("/definitions")
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert found, page.text[:500]
    return client, found[1]


def timed(client: object, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path)  # type: ignore[attr-defined]
    ms = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise SystemExit(f"GET {path}: {answer.status_code} {answer.text[:300]}")
    return ms


def accept(client: object, csrf: str, waiting: list[int]) -> None:
    """Accept the next lead of ``waiting`` that can be accepted (some lack a required field)."""
    while waiting:
        lead = waiting.pop(0)
        done = client.post(  # type: ignore[attr-defined]
            f"/leads/{lead}/accept",
            data={"note": "benchmark", "csrf_token": csrf},
            headers={"HX-Request": "true"},
        )
        if done.status_code == 200:
            return
        if done.status_code not in (409, 422):
            raise SystemExit(f"accepting lead {lead}: {done.status_code} {done.text[:300]}")
    raise SystemExit("no lead left waiting in the MQL stage to accept; use a bigger demo")


def wait_warmed(client: object) -> None:
    """The server computes its default pages at start; wait for that, it holds the analytics."""
    for path in ("/scoreboard", "/funnel", "/sla", "/attribution"):
        timed(client, path)


@contextmanager
def signed_in(url: str, workdir: Path, cache_seconds: float | None) -> Iterator[tuple[Any, str]]:
    """A server on ``url`` (its cache as ``cache_seconds`` says), its default pages computed,
    and a client signed in to it with its CSRF token; the server stops afterwards."""
    base, server = serve(url, workdir, cache_seconds)
    try:
        client, csrf = sign_in(base)
        wait_warmed(client)
        # and for the rest of its start-up work, as a server started before people open it has
        wait_until_idle(server.pid, most=120)
        yield client, csrf
        client.close()  # type: ignore[attr-defined]
    finally:
        stop(server)


def run(
    url: str, workdir: Path, waiting: list[int], found: list[Page], rounds: int, pause: float
) -> None:
    with signed_in(url, workdir, None) as (client, csrf):
        for _ in range(rounds):
            for page in found:
                for path in page.urls:
                    # right after an action, then the same page again (from the cache)
                    accept(client, csrf, waiting)
                    page.ms.setdefault(MODES[0], []).append(timed(client, path))
                    page.ms.setdefault(MODES[2], []).append(timed(client, path))
                    # an action, then back to the page shown before it a moment later
                    accept(client, csrf, waiting)
                    time.sleep(pause)
                    page.ms.setdefault(MODES[1], []).append(timed(client, path))
    # no cache at all: every request computes everything
    with signed_in(url, workdir, 0) as (client, _):
        for _ in range(rounds):
            for page in found:
                for path in page.urls:
                    page.ms.setdefault(MODES[3], []).append(timed(client, path))


# -- the report ---------------------------------------------------------------------------------
def section(found: list[Page], args: argparse.Namespace, leads: int, about: dict[str, str]) -> str:
    lines = [
        BEGIN,
        "## Dashboard: every page under 300 ms",
        "",
        f"Goal: every dashboard page, with every picker choice, answers in under "
        f"{GOAL_MS:.0f} ms on the default demo data on SQLite, measured as a signed-in "
        "person's HTTP request (server and client on the same machine), including right after "
        "an action (which makes the page compute its numbers again).",
        "",
        f"Measured {about['date']} on {about['cpu']} ({about['cores']} cores, "
        f"{about['memory']}), {about['system']}; {about['libraries']}; a reference loop of pure "
        f"Python (`benchmarks/report.py` `reference_loop_ms`) took {about['speed']} on it.",
        "",
        f"Data: the demo, {leads:,} leads; `python benchmarks/dashboard.py --leads {args.leads} "
        f"--rounds {args.rounds}`: every URL {args.rounds} times each way. *Right after an "
        "action*: a lead accepted just before (the sections that read leads' stages are "
        "dropped); this is also the URL's first request on that server, so it pays for "
        "building and compiling the page's queries unless they were computed ahead (the "
        "Attribution page's other choices and a Scoreboard or Handoff period's other "
        "breakdowns are, and the report of the week before a weekly report shown) or "
        "compiled ahead (the Scoreboard's, the Funnel's and the Handoff page's queries shown, "
        "in every other period, are); the weekly report's charts are drawn by the browser, "
        "which this does not time; the measurement begins once the server is idle after its "
        "start-up work; "
        "a section kept is computed again after `BATON_WEB_CACHE_SECONDS`, 300 s, and the "
        "weekly report is measured last, some 6 minutes in; "
        f"*back after an action*: another lead accepted and the URL asked again "
        f"{args.pause:g} s later (what was shown is recomputed in the background meanwhile); "
        "*warm*: the same URL again at once; "
        "*no cache*: a server with `BATON_WEB_CACHE_SECONDS=0`, every request computing "
        "its numbers in SQLite itself (the compiled queries are still kept; the DuckDB copy "
        "of `BATON_WEB_ANALYTICS_COPY` serves only servers that keep sections).",
        "",
        "| page | URLs | right after an action p50 / max (ms) | back after an action p50 / max "
        "(ms) | warm p50 / max (ms) | no cache p50 / max (ms) | goal met |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for page in found:
        cells = []
        worst = 0.0
        for mode in MODES:
            values = page.ms.get(mode, [])
            if not values:
                cells.append("-")
                continue
            worst = max(worst, max(values))
            cells.append(f"{statistics.median(values):.0f} / {max(values):.0f}")
        verdict = "yes" if worst < GOAL_MS else f"no ({worst:.0f} ms)"
        lines.append(f"| {page.name} | {len(page.urls)} | {' | '.join(cells)} | {verdict} |")
    lines += [
        "",
        "The maxima include the machine's noise (other work runs beside the benchmark); the "
        "medians are the steadier figure.",
        "",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--store", type=Path, help="an existing demo store (SQLite file) to use")
    parser.add_argument(
        "--pause",
        type=float,
        default=1.0,
        help="seconds between an action and going back to the page (back after an action)",
    )
    parser.add_argument("--few", action="store_true", help="one choice of each picker only")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="baton-bench-dashboard-") as tmp:
        workdir = Path(tmp)
        path = args.store.resolve() if args.store else workdir / "demo.db"
        if not args.store:
            started = time.perf_counter()
            build_store(path, args.leads)
            print(f"demo of {args.leads:,} leads in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)  # fmt: skip
        url = f"sqlite:///{path}"
        waiting = prepare(url)
        found = pages(url, waiting[-1], every=not args.few)
        run(url, workdir, waiting[:-1], found, args.rounds, args.pause)
        leads = _count_leads(url)
    for page in found:
        summary = ", ".join(
            f"{mode} p50 {statistics.median(v):.0f} max {max(v):.0f}" for mode, v in page.ms.items()
        )
        print(f"{page.name}: {summary} ms", file=sys.stderr)
    text = section(found, args, leads, machine(LIBRARIES))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    replace_section(args.out, BEGIN, END, text)


def _count_leads(url: str) -> int:
    from sqlalchemy import func, select

    from baton.store import tables as t
    from baton.store.engine import make_engine
    from baton.store.uow import UnitOfWork

    engine = make_engine(url)
    try:
        with UnitOfWork(engine) as uow:
            return int(uow.session.scalar(select(func.count()).select_from(t.Lead)) or 0)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
