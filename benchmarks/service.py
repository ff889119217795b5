"""Benchmark: sustained events per second through ``/v1/batch``, and lead form latency.

    python benchmarks/service.py [--events 100000] [--batch 100] [--senders 8]
                                 [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

For SQLite (a fresh file) and, with ``--postgres``, PostgreSQL (a database the benchmark creates
and drops):

1. upgrades the schema and creates an ingest and a write token;
2. starts ``baton serve`` in a process of its own (one uvicorn process, as shipped);
3. runs the load generator in a second process (``service.py load ...``): it builds every
   batch first (page views, product events and identifies from 20,000 visitors, shaped like
   analytics.js sends them), sends a warm-up, then sends the batches from ``--senders``
   keep-alive connections as fast as the server answers, and times from the first request to
   the last answer; then it posts ``--forms`` lead forms one after another and times each;
4. checks every event is stored, stops the server, and writes the results into the service
   section of ``--out``.

A benchmark, not a test: ``tests/test_benchmark_service_smoke.py`` runs it at a tiny size so
it cannot rot.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark the code of this checkout

from report import (  # noqa: E402
    cpu_seconds,
    free_port,
    machine,
    replace_section,
    wait_until_idle,
    wait_until_up,
)

BEGIN = "<!-- service: written by benchmarks/service.py; rerunning it replaces this section -->"
END = "<!-- end of service -->"
GOAL_EVENTS = 5_000
GOAL_SPEED_TO_LEAD_P99_MS = 50.0
VISITORS = 20_000
LIBRARIES = ("fastapi", "uvicorn", "starlette", "pydantic", "sqlalchemy", "psycopg")


# -- the load generator (runs in its own process) ---------------------------------------------
def _event(rng: random.Random, n: int, at: str) -> dict[str, Any]:
    visitor = rng.randrange(VISITORS)
    path = rng.choice(("/", "/pricing", "/docs/routing", "/blog/sla", "/demo", "/customers"))
    page = {
        "path": path,
        "url": f"https://www.example.com{path}",
        "title": path.strip("/") or "Home",
        "referrer": rng.choice(
            (
                "",
                "https://www.google.com/",
                "https://www.linkedin.com/",
                "https://news.example.org/",
            )
        ),
    }
    context: dict[str, Any] = {
        "library": {"name": "analytics.js", "version": "next-1.70.0"},
        "ip": f"203.0.113.{visitor % 250}",
        "locale": "en-US",
        "page": page,
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    }
    if rng.random() < 0.3:
        context["campaign"] = {
            "source": "google",
            "medium": "cpc",
            "name": rng.choice(("brand", "category", "competitor")),
        }
    call: dict[str, Any] = {
        "messageId": f"bench-{n}-{uuid.uuid4().hex[:8]}",
        "anonymousId": f"v-{visitor}",
        "timestamp": at,
        "context": context,
    }
    roll = rng.random()
    if roll < 0.1:
        call |= {
            "type": "identify",
            "traits": {
                "email": f"person{visitor}@company{visitor % 2000}.com",
                "firstName": "Sam",
                "company": f"Company {visitor % 2000}",
            },
        }
    elif roll < 0.4:
        call |= {
            "type": "track",
            "event": rng.choice(("Feature Used", "Video Played", "Demo Requested")),
            "properties": {"plan": "team", "seats": visitor % 50},
        }
    else:
        call |= {"type": "page", "name": page["title"], "properties": dict(page)}
    return call


def _post(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]) -> int:
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status


def load(args: argparse.Namespace) -> None:
    host, port = args.base.removeprefix("http://").split(":")
    auth = {
        "Content-Type": "application/json",
        "Authorization": "Basic "
        + __import__("base64").b64encode(f"{args.key}:".encode()).decode(),
    }
    rng = random.Random(args.seed)
    at = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())

    def bodies(count: int, offset: int) -> list[bytes]:
        out = []
        for first in range(offset, offset + count, args.batch):
            calls = [
                _event(rng, n, at) for n in range(first, min(first + args.batch, offset + count))
            ]
            out.append(json.dumps({"batch": calls, "sentAt": at}).encode())
        return out

    warmup = bodies(args.warmup, 10**9)
    work = bodies(args.events, 0)
    sizes = [len(b) for b in work]
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    for body in warmup:
        assert _post(conn, "/v1/batch", body, auth) == 200
    conn.close()

    todo: queue.Queue[bytes] = queue.Queue()
    for body in work:
        todo.put(body)
    latencies: list[float] = []
    retried = [0]
    lock = threading.Lock()

    def sender() -> None:
        c = http.client.HTTPConnection(host, int(port), timeout=60)
        while True:
            try:
                body = todo.get_nowait()
            except queue.Empty:
                c.close()
                return
            while True:
                started = time.perf_counter()
                status = _post(c, "/v1/batch", body, auth)
                if status == 200:
                    break
                assert status == 503, status
                with lock:
                    retried[0] += 1
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=sender) for _ in range(args.senders)]
    server = args.server_pid  # 0: not told, the share is not measured
    server_before, idle_before = cpu_seconds(server) if server else 0.0, idle_seconds()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    server_busy = (cpu_seconds(server) - server_before) / seconds if server else float("nan")
    idle = (idle_seconds() - idle_before) / seconds / (os.cpu_count() or 1)

    # speed-to-lead: one form after another, each timed from the POST to its answer; scoring,
    # the MQL move, routing and the queued notifications happen inside the request
    form_ms: list[float] = []
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    form_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {args.form_key}"}
    for n in range(args.forms):
        form = {
            "email": f"form{n}@company{n % 300}.com",
            "first_name": "Lee",
            "title": "VP Marketing",
            "country": "United States",
            "company": f"Company {n % 300}",
            "form": "demo-request",
            "utm_source": "google",
            "utm_medium": "cpc",
            "anonymous_id": f"v-{n}",
        }
        body = json.dumps(form).encode()
        t0 = time.perf_counter()
        status = _post(conn, "/api/v1/leads", body, form_headers)
        form_ms.append((time.perf_counter() - t0) * 1000)
        assert status in (200, 201), status
    conn.close()
    print(
        json.dumps(
            {
                "events": args.events,
                "seconds": seconds,
                "requests": len(latencies),
                "retried": retried[0],
                "latency_ms": _quantiles([x * 1000 for x in latencies]),
                "server_cores": server_busy,
                "idle": idle,
                "bytes": statistics.mean(sizes),
                "warmup": args.warmup,
                "forms": args.forms,
                "form_ms": _quantiles(form_ms),
            }
        )
    )


def _seed_reps(session: Any, t: Any) -> None:
    """The three teams the default contract routes to, each with a manager and two reps."""
    for team_name in ("Enterprise", "Mid-Market", "SMB Inbound"):
        key = team_name.lower().replace(" ", "-")
        team = t.Team(source="bench", external_id=key, name=team_name, properties={})
        session.add(team)
        session.flush()
        for n, role in enumerate(("manager", "sales", "sales")):
            user = t.User(
                source="bench", external_id=f"{key}-{n}", name=f"{team_name} {n}",
                email=f"{key}-{n}@bench.example", role=role, team_id=team.id, active=True,
                properties={},
            )  # fmt: skip
            session.add(user)
            session.flush()
            if role == "manager":
                team.manager_id = user.id


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p99": float("nan")}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return {"p50": rank(0.5), "p99": rank(0.99)}


# -- the harness --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    engine: str
    result: dict[str, Any]
    stored: int

    @property
    def rate(self) -> float:
        return float(self.result["events"]) / float(self.result["seconds"])


def idle_seconds() -> float:
    """Seconds the machine's cores have been idle since boot, summed over cores."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")  # idle + iowait


