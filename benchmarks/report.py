"""Write benchmark results into ``docs/benchmarks.md``, each benchmark in its own section only.

:func:`machine` describes what the numbers were measured on; :func:`replace_section` swaps one
benchmark's section (between its begin and end markers) and leaves the others alone.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import sqlite3
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

BEGIN = "<!-- scoreboard: written by benchmarks/scoreboard.py; rerunning it replaces this section -->"
END = "<!-- end of scoreboard -->"
HEADER = """# Benchmarks

How fast Baton is where speed matters. Each section is written by a script in `benchmarks/`;
running the script again replaces its own section and leaves the others alone.
"""
#: The goals of the scoreboard (issue 3): Baton ÷ hand SQL at most, pandas ÷ Baton at least,
#: and Baton's peak memory in MB below.
GOAL_SQL, GOAL_PANDAS, GOAL_MEMORY = 1.5, 10.0, 4096.0
X = "\u00d7"  # the multiplication sign, as in 1.5x


@dataclass(frozen=True)
class Measured:
    """One contender's runs on one engine."""

    label: str
    engine: str
    name: str
    leads: int
    times: list[float]
    peak_mb: float
    result: Path

    @property
    def best(self) -> float:
        return min(self.times)


LIBRARIES = ("duckdb", "ibis-framework", "pandas", "pyarrow")


