"""The ``baton`` command line: parse, call one service, render. Errors become one line and exit 1."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from baton import __version__
from baton.config import Settings
from baton.contract import default_contract_text, load_contract, parse_contract
from baton.domain.model import system_clock
from baton.errors import BatonError, ProblemsError
from baton.progress import Advance

if TYPE_CHECKING:
    import pandas as pd

    from baton.analytics.source import Tables
    from baton.contract import Contract

app = typer.Typer(
    name="baton",
    help="Baton: one funnel, one contract, one handoff and one scoreboard for marketing and sales.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
contract_app = typer.Typer(help="Check, apply and list versions of the alignment contract.", no_args_is_help=True)
db_app = typer.Typer(help="Create and upgrade the database schema.", no_args_is_help=True)
app.add_typer(contract_app, name="contract")
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Turn any :class:`BatonError` into a message on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ProblemsError as exc:
            err.print(f"[bold red]error:[/] {exc.summary}", highlight=False)
            for problem in exc.problems:
                err.print(f"  {problem}", highlight=False, markup=False)
            raise typer.Exit(1) from None
        except BatonError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


class RichProgress:
    """Rich progress bars behind :class:`baton.progress.Progress`; silent when not a terminal."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def task(self, description: str, total: int | None) -> Advance:
        task_id = self.progress.add_task(description, total=total)
        return lambda n: self.progress.advance(task_id, n)


@contextmanager
def progress_bars() -> Iterator[RichProgress]:
    columns = (
        TextColumn("{task.description:<32}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=False, disable=not err.is_terminal) as bars:
        yield RichProgress(bars)


def settings() -> Settings:
    return Settings()


def engine_for(s: Settings, *, upgrade_schema: bool = True) -> Any:
    """The engine for the configured database, with the schema brought up to date."""
    from baton.store.engine import make_engine
    from baton.store.migrate import upgrade

    engine = make_engine(s.database_url)
    if upgrade_schema:
        upgrade(engine)
    return engine


def contract_text(s: Settings) -> str:
    """The contract file's text, or the built-in default when there is no file."""
    if s.contract_path.is_file():
        return s.contract_path.read_text(encoding="utf-8")
    return default_contract_text()


#: The ``--source`` option every analytics command takes; resolve it with :func:`open_tables`.
SourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        help="Where to read: store (BATON_DATABASE_URL), a DuckDB file, or a Parquet folder from `baton export`.",
    ),
]


def open_tables(source: str) -> Tables:
    """The analytics tables named by a ``--source`` option (see docs/cli.md, Analytics sources)."""
    from baton.analytics.source import open_source

    return open_source(source, settings().database_url)


# -- top-level commands -----------------------------------------------------------------------
@app.command()
@handle_errors
def version() -> None:
    """Print Baton's version."""
    out.print(f"baton {__version__}")


@app.command()
@handle_errors
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the contract.")] = Path("baton.toml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented default alignment contract (baton.toml)."""
    if path.exists() and not force:
        raise BatonError(f"{path} already exists; pass --force to overwrite it")
    path.write_text(default_contract_text(), encoding="utf-8")
    out.print(f"wrote {path}; edit it, then run `baton contract check`")


# -- contract ---------------------------------------------------------------------------------
@contract_app.command("check")
@handle_errors
def contract_check(
    path: Annotated[Path | None, typer.Argument(help="Contract file (default: BATON_CONTRACT or ./baton.toml).")] = None,
) -> None:
    """Validate the contract and report every problem with its key path."""
    target = path or settings().contract_path
    contract = load_contract(target)
    stages = " → ".join(s.key for s in contract.main_path())
    out.print(f"{target}: ok ({len(contract.stages)} stages: {stages}; {len(contract.goals)} goals)")


@contract_app.command("apply")
@handle_errors
def contract_apply(
    path: Annotated[Path | None, typer.Argument(help="Contract file (default: BATON_CONTRACT or ./baton.toml).")] = None,
    effective: Annotated[
        str | None, typer.Option(help="When this version starts to count (ISO date or time).")
    ] = None,
) -> None:
    """Store the contract as a new version with an effective date."""
    from baton.service.contracts import apply_contract
    from baton.store.uow import UnitOfWork

    s = settings()
    target = path or s.contract_path
    text = target.read_text(encoding="utf-8") if target.is_file() else None
    if text is None:
        raise BatonError(f"{target}: no contract there; run `baton init` first")
    when = _parse_when(effective) if effective else None
    with UnitOfWork(engine_for(s)) as uow:
        applied = apply_contract(uow.session, text, clock=system_clock, effective_at=when, source=str(target))
        uow.commit()
    verb = "stored as" if applied.created else "unchanged, still"
    out.print(f"{target}: {verb} version {applied.version}, effective {applied.effective_at:%Y-%m-%d %H:%M %Z}")


@contract_app.command("versions")
@handle_errors
def contract_versions() -> None:
    """List the stored contract versions."""
    from baton.service.contracts import list_versions
    from baton.store.uow import UnitOfWork

    table = Table("version", "effective", "applied", "digest", "note")
    with UnitOfWork(engine_for(settings())) as uow:
        for row in list_versions(uow.session):
            table.add_row(
                str(row.version), f"{row.effective_at:%Y-%m-%d %H:%M}", f"{row.applied_at:%Y-%m-%d %H:%M}",
                row.digest[:12], row.note,
            )
    out.print(table)


def _parse_when(text: str, option: str = "--effective") -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BatonError(f'{option} "{text}" is not a date; use ISO 8601 such as 2026-07-01') from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# -- database ---------------------------------------------------------------------------------
@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Create or upgrade the schema of the configured database (BATON_DATABASE_URL)."""
    from baton.store.engine import make_engine
    from baton.store.migrate import upgrade

    s = settings()
    revision = upgrade(make_engine(s.database_url))
    out.print(f"database at revision {revision}")


@db_app.command("current")
@handle_errors
def db_current() -> None:
    """Show the schema revision of the configured database and whether it is up to date."""
    from baton.store.engine import make_engine
    from baton.store.migrate import current_revision, head_revision

    current = current_revision(make_engine(settings().database_url))
    head = head_revision()
    state = "up to date" if current == head else f"behind; run `baton db upgrade` (head is {head})"
    out.print(f"revision {current or 'none'}: {state}")


# -- import -----------------------------------------------------------------------------------
def _preset_help() -> str:
    from baton.ingest.presets import PRESETS

    return "; ".join(f"{name}: {desc}" for name, (_, desc) in PRESETS.items())