def measure(engine_name: str, url: str, args: argparse.Namespace, workdir: Path) -> Run:
    from sqlalchemy import func, select

    from baton.domain.model import system_clock
    from baton.service.tokens import create_token
    from baton.store import tables as t
    from baton.store.engine import make_engine
    from baton.store.migrate import upgrade
    from baton.store.uow import UnitOfWork

    engine = make_engine(url)
    upgrade(engine)
    with UnitOfWork(engine) as uow:
        key = create_token(uow.session, "bench", ["ingest"], clock=system_clock)[1]
        form_key = create_token(uow.session, "bench forms", ["write"], clock=system_clock)[1]
        _seed_reps(uow.session, t)
        uow.commit()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BATON_DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("BATON_CONTRACT", None)
    command = [
        sys.executable,
        "-m",
        "baton.cli",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--workers",
        str(args.workers),
    ]
    with (workdir / f"server-{engine_name}.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, cwd=workdir, stdout=log, stderr=log)
    try:
        wait_until_up(base, server)
        wait_until_idle(server.pid)  # sustained rates: not while start-up work still runs
        load_before = os.getloadavg()[0]
        cpu_before = cpu_seconds(server.pid)
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "load",
                base,
                key,
                form_key,
                "--events",
                str(args.events),
                "--batch",
                str(args.batch),
                "--senders",
                str(args.senders),
                "--forms",
                str(args.forms),
                "--warmup",
                str(args.warmup),
                "--seed",
                str(args.seed),
                "--server-pid",
                str(server.pid),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"the load generator failed on {engine_name}:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["server_cpu"] = cpu_seconds(server.pid) - cpu_before
        result["load"] = load_before
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    with UnitOfWork(engine) as uow:
        stored = int(uow.session.scalar(select(func.count()).select_from(t.Event)) or 0)
        forms = select(t.Lead.id).where(t.Lead.email.like("form%"))
        result["forms_mql"] = int(
            uow.session.scalar(
                select(func.count()).select_from(forms.where(t.Lead.stage == "mql").subquery())
            )
            or 0
        )
        result["forms_assigned"] = int(
            uow.session.scalar(
                select(func.count()).select_from(
                    forms.where(t.Lead.owner_id.is_not(None)).subquery()
                )
            )
            or 0
        )
        result["notifications"] = int(
            uow.session.scalar(select(func.count()).select_from(t.OutboxMessage)) or 0
        )
    engine.dispose()
    expected = args.events + args.warmup + args.forms
    if stored != expected:
        raise SystemExit(f"{engine_name}: {stored:,} events stored, {expected:,} sent")
    rate = result["events"] / result["seconds"]
    print(
        f"{engine_name}: {rate:,.0f} events/s, server CPU {result['server_cpu']:.1f} s; "
        f"forms p50 {result['form_ms']['p50']:.1f} ms, "
        f"p99 {result['form_ms']['p99']:.1f} ms",
        file=sys.stderr,
    )
    return Run(engine_name, result, stored)


def section(runs: list[Run], args: argparse.Namespace, about: dict[str, str]) -> str:
    bytes_per_event = runs[0].result["bytes"] / args.batch
    lines = [
        BEGIN,
        "## Service: events in",
        "",
        f"Measured {about['date']} on {about['cpu']}, {about['cores']} cores, {about['memory']} of "
        f"memory ({about['system']}; {about['libraries']}); a reference loop of pure Python "
        f"(`benchmarks/report.py` `reference_loop_ms`) took {about['speed']} on it.",
        "",
        f"**Method.** `python benchmarks/service.py` starts `baton serve` ({args.workers} uvicorn "
        f"process{'es' if args.workers > 1 else ''}) on a "
        "fresh store and runs the load generator in a second process on the same machine, so "
        "server, load generator and (for PostgreSQL) the database share the two cores. The "
        "server writes events in a process of its own, as shipped "
        "(`BATON_SERVE_WRITER=auto`: its request threads parse, that process writes). On "
        "SQLite it runs its worker in-process, as shipped (`BATON_SERVE_WORKER=auto`), so the "
        "notifications the MQLs queue are worked off (marked skipped: no SMTP server or webhook "
        "is configured) while events arrive, taking turns with the event writes. The "
        f"generator builds {args.events:,} events first, shaped like analytics.js sends them "
        f"(about {bytes_per_event:,.0f} bytes each: 60% page views, 30% track calls, 10% "
        f"identifies with an email, from {VISITORS:,} visitors, 30% with UTM tags), in batches of "
        f"{args.batch}, then sends them to `/v1/batch` from {args.senders} keep-alive connections "
        "as fast as the server answers, after a warm-up of "
        f"{args.warmup:,} events. The generator starts once the server is idle: its start-up "
        "work (computing the dashboard's first pages, a few seconds of CPU) is not part of a "
        "sustained rate. Events per second is the events divided by the time from the "
        "first request to the last answer. Every answer comes after the batch is committed "
        "(events, profiles, identities, touchpoints, leads and contacts for new emails, "
        "stitching) in one transaction; requests that arrive while a transaction is being "
        "written are written together in the next one (`baton.web.batching`). The harness "
        "checks the store holds every event sent. Server CPU is the `baton serve` processes' "
        "user and system time over the run (events and forms), per thousand: it says what a "
        "core of its own "
        "would sustain, whatever else the machine ran (the load average before each run is shown). "
        "*Server cores busy* is the server's CPU time while the events were sent, divided by "
        "that time (1.00: one core's worth), and *machine idle* the share of all cores' time "
        "that nothing ran in meanwhile. "
        "Speed-to-lead: "
        f"{args.forms:,} lead forms (a VP of marketing in the United States asking for a demo) "
        "posted one after another to `/api/v1/leads`, each timed from the request to its answer.",
        "",
        "| store | events | seconds | events/s | goal | server CPU per 1,000 events (s) "
        "| server cores busy | machine idle | batch p50 (ms) | batch p99 (ms) | retried (503) "
        "| load average before |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        r = run.result
        verdict = "met" if run.rate >= GOAL_EVENTS else "**not met**"
        cpu = f"{r['server_cpu'] / (r['events'] + r['forms']) * 1000:.2f}"
        lines.append(
            f"| {run.engine} | {r['events']:,} | {r['seconds']:.2f} | {run.rate:,.0f} | "
            f"≥ {GOAL_EVENTS:,} ({verdict}) | {cpu} | {r['server_cores']:.2f} | "
            f"{r['idle']:.0%} | "
            f"{r['latency_ms']['p50']:.1f} | {r['latency_ms']['p99']:.1f} | {r['retried']} | "
            f"{r['load']:.1f} |"
        )
    lines += [
        "",
        "### Speed-to-lead",
        "",
        "Form POST → answer. Inside that request, after the lead is stored, "
        "`baton.service.hooks.on_events_stored` rescores it with the contract's rule models; a "
        "lead that crosses the MQL threshold moves to MQL and is routed (the default contract's "
        "rules over the three teams the harness seeds, each a manager and two reps): the "
        "decision and its reason, the owner, the SLA timers and the owner's notifications in "
        "the outbox, all committed before the answer. The table counts how many of the forms' "
        "leads ended as MQLs with an owner, so the times are those of the whole handoff "
        f"(goal: p99 under {GOAL_SPEED_TO_LEAD_P99_MS:.0f} ms). The events above are scored "
        "the same way as they arrive.",
        "",
        "| store | forms | MQL | owner assigned | notifications queued | p50 (ms) | p99 (ms) | goal |",
        "|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    for run in runs:
        r = run.result
        f = r["form_ms"]
        whole = r.get("forms_assigned", 0) == r["forms"]
        verdict = "met" if whole and f["p99"] < GOAL_SPEED_TO_LEAD_P99_MS else "**not met**"
        lines.append(
            f"| {run.engine} | {r['forms']:,} | {r.get('forms_mql', 0):,} | "
            f"{r.get('forms_assigned', 0):,} | {r.get('notifications', 0):,} | "
            f"{f['p50']:.1f} | {f['p99']:.1f} | p99 < {GOAL_SPEED_TO_LEAD_P99_MS:.0f} ms "
            f"({verdict}) |"
        )
    return "\n".join([*lines, END])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--forms", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BATON_BENCH_POSTGRES_URL"),
        help="a PostgreSQL server URL; the benchmark creates and drops its own database",
    )
    parser.add_argument("--postgres-database", default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from baton.store.engine import normalize_url

    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="baton-service-") as folder:
        workdir = Path(folder)
        runs.append(measure("SQLite", f"sqlite:///{workdir / 'baton.db'}", args, workdir))
        if args.postgres:
            name = args.postgres_database or f"baton_bench_service_{os.getpid()}"
            admin = create_engine(normalize_url(args.postgres), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = (
                make_url(normalize_url(args.postgres))
                .set(database=name)
                .render_as_string(hide_password=False)
            )
            try:
                runs.append(measure("PostgreSQL", url, args, workdir))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    replace_section(args.out, BEGIN, END, section(runs, args, machine(LIBRARIES)))
    print(f"wrote {args.out}", file=sys.stderr)


def load_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="the load generator")
    parser.add_argument("base")
    parser.add_argument("key")
    parser.add_argument("form_key")
    for name, default in (
        ("events", 100_000),
        ("batch", 100),
        ("senders", 8),
        ("forms", 1_000),
        ("warmup", 2_000),
        ("seed", 7),
        ("server-pid", 0),
    ):
        parser.add_argument(f"--{name}", type=int, default=default)
    load(parser.parse_args(argv))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        load_main(sys.argv[2:])
    else:
        main()