def reference_loop_ms() -> float:
    """Milliseconds one core takes for a fixed pure-Python loop (3 million additions, best of
    five). Hosts sold under the same CPU name have differed by half again on it, so it goes
    beside the results: runs compare only when their reference loops are close."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i * i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def machine(libraries: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """What the numbers were measured on: CPU model, cores, memory, system, library versions."""
    cpu = "unknown CPU"
    info = Path("/proc/cpuinfo")
    if info.is_file():
        names = [ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines()
                 if ln.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        total = next(ln for ln in meminfo.read_text().splitlines() if ln.startswith("MemTotal"))
        memory = f"{int(total.split()[1]) / 1024**2:.1f} GiB"
    versions = ", ".join(f"{name} {version(name)}" for name in libraries)
    return {
        "speed": f"{reference_loop_ms():.0f} ms",
        "date": dt.date.today().isoformat(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        "libraries": f"{versions}, SQLite {sqlite3.sqlite_version}",
    }


def _ratio_lines(measured: list[Measured]) -> list[str]:
    """The ratios the goals are about, as a Markdown table with a verdict per goal."""
    by = {(m.name, m.engine, m.leads): m for m in measured}
    leads = max(m.leads for m in measured)
    board = by[("baton", "DuckDB file", leads)]
    funnel = by[("baton-funnel", "DuckDB file", leads)]
    sql = by[("sql", "DuckDB file", leads)].best
    pandas = by[("pandas", "pandas", leads)].best
    tuned = by[("pandas-tuned", "pandas", leads)].best

    def row(what: str, value: float, goal: str, ok: bool | None, unit: str = X) -> str:
        verdict = "" if ok is None else "met" if ok else "**not met**"
        shown = f"{value:,.0f} MB" if unit == "MB" else f"{value:.2f}{X}"
        return f"| {what} | {shown} | {goal} | {verdict} |"

    return [
        "| ratio (DuckDB file) | value | goal | |",
        "|---|--:|---|---|",
        row("Baton full scoreboard ÷ hand-written funnel SQL", board.best / sql,
            f"at most {GOAL_SQL}{X}", board.best / sql <= GOAL_SQL),
        row("Baton funnel section ÷ hand-written funnel SQL (like for like)", funnel.best / sql,
            f"at most {GOAL_SQL}{X}", funnel.best / sql <= GOAL_SQL),
        row("pandas, as an analyst writes it ÷ Baton full scoreboard", pandas / board.best,
            f"at least {GOAL_PANDAS:.0f}{X}", pandas / board.best >= GOAL_PANDAS),
        row("pandas, as an analyst writes it ÷ Baton funnel section", pandas / funnel.best,
            f"at least {GOAL_PANDAS:.0f}{X}", pandas / funnel.best >= GOAL_PANDAS),
        row("pandas, tuned ÷ Baton funnel section", tuned / funnel.best, "", None),
        row("Baton full scoreboard, peak memory", board.peak_mb, f"under {GOAL_MEMORY:,.0f} MB",
            board.peak_mb < GOAL_MEMORY, unit="MB"),
    ]  # fmt: skip


def section(
    measured: list[Measured],
    *,
    machine: dict[str, str],
    sizes: dict[int, dict[str, int]],
    loads: list[tuple[str, float]],
    options: dict[str, object],
) -> str:
    """The scoreboard section in Markdown."""
    runs = options["runs"]
    lines = [
        BEGIN,
        "## Scoreboard",
        "",
        f"Measured {machine['date']} on {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory']} of memory ({machine['system']}; {machine['libraries']}).",
        "",
        "**Method.** `python benchmarks/scoreboard.py` simulates the funnel with the demo "
        "simulator's columnar path (`baton.demo.columns.simulate_columns`, seed "
        f"{options['seed']}, 18 months ending {options['end']}), with {options['touches']}{X} "
        "the demo's marketing touches per lead so that stage changes and touchpoints together "
        "pass ten per lead, and writes it to Parquet and a DuckDB file. The same data is "
        "loaded into a SQLite store and a PostgreSQL database through the store's own schema. "
        "Each contender runs in a fresh process: one warm-up run, then the best of "
        f"{runs} runs; peak memory is the process's resident-set high-water mark "
        "(`VmHWM`, interpreter and libraries included). Baton runs "
        "`baton.service.full_scoreboard.full_scoreboard` for "
        f"{options['period']}: every section of the weekly scoreboard (the funnel by channel and "
        "by pair of stages with the median, p75 and p90 days between them, stuck leads, the "
        "shared KPIs, both sides of the SLA with business hours, goal progress), so it does "
        "far more work than the funnel the other contenders compute; the funnel section alone "
        "is timed too, and is the like-for-like comparison. The hand-written SQL computes the same funnel in one DuckDB query (a single pass over "
        "the lead moves: each lead's furthest stage, counted per channel). pandas runs twice: as an "
        "analyst writes it (read the two Parquet files, merge the channel, count the distinct "
        "leads reaching each stage per channel), and tuned (only the columns it uses, one "
        "`max` per lead, cumulative counts). The harness checks that "
        "every contender's funnel equals the SQL's (counts exactly, rates to 1e-9) before "
        "writing this section. On a machine shared with other work, sub-second times vary "
        "between runs of the harness by up to about 2x; the best of several runs is the "
        "figure least disturbed.",
        "",
        "| contender | engine | leads | best (s) | all runs (s) | peak memory (MB) |",
        "|---|---|--:|--:|---|--:|",
    ]
    for m in measured:
        all_runs = ", ".join(f"{t:.3f}" for t in m.times)
        lines.append(
            f"| {m.label} | {m.engine} | {m.leads:,} | {m.best:.3f} | {all_runs} | "
            f"{m.peak_mb:,.0f} |"
        )
    lines += ["", *_ratio_lines(measured), "", "Rows per table:", ""]
    names = list(next(iter(sizes.values())))
    lines.append("| leads | " + " | ".join(names) + " | stage changes + touchpoints |")
    lines.append("|--:|" + "--:|" * (len(names) + 1))
    for leads, rows in sorted(sizes.items()):
        both = rows["stage_changes"] + rows["touchpoints"]
        lines.append(f"| {leads:,} | " + " | ".join(f"{rows[n]:,}" for n in names) + f" | {both:,} |")
    if loads:
        took = "; ".join(f"{engine} {seconds:.0f} s" for engine, seconds in loads)
        lines += ["", f"Loading the stores took: {took}."]
    return "\n".join([*lines, END])


def write_section(path: Path, measured: list[Measured], **details: object) -> None:
    """Replace the scoreboard section of ``path`` (create the file if needed)."""
    replace_section(path, BEGIN, END, section(measured, **details))  # type: ignore[arg-type]


def replace_section(path: Path, begin: str, end: str, new: str) -> None:
    """Put ``new`` (which starts with ``begin`` and ends with ``end``) in place of the section
    between those markers in ``path``, or at its end; the rest of the file stays as it is."""
    text = path.read_text(encoding="utf-8") if path.is_file() else HEADER
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        after = rest.split(end, 1)[1]
        text = before + new + after
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# -- a server under test -------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str, process: subprocess.Popen[bytes], *, tries: int = 1200) -> None:
    """Wait for ``baton serve`` at ``base`` to answer ``/health`` (every 50 ms, ``tries`` times);
    stop the benchmark if the process exits or never answers."""
    for _ in range(tries):
        if process.poll() is not None:
            raise SystemExit(f"baton serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"baton serve did not answer at {base}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process and every process under it used so far (with
    ``--workers`` above 1, uvicorn's server processes are children of the one started)."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        times[child] = int(fields[11]) + int(fields[12])  # utime + stime
    tree, grew = {pid}, True
    while grew:
        found = {p for p, parent in parents.items() if parent in tree} - tree
        grew = bool(found)
        tree |= found
    return sum(times.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, *, quiet: float = 0.05, most: float = 60.0) -> float:
    """Wait until the process has used under ``quiet`` s of CPU over a second (its start-up
    work, such as computing the dashboard's first pages, is done); the seconds waited."""
    started = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - started < most:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - before < quiet:
            break
        before = now
    return time.monotonic() - started