@app.command("import")
@handle_errors
def import_(
    preset: Annotated[str, typer.Argument(help="One of: olist, maven-crm, hubspot-contacts, salesforce-leads, salesforce-opportunities, spend, csv.")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.")],
    mapping: Annotated[Path | None, typer.Option(help="Mapping file for the csv preset.")] = None,
    timezone: Annotated[str, typer.Option(help="Time zone for dates written without one.")] = "UTC",
    source: Annotated[str | None, typer.Option(help="Name of the source system (default: the preset's).")] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Import CRM and marketing exports.

    All or nothing, and safe to repeat: importing the same files again changes nothing.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from baton.ingest.presets import ImportOptions
    from baton.service.imports import run_import

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BatonError(f'--timezone "{timezone}" is not a known time zone; use e.g. "Europe/Berlin"') from None
    s = settings()
    engine = engine_for(s)
    with progress_bars() as bars:
        report = run_import(
            engine, preset, paths,
            contract_text=contract_text(s), clock=system_clock,
            options=ImportOptions(timezone=timezone, mapping=mapping, source=source),
            progress=bars,
        )
    if output == "json":
        out.print_json(json.dumps({"preset": report.preset, "counts": report.counts, "notes": report.notes}))
        return
    out.print(_counts_table(report.counts, f"import {preset}"))
    for note in report.notes:
        out.print(f"note: {note}", highlight=False)
    if not report.changed_anything:
        out.print("nothing changed: everything in these files was already imported")


# -- demo -------------------------------------------------------------------------------------
@app.command()
@handle_errors
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the simulation; same seed, same data.")] = 7,
    leads: Annotated[int, typer.Option(help="How many leads arrive over the 18 months.")] = 20_000,
    end: Annotated[
        str | None,
        typer.Option(help="First day after the simulated months (default: 1st of this month)."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Simulate a B2B funnel, show its scoreboard.

    Fills the database with a seeded, realistic funnel and prints the first scoreboard.
    """
    from baton.demo import run_demo
    from baton.service.scoreboard import funnel_scoreboard

    if output not in ("table", "json"):
        raise BatonError(f'--format "{output}" is not a format; use table or json')
    until = _parse_day(end, "--end") if end else None
    s = settings()
    text = contract_text(s)
    with progress_bars() as bars:
        report = run_demo(
            engine_for(s), contract_text=text, clock=system_clock, seed=seed, leads=leads,
            end=until, progress=bars,
        )
    contract = parse_contract(text)
    board = funnel_scoreboard(s.database_url, contract)
    if output == "json":
        rows = board.astype(object).where(board.notna(), None).to_dict("records")
        run = {"seed": seed, "leads": leads, "end": report.end.isoformat(), "counts": report.counts}
        out.print_json(json.dumps({"demo": run, "funnel": rows}))
        return
    last = report.end - dt.timedelta(days=1)
    out.print(_counts_table(report.counts, f"demo (seed {seed}): {report.start} to {last}"))
    if not report.changed_anything:
        out.print("nothing changed: the demo data was already there")
    for table in _funnel_tables(board, contract):
        out.print(table)


def _counts_table(counts: dict[str, dict[str, int]], title: str) -> Table:
    """What a write did, table by table."""
    table = Table("records", "new", "changed", "unchanged", title=title)
    for name, c in counts.items():
        table.add_row(name, str(c["new"]), str(c["changed"]), str(c["same"]))
    return table


def _parse_day(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        message = f'{option} "{text}" is not a date; use ISO 8601 such as 2026-07-01'
        raise BatonError(message) from None


def _funnel_tables(board: pd.DataFrame, contract: Contract) -> tuple[Table, Table]:
    """Leads reaching each stage, and conversion from the stage before, with channels as rows."""
    from baton.analytics.funnel import OVERALL

    keys = [s.key for s in contract.main_path()]
    by_stage = board.pivot(index="channel", columns="stage", values="reached")
    reached = by_stage.reindex(columns=keys).fillna(0)
    rate = board.pivot(index="channel", columns="stage", values="conversion")
    rate = rate.reindex(columns=keys[:-1])
    mql, won = contract.mql_stage.key, contract.won_stage.key
    look: dict[str, Any] = {"box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True}
    counts = Table("channel", *keys, title="Leads reaching each stage", **look)
    rates = Table(
        "channel", *(f"→{k}" for k in keys[1:]), f"{mql}→{won}",
        title="Conversion from the stage before", **look,
    )
    for table in (counts, rates):
        for column in table.columns:
            column.no_wrap, column.min_width = True, len(str(column.header))
            column.justify = "left" if column is table.columns[0] else "right"
    others = reached.drop(index=OVERALL, errors="ignore").sort_values(keys[0], ascending=False)
    for channel in [*others.index, OVERALL] if OVERALL in reached.index else others.index:
        style = None
        if channel == OVERALL:
            counts.add_section()
            rates.add_section()
            style = "bold"
        counts.add_row(channel, *(f"{int(n):,}" for n in reached.loc[channel]), style=style)
        whole = reached.loc[channel, mql]
        through = reached.loc[channel, won] / whole if whole else None
        rates.add_row(channel, *map(_percent, rate.loc[channel]), _percent(through), style=style)
    return counts, rates


def _percent(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1%}"


# -- scoreboard -------------------------------------------------------------------------------
@app.command()
@handle_errors
def scoreboard(
    period: Annotated[
        str | None, typer.Option(help="2026, 2026-H1, 2026-Q3, 2026-07 or 2026-W47 (default: this quarter).")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Break down by channel, owner or team.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Also print each KPI's definition.")] = False,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    source: SourceOption = "store",
) -> None:
    """Show the shared KPIs of a period, by channel, owner or team.

    Computed inside the store's database; --explain prints how each number is defined.
    """
    from baton.analytics.kpis import KPIS, OVERALL
    from baton.analytics.period import Period
    from baton.service.scoreboard import current_quarter, kpi_scoreboard

    if output not in ("table", "csv", "json"):
        raise BatonError(f'--format "{output}" is not a format; use table, csv or json')
    s = settings()
    contract = parse_contract(contract_text(s))
    if source == "store":
        engine_for(s).dispose()  # brings the schema up to date before analytics read it
    zone = contract.business_hours.zone
    span = Period.parse(period, zone) if period else current_quarter(contract, system_clock())
    tables = open_tables(source)
    try:
        board = kpi_scoreboard(tables, contract, span, by)
    finally:
        tables.close()
    if output == "csv":
        if explain:
            board["definition"] = board["kpi"].map({k.key: k.definition for k in KPIS})
        typer.echo(board.to_csv(index=False), nl=False)
        return
    last = span.end - dt.timedelta(days=1)
    if output == "json":
        rows = board.astype(object).where(board.notna(), None).to_dict("records")
        doc: dict[str, Any] = {
            "period": {"label": span.label, "first": span.first.isoformat(), "last": last.isoformat()},
            "by": by, "currency": contract.organization.currency, "kpis": rows,
        }
        if explain:
            doc["definitions"] = {k.key: {"name": k.name, "unit": k.unit, "definition": k.definition} for k in KPIS}
        out.print_json(json.dumps(doc))
        return
    out.print(
        f"Shared KPIs, {span.label} ({span.first} to {last}); money in {contract.organization.currency}",
        highlight=False,
    )
    for table in _kpi_tables(board):
        out.print(table)
    for row in board[board["value"].isna() & board["note"].notna()].itertuples():
        group = "" if row.group == OVERALL else f", {row.group}"
        out.print(f"{row.name}{group}: {row.note}", highlight=False, markup=False)
    if explain:
        for kpi in KPIS:
            out.print(f"\n[bold]{kpi.name}[/] ({kpi.unit})", highlight=False)
            out.print(kpi.definition, highlight=False, markup=False)


def _kpi_tables(board: pd.DataFrame) -> list[Table]:
    """A table per section of the catalogue, KPIs as columns, groups as rows, the overall last."""
    from baton.analytics.kpis import KPIS, OVERALL
    from baton.analytics.kpis.catalogue import format_value

    tables = []
    for section in dict.fromkeys(k.section for k in KPIS):
        kpis = [k for k in KPIS if k.section == section]
        rows = board[board["kpi"].isin([k.key for k in kpis])]
        values = rows.pivot(index="group", columns="kpi", values="value")
        look: dict[str, Any] = {
            "box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True, "title_justify": "left",
        }
        table = Table("", *(k.short for k in kpis), title=section, **look)
        others = sorted(g for g in values.index if g != OVERALL)
        for column in table.columns[1:]:
            # headers may wrap between words; values (at most "12,345,678") may not
            column.min_width = max(9, *map(len, str(column.header).split()))
            column.justify = "right"
        table.columns[0].no_wrap = True
        for group in [*others, OVERALL]:
            if group not in values.index:
                continue
            if group == OVERALL and others:
                table.add_section()
            cells = (format_value(values.loc[group].get(k.key), k.unit) for k in kpis)
            table.add_row(group, *cells, style="bold" if group == OVERALL else None)
        tables.append(table)
    return tables


# -- sla, goals, plan -------------------------------------------------------------------------
FORMATS = ("table", "csv", "json")
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]
PeriodOption = Annotated[
    str | None,
    typer.Option(help="2026-Q3, 2026-07, 2026-H2, 2026 or 2026-W47 (default: this quarter)."),
]


@contextmanager
def _store_tables(output: str, source: str = "store") -> Iterator[tuple[Tables, Contract]]:
    """The tables of ``--source`` through Ibis and the contract in use, after checking ``--format``."""
    if output not in FORMATS:
        raise BatonError(f'--format "{output}" is not a format; use table, csv or json')
    s = settings()
    contract = parse_contract(contract_text(s))
    tables = open_tables(source)
    try:
        yield tables, contract
    finally:
        tables.close()


def _echo_csv(frame: pd.DataFrame) -> None:
    typer.echo(frame.to_csv(index=False), nl=False)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _look(title: str, *headers: str) -> Table:
    """A report table: first column left, numbers right, nothing wrapped or cut."""
    table = Table(*headers, title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for column in table.columns:
        column.no_wrap = True
        column.justify = "left" if column is table.columns[0] else "right"
    return table


def _show(table: Table) -> None:
    """Print a report table whole, even when it is wider than the terminal."""
    from rich.measure import Measurement

    wanted = Measurement.get(out, out.options.update(width=10_000), table).maximum
    Console(width=max(out.width, wanted)).print(table)  # a narrower console would cut cells


def _number(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


@app.command()
@handle_errors
def sla(
    period: PeriodOption = None,
    by: Annotated[str, typer.Option(help="rep or team.")] = "rep",
    output: FormatOption = "table",
    source: SourceOption = "store",
) -> None:
    """SLA compliance of sales and marketing.

    Sales: MQLs of the period first touched within the SLA's business hours, median time to
    first touch and attempts, by rep or team. Marketing: MQLs per month against the commitment
    and sales' acceptance rate. --format csv prints the sales side only.
    """
    from baton.analytics.funnel import OVERALL
    from baton.service.commitments import period_or_current, sla_report

    if by not in ("rep", "team"):
        raise BatonError(f'--by "{by}" is not a grouping; use rep or team')
    now = system_clock()
    with _store_tables(output, source) as (tables, contract):
        report = sla_report(
            tables, contract, as_of=now, period=period_or_current(period, contract, now),
            by="rep" if by == "rep" else "team",
        )
    if output == "json":
        _echo_json(report.as_dict())
        return
    if output == "csv":
        _echo_csv(report.sales)
        return
    terms, market = contract.sla.sales, contract.sla.marketing
    keys = ["rep", "team"] if by == "rep" else ["team"]
    sales = _look(
        f"Sales SLA, MQLs of {report.period.label}: first touch within "
        f"{terms.first_touch_hours:g} business hours, {terms.attempts} attempts in "
        f"{terms.attempts_within_days} business days",
        *keys, "MQLs", "within", "breached", "open", "within %", "median h", "attempts",
        "per MQL", "attempts met %",
    )
    for row in report.sales.itertuples(index=False):
        overall = row.team == OVERALL
        if overall:
            sales.add_section()
        sales.add_row(
            *(str(getattr(row, k)) for k in keys), _number(row.mqls), _number(row.within),
            _number(row.breached), _number(row.open), _percent(row.within_rate),
            _number(row.median_hours, 1), _number(row.attempts), _number(row.attempts_per_mql, 1),
            _percent(row.attempts_rate), style="bold" if overall else None,
        )
    volume = _look(
        f"Marketing SLA: {market.mql_per_month:,} MQLs a month", "month", "MQLs", "commitment",
        "share", "state",
    )
    for v in report.volume.itertuples(index=False):
        volume.add_row(v.month, _number(v.mqls), _number(v.commitment), _percent(v.share), v.state)
    _show(sales)
    _show(volume)
    a = report.acceptance
    line = (
        f"Acceptance: sales accepted {a.accepted:,} and rejected {a.rejected:,} MQLs "
        f"({a.pending:,} pending): {_percent(a.rate)}, "
        f"{'meets' if a.met else 'below'} the {a.target:.0%} minimum"
    )
    if a.met is None:
        line = (
            f"Acceptance: no MQL accepted or rejected yet ({a.pending:,} pending); "
            f"minimum {a.target:.0%}"
        )
    out.print(line, highlight=False)


@app.command()
@handle_errors
def goals(output: FormatOption = "table", source: SourceOption = "store") -> None:
    """Progress to the contract's shared goals.

    Actual so far in each goal's period, share of the target, and whether it is on track.
    """
    from baton.service.commitments import goals_report, records

    with _store_tables(output, source) as (tables, contract):
        progress = goals_report(tables, contract, as_of=system_clock())
    if output == "json":
        _echo_json(records(progress))
        return
    if output == "csv":
        _echo_csv(progress)
        return
    table = _look(
        "Shared goals", "goal", "metric", "period", "target", "actual", "share", "expected",
        "status",
    )
    for g in progress.itertuples(index=False):
        status = {"ended": ("met", "missed"), "in progress": ("on track", "behind")}.get(
            g.state, (g.state, g.state)
        )[0 if g.on_track else 1]
        table.add_row(
            g.label or g.key, g.metric, g.period, _number(g.target), _number(g.actual),
            _percent(g.share), _percent(g.expected_share), status,
        )
    if not len(progress):
        out.print("the contract sets no goals; add [[goals]] to it")
        return
    _show(table)


@app.command()
@handle_errors
def plan(
    revenue: Annotated[float, typer.Option(help="The revenue goal, in the contract's currency.")],
    period: PeriodOption = None,
    output: FormatOption = "table",
    source: SourceOption = "store",
) -> None:
    """What a revenue goal needs at each funnel stage.

    Customers, opportunities, SQLs, MQLs and leads, at the conversion rates and deal size of the
    four quarters before the period.
    """
    from baton.service.commitments import period_or_current, records, revenue_plan

    now = system_clock()
    with _store_tables(output, source) as (tables, contract):
        result = revenue_plan(
            tables, contract, revenue, as_of=now, period=period_or_current(period, contract, now)
        )
    lookback = f"{result.lookback.first} to {result.lookback.end - dt.timedelta(days=1)}"
    if output == "json":
        _echo_json({
            "revenue": revenue, "period": result.period.label, "lookback": lookback,
            "steps": records(result.steps),
        })  # fmt: skip
        return
    if output == "csv":
        _echo_csv(result.steps)
        return
    currency = contract.organization.currency
    table = _look(
        f"Plan for {revenue:,.0f} {currency} in {result.period.label} (rates from {lookback})",
        "step", "needed", "so far", "at", "rate", "from",
    )
    for p in records(result.steps):
        rate = _number(p["rate"]) if p["step"] == "customers" else _percent(p["rate"])
        table.add_row(
            p["step"], _number(p["needed"]), _number(p["so_far"]), p["rate_name"] or "",
            rate if p["rate_name"] else "", p["basis"] or "",
        )
    _show(table)

# -- funnel -----------------------------------------------------------------------------------
@app.command("funnel")
@handle_errors
def funnel_(
    by: Annotated[str | None, typer.Option(help="Break down by channel, campaign, segment, team or owner.")] = None,
    cohort: Annotated[str | None, typer.Option(help="Group leads by the week, month or quarter they entered.")] = None,
    period: Annotated[str | None, typer.Option(help="Only leads entering in this period, e.g. 2026-Q3.")] = None,
    stages: Annotated[str | None, typer.Option(help="Stages to pair up, e.g. mql,customer (default: all).")] = None,
    stuck: Annotated[bool, typer.Option("--stuck", help="List leads stuck in a stage instead.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Judge stuck leads at this time (default: now).")] = None,
    output: FormatOption = "table",
    source: SourceOption = "store",
) -> None:
    """Funnel conversion and time between stages, or the stuck leads.

    Counts, conversion and median, p75 and p90 days per pair of stages; by cohort and breakdown.
    """
    from baton.service.funnel import funnel_report, stuck_report

    keys = [k.strip() for k in stages.split(",") if k.strip()] if stages else None
    when = _parse_when(as_of, "--as-of") if as_of else system_clock()
    with _store_tables(output, source) as (tables, contract):
        if stuck:
            frame = stuck_report(tables, contract, as_of=when)
        else:
            frame = funnel_report(tables, contract, by=by, cohort=cohort, period=period, stages=keys)
    if output == "csv":
        _echo_csv(frame)
    elif output == "json":
        rows = json.loads(frame.to_json(orient="records", date_format="iso"))
        _echo_json({"stuck": rows, "as_of": when.isoformat()} if stuck else {"funnel": rows})
    elif stuck:
        _show(_stuck_table(frame, when))
    else:
        _show(_funnel_pairs_table(frame, by, cohort, period))


def _funnel_pairs_table(frame: pd.DataFrame, by: str | None, cohort: str | None, period: str | None) -> Table:
    """One row per pair of stages under a heading per group; the overall group last."""
    from baton.analytics.funnel import OVERALL

    groups = [c for c in (by, "cohort" if cohort else None) if c]
    title = "Funnel" + (f", {period}" if period else "") + (f", by {by}" if by else "")
    title += (f", {cohort}ly cohorts" if cohort else "") + " (times in days)"
    table = _look(title, "stage", "entered", "went on", "rate", "timed", "median", "p75", "p90")
    if by:
        frame = frame.assign(_last=frame[by] == OVERALL).sort_values(["_last", *groups, "step"])
    previous = None
    for row in frame.itertuples(index=False):
        group = tuple(str(getattr(row, g)) for g in groups)
        if group and group != previous:
            if previous is not None:
                table.add_section()
            table.add_row(" · ".join(group), style="bold")
        table.add_row(
            f"{'  ' if group else ''}{row.stage} → {row.next_stage}", _number(row.entered),
            _number(row.converted), _percent(row.conversion), _number(row.timed),
            *(_number(v, 1) for v in (row.median_days, row.p75_days, row.p90_days)),
        )
        previous = group
    return table


def _stuck_table(frame: pd.DataFrame, when: dt.datetime) -> Table:
    table = _look(
        f"Stuck leads at {when:%Y-%m-%d %H:%M %Z} ({len(frame)})",
        "lead", "email", "owner", "stage", "entered", "days", "limit",
    )
    for column in table.columns[1:5]:
        column.justify = "left"
    for row in frame.itertuples(index=False):
        table.add_row(
            row.external_id, row.email or "", row.owner, row.stage,
            f"{row.entered_at:%Y-%m-%d %H:%M}", _number(row.days_in_stage, 1), str(row.stuck_after_days),
        )
    return table


# -- export, and where analytics read -----------------------------------------------------------
export_app = typer.Typer(help="Copy the store's tables to Parquet or DuckDB for analytics.", no_args_is_help=True)
app.add_typer(export_app, name="export")

ExportTables = Annotated[
    list[str] | None,
    typer.Option("--tables", help="Tables to export, comma-separated or repeated (default: all)."),
]
ExportForce = Annotated[bool, typer.Option("--force", help="Overwrite what an earlier export wrote.")]

@export_app.command("parquet")
@handle_errors
def export_parquet(
    folder: Annotated[Path, typer.Argument(help="Folder for the <table>.parquet files.")],
    tables: ExportTables = None,
    force: ExportForce = False,
) -> None:
    """Write the store's tables to FOLDER/<table>.parquet."""
    from baton.analytics.export import export_parquet as export

    _export(export, folder, tables, force)


@export_app.command("duckdb")
@handle_errors
def export_duckdb(
    file: Annotated[Path, typer.Argument(help="The DuckDB database file to write.")],
    tables: ExportTables = None,
    force: ExportForce = False,
) -> None:
    """Write the store's tables into one DuckDB database file."""
    from baton.analytics.export import export_duckdb as export

    _export(export, file, tables, force)


def _export(export: Callable[..., dict[str, int]], target: Path, tables: list[str] | None, force: bool) -> None:
    from baton.analytics.source import from_store

    names = [n.strip() for value in tables or [] for n in value.split(",") if n.strip()]
    source = from_store(settings().database_url)
    try:
        with progress_bars() as bars:
            rows = export(source, target, names=names or None, force=force, progress=bars)
    finally:
        source.close()
    table = Table("table", "rows", title=f"exported to {target}")
    table.columns[1].justify = "right"
    for name, count in rows.items():
        table.add_row(name, f"{count:,}")
    out.print(table)


# -- serve and API tokens ---------------------------------------------------------------------
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Server processes (PostgreSQL; keep 1 on SQLite).")
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log every request.")
    ] = False,
    log_level: Annotated[
        str, typer.Option(help="critical, error, warning, info or debug.")
    ] = "info",
) -> None:
    """Run the API: Segment-compatible ingestion and the JSON API.

    Upgrades the schema first; OpenAPI docs at /docs.
    """
    import uvicorn

    from baton.web.app import create_app

    if workers < 1:
        raise BatonError(f"--workers {workers}: give 1 or more")
    s = settings()
    engine_for(s).dispose()
    options: dict[str, Any] = {
        "host": host, "port": port, "log_level": log_level, "access_log": access_log,
    }  # fmt: skip
    if workers == 1:
        uvicorn.run(create_app(s, writer_process=s.serve_writer != "thread"), **options)
    else:  # each process builds its app from the environment
        uvicorn.run("baton.web.app:app_from_environment", factory=True, workers=workers, **options)


@token_app.command("create")
@handle_errors
def token_create(
    name: Annotated[str, typer.Option(help='What the token is for, e.g. "website".')],
    scope: Annotated[
        list[str], typer.Option(help="ingest, read, write or admin; repeat or comma-separate.")
    ],
) -> None:
    """Create an API token and print it once."""
    from baton.service.tokens import create_token
    from baton.store.uow import UnitOfWork

    with UnitOfWork(engine_for(settings())) as uow:
        row, secret = create_token(uow.session, name, scope, clock=system_clock)
        uow.commit()
    err.print(f'token {row.id} "{row.name}" with scopes {row.scopes.replace(" ", ", ")}; '
              "it is shown only now, store it safely:", highlight=False)  # fmt: skip
    typer.echo(secret)


@token_app.command("list")
@handle_errors
def token_list(
    all_: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    output: FormatOption = "table",
) -> None:
    """List API tokens (never their secrets)."""
    from baton.service.tokens import list_tokens
    from baton.store.uow import UnitOfWork

    if output not in FORMATS:
        raise BatonError(f'--format "{output}" is not a format; use table, csv or json')
    with UnitOfWork(engine_for(settings())) as uow:
        rows: list[dict[str, Any]] = [
            {"id": r.id, "name": r.name, "prefix": r.prefix, "scopes": r.scopes,
             "created_at": r.created_at.isoformat(timespec="seconds"),
             "revoked_at": r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else None}
            for r in list_tokens(uow.session, include_revoked=all_)
        ]  # fmt: skip
    if output == "json":
        _echo_json(rows)
        return
    if output == "csv":
        import pandas as pd

        columns = ["id", "name", "prefix", "scopes", "created_at", "revoked_at"]
        _echo_csv(pd.DataFrame(rows, columns=columns))
        return
    table = _look("API tokens", "id", "name", "starts with", "scopes", "created", "revoked")
    for r in rows:
        table.add_row(
            str(r["id"]), r["name"], r["prefix"] + "…", r["scopes"], r["created_at"],
            r["revoked_at"] or "",
        )  # fmt: skip
    _show(table)


@token_app.command("revoke")
@handle_errors
def token_revoke(
    token: Annotated[
        str, typer.Argument(help="The token's id, or its name when one active token has it.")
    ],
) -> None:
    """Revoke an API token; requests with it are refused from then on."""
    from baton.service.tokens import revoke_token
    from baton.store.uow import UnitOfWork

    with UnitOfWork(engine_for(settings())) as uow:
        row = revoke_token(uow.session, token, clock=system_clock)
        uow.commit()
    out.print(f'token {row.id} "{row.name}" revoked', highlight=False)


# -- dashboard logins -------------------------------------------------------------------------
user_app = typer.Typer(help="Create and list the people who sign in to the dashboard.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin with --password-stdin, else asked twice, hidden."""
    import sys

    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise BatonError("--password-stdin: standard input had no password line")
        return line.rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Repeat the password", hide_input=True) != first:
        raise BatonError("the two passwords differ; run the command again")
    return str(first)


@user_app.command("create")
@handle_errors
def user_create(
    email: Annotated[str, typer.Option(help="The email they sign in with; a rep's CRM email links them to their leads.")],
    name: Annotated[str, typer.Option(help="Their name as the dashboard shows it.")],
    role: Annotated[str, typer.Option(help="admin, marketing, sales, sales-manager or viewer.")],
    team: Annotated[str | None, typer.Option(help="Their team's name (a sales manager sees this team's leads).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Let a person sign in to the dashboard with a role.

    The password is asked for (or read with --password-stdin) and stored as an argon2 hash.
    """
    from baton.service.web_users import check_password, check_role, create_login
    from baton.store.uow import UnitOfWork

    check_role(role)
    password = check_password(_read_password(password_stdin))
    with UnitOfWork(engine_for(settings())) as uow:
        login, linked = create_login(
            uow.session, email=email, name=name, role=role, password=password, team=team,
            clock=system_clock,
        )  # fmt: skip
        uow.commit()
    how = f"linked to user {login.user_id}, who was already in the store" if linked else (
        f"as new user {login.user_id}"
    )
    out.print(f"{login.email} can sign in as {login.role} ({how})", highlight=False)


@user_app.command("list")
@handle_errors
def user_list(output: JsonOption = "table") -> None:
    """List the people who can sign in to the dashboard, with their roles."""
    from baton.service.web_users import list_logins
    from baton.store.uow import UnitOfWork

    if output not in ("table", "json"):
        raise BatonError(f'--format "{output}" is not a format; use table or json')
    with UnitOfWork(engine_for(settings())) as uow:
        rows: list[dict[str, Any]] = [
            {"email": login.email, "name": user.name, "role": login.role, "user_id": user.id,
             "team_id": user.team_id, "disabled": login.disabled_at is not None,
             "last_login_at": login.last_login_at.isoformat(timespec="seconds") if login.last_login_at else None}
            for login, user in list_logins(uow.session)
        ]  # fmt: skip
    if output == "json":
        _echo_json(rows)
        return
    table = _look("Dashboard logins", "email", "name", "role", "user", "last sign-in")
    for r in rows:
        table.add_row(r["email"], r["name"], r["role"], str(r["user_id"]), r["last_login_at"] or "")
    _show(table)


# -- handoff: sales actions on a lead, routing, reps, the worker ------------------------------
lead_app = typer.Typer(
    help="Accept, reject, log follow-up, explain a lead's routing.", no_args_is_help=True
)
route_app = typer.Typer(
    help="Try the contract's routing rules on past leads.", no_args_is_help=True
)
rep_app = typer.Typer(help="Set and list reps' routing availability.", no_args_is_help=True)
app.add_typer(lead_app, name="lead")
app.add_typer(route_app, name="route")
app.add_typer(rep_app, name="rep")

LeadArg = Annotated[str, typer.Argument(help="The lead's id, or its email address.")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Email of the rep acting (default: the lead's owner).")
]
NoteOption = Annotated[str | None, typer.Option("--note", help="Free text kept with the action.")]
KindOption = Annotated[str, typer.Option("--kind", help="call, email or meeting.")]
JsonOption = Annotated[str, typer.Option("--format", help="table or json.")]


def _uow() -> Any:
    from baton.store.uow import UnitOfWork

    return UnitOfWork(engine_for(settings()))


def _lead_action(lead: str, output: str, act: Callable[[Any, int], Any]) -> None:
    """Resolve LEAD, run one sales action in one transaction, print what it did."""
    from baton.store.handoff import find_lead

    if output not in ("table", "json"):
        raise BatonError(f'--format "{output}" is not a format; use table or json')
    with _uow() as uow:
        result = act(uow, find_lead(uow.session, lead))
        uow.commit()
    if output == "json":
        _echo_json(result.as_dict())
        return
    moved = (
        f"{result.stage_from} → {result.stage_to}"
        if result.stage_from != result.stage_to
        else f"in {result.stage_to}"
    )
    parts = [f"lead {result.lead_id}: {result.action} by {result.by or 'sales'} ({moved})"]
    if result.reason and result.action == "reject":
        parts.append(f"reason {result.reason}")
    if result.attempts is not None and result.action in ("attempt", "connect"):
        parts.append(f"{result.attempts} attempt{'s' if result.attempts != 1 else ''} so far")
    if result.first_touch:
        parts.append("first touch: the SLA clock stopped")
    if result.timers_cancelled:
        parts.append(f"{result.timers_cancelled} SLA timers stopped")
    out.print("; ".join(parts), highlight=False)


@lead_app.command("accept")
@handle_errors
def lead_accept(
    lead: LeadArg, by: ByOption = None, note: NoteOption = None, output: JsonOption = "table"
) -> None:
    """Accept a lead: it moves to the SQL stage and its SLA clock stops."""
    from baton.service.handoff import accept_lead

    _lead_action(
        lead, output, lambda uow, i: accept_lead(uow, i, clock=system_clock, by=by, note=note)
    )


@lead_app.command("reject")
@handle_errors
def lead_reject(
    lead: LeadArg,
    reason: Annotated[
        str, typer.Option("--reason", help="A rejection_reasons key of the contract.")
    ],
    by: ByOption = None,
    note: NoteOption = None,
    output: JsonOption = "table",
) -> None:
    """Reject a lead with a reason code: it goes back to marketing."""
    from baton.service.handoff import reject_lead

    _lead_action(
        lead,
        output,
        lambda uow, i: reject_lead(uow, i, reason, clock=system_clock, by=by, note=note),
    )


@lead_app.command("attempt")
@handle_errors
def lead_attempt(
    lead: LeadArg,
    by: ByOption = None,
    kind: KindOption = "call",
    note: NoteOption = None,
    output: JsonOption = "table",
) -> None:
    """Log a follow-up attempt; the first one stops the first-touch clock."""
    from baton.service.handoff import log_attempt

    _lead_action(
        lead,
        output,
        lambda uow, i: log_attempt(uow, i, clock=system_clock, by=by, kind=kind, note=note),
    )


@lead_app.command("connect")
@handle_errors
def lead_connect(
    lead: LeadArg,
    by: ByOption = None,
    kind: KindOption = "call",
    note: NoteOption = None,
    output: JsonOption = "table",
) -> None:
    """Log a follow-up that reached the person (counts as an attempt too)."""
    from baton.service.handoff import log_connect

    _lead_action(
        lead,
        output,
        lambda uow, i: log_connect(uow, i, clock=system_clock, by=by, kind=kind, note=note),
    )


@lead_app.command("route")
@handle_errors
def lead_route(lead: LeadArg, output: JsonOption = "table") -> None:
    """Route a lead now, as on MQL (a lead with an open assignment is left alone)."""
    from baton.service.routing import route_lead
    from baton.store.handoff import find_lead

    with _uow() as uow:
        result = route_lead(uow, find_lead(uow.session, lead), clock=system_clock, trigger="manual")
        uow.commit()
    if output == "json":
        _echo_json(result.as_dict())
        return
    if result.already_routed:
        out.print(
            f"lead {result.lead_id} already has an open assignment: {result.assignee}",
            highlight=False,
        )
    elif result.assignee is None:
        out.print(f"lead {result.lead_id}: {result.reason}", highlight=False)
    else:
        due = f"{result.first_touch_due:%Y-%m-%d %H:%M %Z}" if result.first_touch_due else "-"
        out.print(
            f"lead {result.lead_id} → {result.assignee} (first touch due {due})\n"
            f"why: {result.reason}",
            highlight=False,
        )


@lead_app.command("routing")
@handle_errors
def lead_routing(lead: LeadArg, output: JsonOption = "table") -> None:
    """Why a lead went to its owner: every routing decision and its SLA timers."""
    from baton.service.routing import explain_routing
    from baton.store.handoff import find_lead

    with _uow() as uow:
        found = explain_routing(uow, find_lead(uow.session, lead))
    if output == "json":
        _echo_json(found.as_dict())
        return
    out.print(
        f"{found.lead}: stage {found.stage}, owner {found.owner or '(none)'}", highlight=False
    )
    if not found.decisions:
        out.print("never routed", highlight=False)
        return
    out.print(f"why: {found.decisions[0].reason}", highlight=False)
    table = _look("Routing decisions, newest first", "at (UTC)", "trigger", "to", "rule", "version")
    for d in found.decisions:
        table.add_row(
            f"{d.at:%Y-%m-%d %H:%M}",
            d.trigger,
            d.assignee or "(nobody)",
            d.rule or "-",
            str(d.contract_version or "-"),
        )
    _show(table)
    if found.assignment:
        a = found.assignment
        out.print(
            f"assignment: {a['rep']} {a['status']}, first touch due {a['first_touch_due']}, "
            f"first touch {a['first_touch_at'] or '-'}, {a['attempts']} attempts",
            highlight=False,
        )
        timers = _look("SLA timers", "kind", "due (UTC)", "status", "result")
        for x in found.timers:
            kind = f"{x.kind} {x.share:.0%}" if x.kind == "reminder" and x.share else x.kind
            timers.add_row(
                kind,
                f"{x.due_at:%Y-%m-%d %H:%M}",
                x.status,
                json.dumps(x.result) if x.result else "",
            )
        _show(timers)


@route_app.command("dry-run")
@handle_errors
def route_dry_run(
    since: Annotated[str, typer.Option("--since", help="First day of MQLs to replay (ISO date).")],
    until: Annotated[
        str | None, typer.Option("--until", help="Day after the last (default: now).")
    ] = None,
    output: FormatOption = "table",
) -> None:
    """Replay past MQLs through today's routing rules: load per rep and fairness."""
    from baton.service.route_replay import replay_routing

    if output not in FORMATS:
        raise BatonError(f'--format "{output}" is not a format; use table, csv or json')
    start = _parse_when(since, "--since")
    end = _parse_when(until, "--until") if until else system_clock()
    with _uow() as uow:
        report = replay_routing(uow, since=start, until=end, now=system_clock())
    if output == "json":
        _echo_json(report.as_dict())
        return
    if output == "csv":
        import pandas as pd

        _echo_csv(
            pd.DataFrame([{**r.as_dict(), "by_step": json.dumps(r.by_step)} for r in report.reps])
        )
        return
    out.print(
        f"{report.mqls:,} MQLs from {start:%Y-%m-%d} to {end:%Y-%m-%d} replayed through contract "
        f"version {report.contract_version}: {report.assigned:,} assigned, "
        f"{report.unassigned:,} to nobody "
        f"({report.elapsed_ms:,.0f} ms)",
        highlight=False,
    )
    table = _look("Load per rep", "rep", "team", "weight", "leads", "share", "by step")
    for r in report.reps:
        steps = ", ".join(f"{k} {v}" for k, v in sorted(r.by_step.items(), key=lambda kv: -kv[1]))
        table.add_row(
            r.rep, r.team or "-", f"{r.weight:g}", f"{r.leads:,}", _percent(r.share), steps
        )
    _show(table)
    pools = _look(
        "Fairness per round-robin pool (load per unit of weight)",
        "pool",
        "leads",
        "reps",
        "max/min",
        "Gini",
    )
    for p in report.pools:
        pools.add_row(
            p.pool, f"{p.leads:,}", str(p.reps), _number(p.max_min_ratio, 2), _number(p.gini, 3)
        )
    _show(pools)


@rep_app.command("set")
@handle_errors
def rep_set(
    email: Annotated[str, typer.Argument(help="The rep's email; a new email adds the rep.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    team: Annotated[
        str | None, typer.Option(help="Team name (made if new); empty to leave the team.")
    ] = None,
    manager: Annotated[
        bool, typer.Option("--manager", help="Make the rep the manager of their team.")
    ] = False,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Whether the rep takes leads.")
    ] = None,
    weight: Annotated[
        float | None, typer.Option(help="Share of round-robin leads (default 1).")
    ] = None,
    capacity: Annotated[
        int | None, typer.Option(help="Most open leads at once; 0 for the contract's.")
    ] = None,
    per_day: Annotated[
        int | None, typer.Option("--per-day", help="Most new leads a day; 0 for the contract's.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="The rep's time zone; empty for the contract's.")
    ] = None,
    days: Annotated[str | None, typer.Option(help="Working days, e.g. mon,tue,wed,thu.")] = None,
    hours: Annotated[
        str | None, typer.Option(help="Working hours, e.g. 08:00-16:00; empty for the contract's.")
    ] = None,
    ooo: Annotated[
        list[str] | None, typer.Option("--ooo", help="Days out of office, FIRST:LAST (repeatable).")
    ] = None,
    clear_ooo: Annotated[
        bool, typer.Option("--clear-ooo", help="Remove stored days out of office first.")
    ] = False,
) -> None:
    """Add a rep or change their routing availability."""
    from baton.service.reps import set_rep

    with _uow() as uow:
        view = set_rep(
            uow,
            email,
            clock=system_clock,
            name=name,
            team=team,
            manager=manager or None,
            active=active,
            weight=weight,
            max_open=capacity,
            max_per_day=per_day,
            timezone=timezone,
            days=days.split(",") if days is not None else None,
            hours=hours,
            time_off=ooo or [],
            clear_time_off=clear_ooo,
        )
        uow.commit()
    _rep_table([view], f"rep {view.email}")


@rep_app.command("list")
@handle_errors
def rep_list(output: JsonOption = "table") -> None:
    """List reps with their team, weight, caps, hours, time off and open leads."""
    from baton.service.reps import list_reps

    with _uow() as uow:
        views = list_reps(uow)
    if output == "json":
        _echo_json([v.as_dict() for v in views])
        return
    _rep_table(views, "Reps")


def _rep_table(views: list[Any], title: str) -> None:
    table = _look(
        title,
        "rep",
        "team",
        "role",
        "active",
        "weight",
        "max open",
        "per day",
        "hours",
        "out of office",
        "open",
    )
    for v in views:
        hours = " ".join(x for x in (v.days, v.hours, v.timezone) if x) or "contract's"
        off = ", ".join(f"{a}:{b}" for a, b in v.time_off) or "-"
        table.add_row(
            v.email or v.name,
            v.team or "-",
            v.role,
            "yes" if v.active else "no",
            f"{v.weight:g}",
            str(v.max_open or "-"),
            str(v.max_per_day or "-"),
            hours,
            off,
            str(v.open_leads),
        )
    _show(table)


@app.command()
@handle_errors
def worker(
    once: Annotated[bool, typer.Option("--once", help="Run what is due, then stop.")] = False,
    concurrency: Annotated[
        int, typer.Option(help="Worker threads (PostgreSQL only; SQLite runs one).")
    ] = 1,
) -> None:
    """Run due SLA timers and send queued notifications.

    Email over SMTP and Slack-compatible webhooks, from the outbox, with retries.
    """
    import signal
    import threading

    from baton.worker import run_workers

    if concurrency < 1:
        raise BatonError(f"--concurrency {concurrency} must be 1 or more")
    s = settings()
    engine = engine_for(s)
    if engine.dialect.name == "sqlite" and concurrency > 1:
        err.print("note: SQLite has one writer at a time; running one worker", highlight=False)
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        err.print(
            f"worker running on {engine.url.render_as_string(hide_password=True)}; Ctrl-C stops it",
            highlight=False,
        )
    stats = run_workers(engine, s, concurrency=concurrency, once=once, stop=stop)
    d = stats.as_dict()
    out.print(
        f"ran {d['timers_run']} timers ({d['timers_failed']} failed); "
        f"sent {d['sent']} notifications, {d['retried']} to retry, {d['failed']} failed, "
        f"{d['skipped']} skipped (channel not configured)",
        highlight=False,
    )
# -- score: rule models from the contract -------------------------------------------------------
score_app = typer.Typer(
    help="Rule and predictive lead scores, and why.",
    no_args_is_help=True,
)
app.add_typer(score_app, name="score")


@score_app.command("run")
@handle_errors
def score_run(
    model: Annotated[
        str | None, typer.Option("--model", help="Only the leads this model scores (default: all).")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Score as of this time, ISO 8601 (default: now).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Rescore every open lead; move those that reach the MQL threshold.

    Scores each lead with the first contract model that applies, logs the score and its
    breakdown, and moves leads that now meet the MQL rule to the MQL stage.
    """
    from baton.service.scoring import rescore_open_leads

    if output not in ("table", "json"):
        raise BatonError(f'--format "{output}" is not a format; use table or json')
    s = settings()
    when = _parse_when(at, "--at") if at else None
    with progress_bars() as bars:
        report = rescore_open_leads(
            engine_for(s), clock=system_clock, at=when, model=model,
            contract_text=contract_text(s), progress=bars,
        )  # fmt: skip
    if output == "json":
        _echo_json(report.as_dict())
        return
    table = _look(
        f"Scored at {report.at:%Y-%m-%d %H:%M %Z} (contract version {report.contract_version})",
        "model", "scored", f"at {report.threshold:g}+", "became MQL",
    )  # fmt: skip
    for key, count in sorted(report.by_model.items()):
        table.add_row(
            key, _number(count), _number(report.at_threshold[key]),
            _number(report.mql_by_model[key]),
        )  # fmt: skip
    table.add_section()
    table.add_row(
        "all models", _number(report.scored), _number(sum(report.at_threshold.values())),
        _number(report.mqls), style="bold",
    )  # fmt: skip
    _show(table)
    out.print(
        f"{report.scored:,} of {report.open_leads:,} open leads scored; "
        f"{report.mqls:,} became MQL",
        highlight=False,
    )
    if report.unmatched:
        out.print(
            f"note: {report.unmatched:,} leads matched no model"
            + (f' (or another model than "{model}")' if model else "")
            + "; a model without applies_to scores every lead",
            highlight=False,
        )
    if report.held_back:
        out.print(
            f"note: {report.held_back:,} leads reached the threshold but lack a required field "
            "(qualification.mql.required_fields)",
            highlight=False,
        )
    if report.refused:
        out.print(f"note: the lifecycle refused {report.refused:,} moves to MQL:", highlight=False)
        for line in report.refusals:
            out.print(f"  {line}", highlight=False, markup=False)


@score_app.command("show")
@handle_errors
def score_show(
    lead: Annotated[
        str, typer.Argument(help="The lead: its number, its id in its source, or SOURCE:ID.")
    ],
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Print a lead's latest score and the points each rule gave."""
    from baton.service.scoring import latest_score
    from baton.store.uow import UnitOfWork

    if output not in ("table", "json"):
        raise BatonError(f'--format "{output}" is not a format; use table or json')
    with UnitOfWork(engine_for(settings())) as uow:
        stored = latest_score(uow.session, lead)
    if output == "json":
        _echo_json(stored.as_dict())
        return
    version = f"contract version {stored.contract_version or '-'}"
    out.print(
        f"lead {stored.external_id} ({stored.source}, number {stored.lead_id}), "
        f"stage {stored.stage or '-'}: score {stored.score:g} "
        f"(fit {stored.fit:g} + engagement {stored.engagement:g})",
        highlight=False,
    )
    out.print(
        f"model {stored.model} (version {stored.model_version[:12]}, {version}), "
        f"scored at {stored.scored_at:%Y-%m-%d %H:%M %Z}",
        highlight=False,
    )
    table = _look("Breakdown", "part", "rule", "points", "detail")
    table.columns[1].justify = table.columns[3].justify = "left"
    part = None
    for line in stored.lines:
        if part is not None and line.part != part:
            table.add_section()
        part = line.part
        table.add_row(line.part.value, line.rule, f"{line.points:+g}", line.detail)
    table.add_section()
    table.add_row("score", "", f"{stored.score:g}", "", style="bold")
    _show(table)
# -- attribution --------------------------------------------------------------------------------
@app.command()
@handle_errors
def attribution(
    model: Annotated[
        str, typer.Option(help="The model to show first (see --list).")
    ] = "w-shaped",
    compare: Annotated[
        str | None,
        typer.Option(help="More models side by side, comma-separated: first,last,linear."),
    ] = None,
    level: Annotated[
        str, typer.Option(help="contact or account (the buying committee).")
    ] = "account",
    outcome: Annotated[str, typer.Option(help="lead, mql, sql, opportunity or won.")] = "won",
    by: Annotated[str, typer.Option(help="channel or campaign: what credit goes to.")] = "channel",
    period: Annotated[
        str | None,
        typer.Option(help="Only conversions in this period, e.g. 2026-Q3 (default: all)."),
    ] = None,
    half_life: Annotated[
        float | None,
        typer.Option("--half-life", help="Time decay half-life in days (default: the contract's)."),
    ] = None,
    lookback_days: Annotated[
        int | None,
        typer.Option(
            "--lookback-days",
            help="Days of touches before a conversion, 0 for all (default: the contract's).",
        ),
    ] = None,
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Store the results as snapshots.")
    ] = True,
    list_models: Annotated[bool, typer.Option("--list", help="List the models and exit.")] = False,
    output: FormatOption = "table",
    source: SourceOption = "store",
) -> None:
    """Credit conversions and revenue to channels or campaigns.

    Runs attribution models side by side on the journeys before each outcome, checks that each
    gives out exactly the conversions and value there were, and stores each result as a snapshot.
    """
    from baton.analytics.period import Period
    from baton.service.attribution import AttributionQuery, attribute, model_list, records

    if list_models:
        s = settings()
        table = _look("Attribution models", "model", "what it does", "parameters")
        table.columns[1].justify = table.columns[2].justify = "left"
        for name, summary, params in model_list(parse_contract(contract_text(s)).attribution):
            table.add_row(name, summary, ", ".join(params))
        _show(table)
        return
    names = [model, *(n.strip() for n in (compare or "").split(",") if n.strip())]
    with _store_tables(output, source) as (tables, contract):
        span = Period.parse(period, contract.business_hours.zone) if period else None
        query = AttributionQuery(
            models=tuple(names), outcome=outcome, level=level, by=by, period=span,
            lookback_days=lookback_days, half_life_days=half_life,
        )  # fmt: skip
        result = attribute(tables, contract, query)
    ids: list[int] = []
    if save:
        from baton.service.attribution import save_snapshots
        from baton.store.uow import UnitOfWork

        with UnitOfWork(engine_for(settings())) as uow:
            ids = save_snapshots(uow.session, result, clock=system_clock)
            uow.commit()
    if output == "json":
        _echo_json({
            "outcome": outcome, "level": level, "by": by, "period": span.label if span else None,
            "lookback_days": result.lookback_days, "engine": result.engine,
            "totals": result.totals.as_dict(),
            "models": [
                {"model": m, "parameters": result.parameters[m],
                 "snapshot_id": ids[i] if ids else None}
                for i, m in enumerate(result.models)
            ],
            "reconciliation": records(result.reconciliation),
            "credit": records(result.credit),
        })  # fmt: skip
        return
    if output == "csv":
        _echo_csv(result.credit)
        return
    _show(_attribution_table(result, contract.organization.currency))
    worst = float(result.reconciliation["relative_residual"].max())
    if bool(result.reconciliation["reconciled"].all()):
        out.print(
            f"Every model gives out exactly the {result.totals.conversions:,.0f} conversions and "
            f"{result.totals.value:,.2f} of value (largest residual {worst:.1e} of the total).",
            highlight=False,
        )
    else:
        bad = result.reconciliation.loc[~result.reconciliation["reconciled"], "model"].tolist()
        err.print(
            f"[bold red]warning:[/] credit does not add up to the totals for: {', '.join(bad)}"
        )
    if ids:
        plural = "s" if len(ids) > 1 else ""
        out.print(f"saved as snapshot{plural} {', '.join(map(str, ids))}", highlight=False)


@app.command()
@handle_errors
def report(
    week: Annotated[
        str | None,
        typer.Option(help="ISO week, e.g. 2026-W47 (default: the last complete week)."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="File to write (default: baton-report-<week>.<format>)."),
    ] = None,
    source: SourceOption = "store",
) -> None:
    """Write the weekly alignment report as one HTML page or a PDF.

    Goals, funnel, both sides' SLA, rejection reasons, attribution and the week's wins with
    their touches and rep. Charts are drawn offline; the PDF is laid out by WeasyPrint (see
    docs/report.md).
    """
    from baton.report import resolve_week, weekly_report
    from baton.report.render import html, pdf

    if output not in ("html", "pdf"):
        raise BatonError(f'--format "{output}" is not a report format; use html or pdf')
    if output == "pdf":
        pdf("<p>checking the PDF renderer</p>")  # fail before the work if it is missing
    s = settings()
    contract = parse_contract(contract_text(s))
    chosen = resolve_week(week, contract, system_clock())
    target = out_path or Path(f"baton-report-{chosen.label}.{output}")
    if not target.parent.is_dir():
        raise BatonError(f"--out {target}: the folder {target.parent} does not exist; create it first")
    if source == "store":
        engine_for(s).dispose()  # brings the schema up to date before analytics read it
    tables = open_tables(source)
    try:
        with progress_bars() as bars:
            gathered = weekly_report(tables, chosen, system_clock, contract=contract, progress=bars)
            drawn = bars.task("drawing the charts", 1)
            page = html(gathered)
            drawn(1)
            if output == "pdf":
                laid_out = bars.task("laying out the PDF", 1)
                target.write_bytes(pdf(page))
                laid_out(1)
            else:
                target.write_text(page, encoding="utf-8")
    finally:
        tables.close()
    wins = len(gathered.wins)
    out.print(
        f"wrote {target} ({target.stat().st_size:,} bytes): week {chosen.label}, "
        f"{chosen.first} to {gathered.last_day}, {wins} deal{'s' if wins != 1 else ''} won"
        + ("" if gathered.complete else f" so far (the week is not over; as of {gathered.as_of:%Y-%m-%d %H:%M} UTC)"),
        highlight=False,
    )


def _attribution_table(result: Any, currency: str) -> Table:
    """Channels as rows; per model, the share of conversions and the value credited."""
    q = result.query
    t = result.totals
    span = f", {q.period.label}" if q.period else ""
    window = f"lookback {result.lookback_days} days" if result.lookback_days else "no lookback"
    title = (
        f"Attribution of {q.outcome} ({q.level} level, by {q.by}{span}, {window}): "
        f"{t.conversions:,.0f} conversions, {t.value:,.0f} {currency}, {t.journeys:,} journeys"
    )
    headers = [h for m in result.models for h in (f"{m} share", f"{m} {currency}")]
    table = _look(title, q.by, *headers)
    wide = result.wide()
    first = result.models[0]
    wide = wide.sort_values([f"{first} share", "channel"], ascending=[False, True])
    for row in wide.itertuples(index=False):
        cells = []
        for i in range(len(result.models)):
            cells += [_percent(row[1 + 2 * i]), _number(row[2 + 2 * i])]
        table.add_row(str(row[0]), *cells)
    return table


# -- score: the predictive lead score ----------------------------------------------------------
# `baton score train | evaluate | explain | threshold | drift`, on the `score` sub-app above.

DataOption = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="store, x-education, bank, an export of the store (folder or .duckdb) or a CSV (default for train: store; otherwise the model's own data).",
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", help="A model name in BATON_MODEL_DIR or a model file (default: the newest)."
    ),
]
LabelOption = Annotated[str | None, typer.Option("--label", help="The outcome column of a CSV.")]
OrderOption = Annotated[
    str | None,
    typer.Option("--order", help="The time-order column of a CSV (dates or growing numbers)."),
]


def _score_context(output: str) -> tuple[Settings, Contract]:
    if output not in FORMATS:
        raise BatonError(f'--format "{output}" is not a format; use table, csv or json')
    s = settings()
    return s, parse_contract(contract_text(s))


def _score_data(s: Settings, contract: Contract, spec: Any, as_of: dt.datetime) -> Any:
    from baton.service.predictive import load_data

    return load_data(
        spec, contract=contract, database_url=s.database_url, datasets=s.datasets_dir, as_of=as_of
    )


def _metrics_table(evaluation: Any, title: str) -> Table:
    table = _look(title, "model", "ROC AUC", "PR AUC", "Brier score")
    for c in evaluation.contenders:
        table.add_row(c.name, f"{c.roc_auc:.4f}", f"{c.pr_auc:.4f}", f"{c.brier:.4f}")
    return table


@score_app.command("train")
@handle_errors
def score_train(
    data: DataOption = None,
    label: LabelOption = None,
    order: OrderOption = None,
    name: Annotated[
        str | None, typer.Option(help="Name of the model file (default: the data's name).")
    ] = None,
    holdout: Annotated[
        float, typer.Option(help="Share of the latest leads held out for evaluation.")
    ] = 0.2,
    folds: Annotated[
        int, typer.Option(help="About how many blocks the holdout is scored in, walking forward.")
    ] = 5,
    html: Annotated[
        Path | None, typer.Option(help="Also write the evaluation as an HTML page here.")
    ] = None,
    output: FormatOption = "table",
) -> None:
    """Train the predictive score, evaluated against two baselines.

    Scores the latest leads walking forward with the model (LightGBM, calibrated), Odoo's
    naive Bayes and a logistic regression, then fits the model on every lead and saves it
    with its card in BATON_MODEL_DIR.
    """
    from baton.scoring.page import render
    from baton.service.predictive import DataSpec, train_model

    s, contract = _score_context(output)
    now = system_clock()
    spec = DataSpec(data or "store", label, order)
    dataset = _score_data(s, contract, spec, now)
    with progress_bars() as bars:
        built, path = train_model(
            dataset,
            model_dir=s.model_dir,
            created=now,
            name=name,
            spec=spec,
            holdout=holdout,
            folds=folds,
            progress=bars,
        )
    if html:
        html.write_text(render(built.evaluation, built.card), encoding="utf-8")
    if output == "json":
        _echo_json({"model": str(path), "card": built.card.to_dict()})
        return
    if output == "csv":
        _echo_csv(built.evaluation.metrics())
        return
    card = built.card
    window = card.data["window"]
    out.print(
        f"{dataset.name}: {card.data['labelled']:,} labelled leads ({card.data['converted']:,} "
        f"converted) from {window['first']} to {window['last']} by {window['by']}; "
        f"{len(card.features)} features, {len(dataset.left_out)} columns left out",
        highlight=False,
    )
    _show(_metrics_table(built.evaluation, f"Held-out leads: {built.evaluation.leads:,}"))
    out.print(f"{built.evaluation.protocol}", highlight=False)
    out.print(
        f"model written to {path}" + (f"; evaluation page {html}" if html else ""), highlight=False
    )


@score_app.command("evaluate")
@handle_errors
def score_evaluate(
    model: ModelOption = None,
    html: Annotated[
        Path | None, typer.Option(help="Write the evaluation as a self-contained HTML page here.")
    ] = None,
    output: FormatOption = "table",
) -> None:
    """Show how the model and both baselines did on the held-out leads.

    ROC AUC, PR AUC, Brier score, and per decile of score: predicted against observed
    conversion, lift and cumulative gain.
    """
    from baton.scoring.page import render
    from baton.service.predictive import open_model

    s, _ = _score_context(output)
    built, path = open_model(s.model_dir, model)
    evaluation = built.evaluation
    if html:
        html.write_text(render(evaluation, built.card), encoding="utf-8")
    if output == "json":
        _echo_json({"model": str(path), **evaluation.to_dict()})
        return
    if output == "csv":
        _echo_csv(evaluation.deciles())
        return
    _show(
        _metrics_table(
            evaluation,
            f"{built.card.name}: {evaluation.leads:,} held-out leads, "
            f"{evaluation.base_rate:.1%} converted",
        )
    )
    for c in evaluation.contenders:
        table = _look(
            f"{c.name} by decile of score (highest first)",
            "decile",
            "leads",
            "converted",
            "predicted",
            "observed",
            "lift",
            "gain",
        )
        for r in c.deciles.itertuples():
            table.add_row(
                str(r.decile),
                _number(r.leads),
                _number(r.converted),
                _percent(r.mean_predicted),
                _percent(r.observed),
                f"{r.lift:.2f}",
                _percent(r.gain),
            )
        _show(table)
    out.print(evaluation.protocol, highlight=False)
    if html:
        out.print(f"evaluation page written to {html}", highlight=False)


@score_app.command("explain")
@handle_errors
def score_explain(
    lead: Annotated[
        str,
        typer.Argument(
            help="The lead: its id or external id in the store, Lead Number, or row in a file."
        ),
    ],
    model: ModelOption = None,
    data: DataOption = None,
    top: Annotated[int, typer.Option(help="How many reasons to give each way.")] = 3,
    output: FormatOption = "table",
) -> None:
    """Why a lead scored what it did.

    The features that raised and lowered its score most, with the lead's values.
    """
    from baton.service.predictive import DataSpec, data_spec_of, explain_lead, open_model

    s, contract = _score_context(output)
    built, _ = open_model(s.model_dir, model)
    spec = DataSpec(data) if data else data_spec_of(built)
    dataset = _score_data(s, contract, spec, system_clock())
    why = explain_lead(built, dataset, lead)
    if output in ("json", "csv"):
        if output == "json":
            _echo_json(why.to_dict(top))
        else:
            import pandas as pd

            _echo_csv(pd.DataFrame([r.to_dict() for r in why.reasons]))
        return
    out.print(
        f"lead {why.lead}: score {why.score} (probability {why.probability:.1%}) from "
        f"{built.card.name}",
        highlight=False,
    )
    table = _look("Reasons", "", "reason", "log-odds")
    table.columns[1].justify = "left"
    for mark, reasons in (("+", why.up(top)), ("-", why.down(top))):
        for r in reasons:
            table.add_row(mark, r.text, f"{r.contribution:+.2f}")
    _show(table)
    out.print(
        f"base {why.base:+.2f} + contributions = raw score {why.raw:+.2f} (log-odds)",
        highlight=False,
    )


@score_app.command("threshold")
@handle_errors
def score_threshold(
    model: ModelOption = None,
    leads_per_month: Annotated[
        float | None,
        typer.Option(
            "--leads-per-month",
            help="Leads arriving a month (default: from the held-out leads' dates).",
        ),
    ] = None,
    output: FormatOption = "table",
) -> None:
    """Propose the MQL threshold that matches sales' capacity.

    The lowest score at which the expected MQLs a month fit the contract's
    sla.sales.capacity_mql_per_month, and the expected conversion there.
    """
    from baton.service.predictive import capacity, open_model, propose_threshold

    s, contract = _score_context(output)
    built, _ = open_model(s.model_dir, model)
    plan = propose_threshold(built, contract, leads_per_month=leads_per_month)
    if output == "json":
        row = {
            k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in plan.row.items()
        }
        _echo_json(
            {
                "threshold": plan.threshold,
                "capacity": plan.capacity,
                "leads_per_month": plan.leads_per_month,
                "fits": plan.fits,
                "at_threshold": row,
                "contract_min_score": contract.qualification.mql.min_score,
            }
        )
        return
    if output == "csv":
        _echo_csv(plan.table)
        return
    out.print(
        f"Proposed MQL threshold: score {plan.threshold:g} for {capacity(contract):,} MQLs a month "
        f"of sales capacity, with {plan.leads_per_month:,.0f} leads arriving a month",
        highlight=False,
    )
    table = _look(
        "Around the threshold",
        "score at least",
        "MQLs a month",
        "share of leads",
        "expected conversion",
        "observed on holdout",
        "customers a month",
    )
    step = 1.0 if plan.threshold < 10 else 5.0
    near = sorted(
        {round(min(100.0, max(0.0, plan.threshold + k * step)), 1) for k in (-2, -1, 0, 1, 2)}
        | {float(contract.qualification.mql.min_score)}
    )
    for t in near:
        r = plan.table.iloc[round(t * 10)]
        style = "bold" if t == plan.threshold else None
        table.add_row(
            f"{t:g}",
            _number(r.mqls_per_month),
            _percent(r.share),
            _percent(r.expected_conversion),
            _percent(r.observed_conversion),
            _number(r.customers_per_month, 1),
            style=style,
        )
    _show(table)
    if not plan.fits:
        out.print("even at 100 the expected MQLs exceed the capacity", highlight=False)
    out.print(
        f"the contract's MQL min_score is {contract.qualification.mql.min_score:g}", highlight=False
    )


@score_app.command("drift")
@handle_errors
def score_drift(
    model: ModelOption = None,
    data: DataOption = None,
    days: Annotated[
        int, typer.Option(help="Days of recent leads to compare with the training window.")
    ] = 30,
    output: FormatOption = "table",
) -> None:
    """Compare recent scores with the training window (PSI).

    The population stability index of the score between the model's training leads and the
    leads of the last 30 days; over 0.2 it warns.
    """
    from baton.scoring.drift import WARN
    from baton.service.predictive import DataSpec, data_spec_of, open_model, score_drift

    s, contract = _score_context(output)
    built, _ = open_model(s.model_dir, model)
    spec = DataSpec(data) if data else data_spec_of(built)
    now = system_clock()
    dataset = _score_data(s, contract, spec, now)
    report = score_drift(built, dataset, as_of=now if dataset.name == "store" else None, days=days)
    drift = report.drift
    if output == "json":
        _echo_json(
            {
                "psi": drift.psi,
                "warn": drift.warn,
                "recent": report.recent,
                "bins": drift.table.to_dict("records"),
            }
        )
    elif output == "csv":
        _echo_csv(drift.table)
    else:
        table = _look(
            f"Score drift: PSI {drift.psi:.3f} over {report.recent}",
            "bin",
            "scores from",
            "to",
            "training",
            "recent",
            "PSI",
        )
        for r in drift.table.itertuples():
            table.add_row(
                str(r.bin),
                f"{r.low:.3f}",
                f"{r.high:.3f}",
                _percent(r.training_share),
                _percent(r.recent_share),
                f"{r.psi:.4f}",
            )
        _show(table)
    if drift.warn:
        err.print(
            f"[bold yellow]warning:[/] the score has drifted (PSI {drift.psi:.3f} > {WARN}); "
            "look at what changed in the leads and train the model again",
            highlight=False,
        )


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
