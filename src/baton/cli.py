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
            cells = (_kpi_value(values.loc[group].get(k.key), k.unit) for k in kpis)
            table.add_row(group, *cells, style="bold" if group == OVERALL else None)
        tables.append(table)
    return tables


def _kpi_value(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "days":
        return f"{value:,.1f} d"
    if unit == "money per day":
        return f"{value:,.0f}/day"
    return f"{value:,.0f}"

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
        uvicorn.run(create_app(s), **options)
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


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
