"""Maven Analytics "CRM + Sales Opportunities": accounts, products, sales teams and a pipeline.

Files are told apart by their header, not their name, so renamed copies work.

- Accounts, keyed by name. ``revenue`` is in millions of USD (so says the publisher's data
  dictionary) and is stored in full dollars: ``1100.04`` becomes ``annual_revenue``
  ``1100040000.00``. ``sector`` is stored as written in ``industry`` and
  ``properties["sector_raw"]``: the source misspells one sector ``technolgy`` (and one
  country ``Philipines``) and Baton does not guess corrections; fixing them is left to you.
- Sales teams: one team per manager ("<manager> team", region = the office); the manager is
  a ``sales-manager`` user, each agent a ``sales`` user in their manager's team.
- Products have no table: each opportunity names its product as products.csv spells it and
  keeps series and list price in properties. The pipeline writes ``GTXPro`` for ``GTX Pro``,
  so names match ignoring case and spaces, and a note says how many rows matched that way.
- Pipeline: one opportunity per ``opportunity_id``, owned by its agent, worth ``close_value``
  in the contract's currency, for its account (about one in six has none). ``Prospecting``
  and ``Engaging`` map to the pipeline keys ``prospecting`` and ``engaging``, ``Won`` and
  ``Lost`` to the first stages of kind won and lost. Deals past prospecting enter
  ``engaging`` at ``engage_date``; won and lost ones then close at ``close_date`` (lost with
  the reason that the source records none). Dates are read as midnight in the import's time
  zone. Prospecting deals have no dates and so no stage history.

The data dictionary (``Table, Field, Description``) is documentation and is not imported.
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from baton.contract.load import did_you_mean
from baton.contract.model import Contract, StageKind
from baton.errors import InvalidInput, NotFound
from baton.ingest.csvfile import CsvFile, Problems, Row, UniqueIds
from baton.ingest.presets import ImportOptions, expand
from baton.ingest.records import AccountIn, ImportBundle, OpportunityIn, StageStep, TeamIn, UserIn
from baton.progress import Progress

SOURCE = "maven-crm"
ACTOR = "import:maven-crm"
LOST_REASON = "closed lost in source CRM (no reason recorded)"
#: The accounts file counts revenue in millions of USD.
REVENUE_UNIT = Decimal(1_000_000)

PIPELINE_COLUMNS = (
    "opportunity_id", "sales_agent", "product", "account", "deal_stage",
    "engage_date", "close_date", "close_value",
)
ACCOUNT_COLUMNS = (
    "account", "sector", "year_established", "revenue", "employees",
    "office_location", "subsidiary_of",
)
PRODUCT_COLUMNS = ("product", "series", "sales_price")
TEAM_COLUMNS = ("sales_agent", "manager", "regional_office")

#: File kind → (columns that identify it, columns it must have).
KINDS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "pipeline": (frozenset({"opportunity_id", "deal_stage"}), PIPELINE_COLUMNS),
    "accounts": (frozenset({"account", "sector"}), ACCOUNT_COLUMNS),
    "products": (frozenset({"product", "series"}), PRODUCT_COLUMNS),
    "teams": (frozenset({"sales_agent", "manager"}), TEAM_COLUMNS),
}
DICTIONARY = frozenset({"Table", "Field", "Description"})

#: The source's deal stages: open ones map to a pipeline key, closed ones to a kind.
OPEN_STAGES = {"Prospecting": "prospecting", "Engaging": "engaging"}
CLOSED_STAGES = {"Won": StageKind.WON, "Lost": StageKind.LOST}
DEAL_STAGES = (*OPEN_STAGES, *CLOSED_STAGES)


@dataclass(frozen=True)
class _Product:
    name: str
    series: str | None
    list_price: Decimal | None


def _header(path: Path) -> set[str]:
    if not path.is_file():
        raise NotFound(f"{path}: no such file; check the path")
    with path.open("rb") as handle:
        line = handle.readline().decode("utf-8-sig", errors="replace")
    delimiter = max((",", ";", "\t"), key=line.count)
    return {c.strip().strip('"') for c in line.split(delimiter)}


def _pick(files: list[Path], notes: list[str]) -> dict[str, Path]:
    """Each file's kind, by its header; other files are noted and skipped."""
    found: dict[str, Path] = {}
    for path in files:
        header = _header(path)
        kind = next((k for k, (sign, _) in KINDS.items() if header >= sign), None)
        if kind is None:
            what = "the data dictionary" if header >= DICTIONARY else "not a Maven CRM file"
            notes.append(f"{path.name}: {what}, not imported")
            continue
        if kind in found:
            raise InvalidInput(
                f"{found[kind].name} and {path.name} are both {kind} files; "
                "import one set of files at a time"
            )
        found[kind] = path
    missing = [k for k in KINDS if k not in found]
    if missing:
        wanted = "; ".join(f"{k} (columns {', '.join(KINDS[k][1])})" for k in missing)
        raise InvalidInput(
            "maven-crm needs the accounts, products, sales teams and pipeline files; "
            f"missing: {wanted}. Got: {', '.join(p.name for p in files) or 'no files'}"
        )
    return found


def _fold(name: str) -> str:
    """A product name with case and spaces ignored: ``GTXPro`` and ``GTX Pro`` agree."""
    return "".join(name.split()).casefold()


def _close(value: str, choices: Iterable[str]) -> str:
    """``; did you mean "x"?`` when one choice is close, else nothing (the lists are long)."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.8)
    return f'; did you mean "{close[0]}"?' if close else ""


def _bad(row: Row, column: str, message: str) -> None:
    row.problems.add(f"{row.where} column {column}", message)


def _extras(row: Row, file: CsvFile) -> dict[str, str | None]:
    """Columns the preset does not know, kept in the record's properties."""
    return {c: row.text(c) for c in file.unknown_columns}


def _json_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _stage_keys(contract: Contract) -> tuple[dict[str, str], dict[str, str]]:
    """Source deal stage → pipeline key; and for stages the contract lacks, what to add."""
    keys: dict[str, str] = {}
    lacking: dict[str, str] = {}
    for raw, key in OPEN_STAGES.items():
        stage = contract.pipeline_by_key.get(key)
        if stage is not None and stage.kind == StageKind.OPEN:
            keys[raw] = key
            continue
        has = f' (its "{key}" has kind {stage.kind})' if stage is not None else ""
        lacking[raw] = f'add a [[pipeline]] stage with key = "{key}", kind = "open"{has}'
    for raw, kind in CLOSED_STAGES.items():
        of_kind = sorted((p for p in contract.pipeline if p.kind == kind), key=lambda p: p.position)
        if of_kind:
            keys[raw] = of_kind[0].key
        else:
            lacking[raw] = f'add a [[pipeline]] stage with kind = "{kind}"'
    return keys, lacking


def _read_teams(
    file: CsvFile, bundle: ImportBundle, problems: Problems, progress: Progress
) -> None:
    teams: dict[str, TeamIn] = {}
    offices: dict[str, list[str]] = defaultdict(list)
    agents: list[UserIn] = []
    ids = UniqueIds(problems)
    advance = progress.task(f"reading {file.name}", len(file))
    for row in file.rows():
        advance(1)
        agent = row.text("sales_agent", required=True)
        manager = row.text("manager", required=True)
        office = row.text("regional_office")
        if not ids.claim(row, "sales_agent", agent) or agent is None or manager is None:
            continue
        team = TeamIn(manager, f"{manager} team", region=office, manager=manager, origin=row.where)
        teams.setdefault(manager, team)
        if office and office not in offices[manager]:
            offices[manager].append(office)
        properties = {"regional_office": office, **_extras(row, file)}
        agents.append(UserIn(agent, agent, team=manager, properties=properties, origin=row.where))
    for user in agents:
        if user.external_id in teams:
            problems.add(
                f"{user.origin} column sales_agent",
                f'"{user.external_id}" is also a manager; Baton keeps one user per name, so '
                "list each person once, as an agent or as a manager",
            )
    for manager, team in teams.items():
        if len(offices[manager]) > 1:
            team.region = None
            bundle.notes.append(
                f"{file.name}: {manager}'s agents sit in {', '.join(offices[manager])}; the "
                "team's region is left empty and each agent keeps their office in properties"
            )
    bundle.teams = list(teams.values())
    bundle.users = [
        UserIn(m, m, role="sales-manager", team=m, origin=teams[m].origin) for m in teams
    ] + agents


def _read_accounts(
    file: CsvFile, bundle: ImportBundle, problems: Problems, progress: Progress
) -> None:
    ids = UniqueIds(problems)
    advance = progress.task(f"reading {file.name}", len(file))
    for row in file.rows():
        advance(1)
        name = row.text("account", required=True)
        sector = row.text("sector")
        year = row.integer("year_established")
        revenue = row.number("revenue")
        employees = row.integer("employees")
        if not ids.claim(row, "account", name) or name is None:
            continue
        bundle.accounts.append(AccountIn(
            external_id=name,
            name=name,
            industry=sector,
            employees=employees,
            annual_revenue=None if revenue is None else revenue * REVENUE_UNIT,
            country=row.text("office_location"),
            parent=row.text("subsidiary_of"),
            properties={"sector_raw": sector, "year_established": year, **_extras(row, file)},
            origin=row.where,
        ))
    names = {a.external_id for a in bundle.accounts}
    for account in bundle.accounts:
        if account.parent is not None and account.parent not in names:
            problems.add(
                f"{account.origin} column subsidiary_of",
                f'"{account.parent}" is not an account in {file.name}'
                f"{_close(account.parent, names)}; add it there or clear subsidiary_of",
            )


def _read_products(file: CsvFile, problems: Problems, progress: Progress) -> dict[str, _Product]:
    """Products by folded name (see :func:`_fold`)."""
    products: dict[str, _Product] = {}
    first_row: dict[str, int] = {}
    ids = UniqueIds(problems)
    advance = progress.task(f"reading {file.name}", len(file))
    for row in file.rows():
        advance(1)
        name = row.text("product", required=True)
        series = row.text("series")
        price = row.number("sales_price")
        if not ids.claim(row, "product", name) or name is None:
            continue
        key = _fold(name)
        if key in products:
            _bad(
                row, "product",
                f'"{name}" is "{products[key].name}" (row {first_row[key]}) ignoring case and '
                "spaces, so pipeline rows cannot tell them apart; rename one",
            )
            continue
        products[key] = _Product(name, series, price)
        first_row[key] = row.line
    return products


def read(
    paths: Sequence[Path], contract: Contract, options: ImportOptions, progress: Progress
) -> ImportBundle:
    """Read the Maven CRM files into teams, users, accounts and opportunities.

    Parameters
    ----------
    paths
        The folder holding the files, or the files themselves; each is known by its header.
    contract
        The contract in force: its pipeline gives the stage keys, its currency the amounts'.
    options
        ``zone`` is the time zone the source's dates are read in (UTC by default);
        ``source`` overrides the source name ``maven-crm``.
    progress
        Told about each file as it is read.

    Returns
    -------
    ImportBundle
        The records, every problem found (each naming file, row and column) and notes.

    Raises
    ------
    InvalidInput
        When one of the four files is missing, given twice, or not UTF-8 text.
    NotFound
        When a path does not exist.
    """
    bundle = ImportBundle(source=options.source or SOURCE)
    found = _pick(expand(paths), bundle.notes)
    problems = Problems()
    files = {
        kind: CsvFile(path, problems=problems, zone=options.zone, required=columns, known=columns)
        for kind, path in found.items()
        for columns in [KINDS[kind][1]]
    }
    bundle.files = {f.name: f.sha256 for f in files.values()}
    for f in files.values():
        if f.unknown_columns:
            extra = ", ".join(f.unknown_columns)
            bundle.notes.append(f"{f.name}: extra columns kept in properties: {extra}")
    _read_teams(files["teams"], bundle, problems, progress)
    _read_accounts(files["accounts"], bundle, problems, progress)
    products = _read_products(files["products"], problems, progress)
    _read_pipeline(files, bundle, products, contract, problems, progress)
    bundle.problems.extend(problems.items)
    return bundle


def _read_pipeline(
    files: dict[str, CsvFile],
    bundle: ImportBundle,
    products: dict[str, _Product],
    contract: Contract,
    problems: Problems,
    progress: Progress,
) -> None:
    file = files["pipeline"]
    agents = {u.external_id for u in bundle.users if u.role == "sales"}
    accounts = {a.external_id for a in bundle.accounts}
    exact = {p.name: p for p in products.values()}
    stage_keys, lacking = _stage_keys(contract)
    needs: dict[str, list[int]] = defaultdict(list)
    respelled: Counter[tuple[str, str]] = Counter()
    ids = UniqueIds(problems)
    advance = progress.task(f"reading {file.name}", len(file))
    for row in file.rows():
        advance(1)
        before = len(problems.items)
        opp_id = row.text("opportunity_id", required=True)
        ids.claim(row, "opportunity_id", opp_id)
        agent = row.text("sales_agent", required=True)
        if agent is not None and agent not in agents:
            _bad(
                row, "sales_agent",
                f'"{agent}" is not a sales agent in {files["teams"].name}{_close(agent, agents)}; '
                "add them there with their manager and office",
            )
        account = row.text("account")
        if account is not None and account not in accounts:
            _bad(
                row, "account",
                f'"{account}" is not in {files["accounts"].name}{_close(account, accounts)}; '
                "add it there or leave the cell empty",
            )
        written = row.text("product", required=True)
        product = None if written is None else exact.get(written) or products.get(_fold(written))
        if written is not None and product is None:
            _bad(
                row, "product",
                f'"{written}" is not in {files["products"].name}, even ignoring case and spaces'
                f"{did_you_mean(written, exact)}",
            )
        elif written is not None and product is not None and written != product.name:
            respelled[(written, product.name)] += 1
        raw_stage = row.text("deal_stage", required=True)
        if raw_stage is not None and raw_stage not in DEAL_STAGES:
            _bad(
                row, "deal_stage",
                f'"{raw_stage}" is not a Maven deal stage{did_you_mean(raw_stage, DEAL_STAGES)}',
            )
        elif raw_stage in lacking:
            needs[raw_stage].append(row.line)
        engaged = row.moment("engage_date")
        closed = row.moment("close_date")
        amount = row.number("close_value")
        if raw_stage in ("Engaging", *CLOSED_STAGES) and row.text("engage_date") is None:
            _bad(row, "engage_date", f'is empty; a "{raw_stage}" deal needs the day it engaged')
        if raw_stage in CLOSED_STAGES and row.text("close_date") is None:
            _bad(row, "close_date", f'is empty; a "{raw_stage}" deal needs the day it closed')
        if engaged is not None and closed is not None and closed < engaged:
            _bad(
                row, "close_date",
                f"{closed.date()} is before engage_date {engaged.date()}; check both dates",
            )
        if len(problems.items) > before or raw_stage in lacking:
            continue
        assert opp_id and agent and product and raw_stage
        stage = stage_keys[raw_stage]
        history: list[StageStep] = []
        if raw_stage != "Prospecting" and engaged is not None:
            history.append(StageStep(stage_keys["Engaging"], engaged, ACTOR))
        if raw_stage in CLOSED_STAGES and closed is not None:
            reason = LOST_REASON if raw_stage == "Lost" else None
            history.append(StageStep(stage, closed, ACTOR, reason))
        bundle.opportunities.append(OpportunityIn(
            external_id=opp_id,
            stage=stage,
            name=f"{product.name} for {account or 'no account'}",
            account=account,
            owner=agent,
            amount=amount,
            currency=contract.organization.currency,
            product=product.name,
            created_at=engaged,
            close_date=None if closed is None else closed.date(),
            closed_at=closed if raw_stage in CLOSED_STAGES else None,
            history=history,
            properties={
                "deal_stage": raw_stage,
                "product_raw": written,
                "product_series": product.series,
                "list_price": _json_number(product.list_price),
                **_extras(row, file),
            },
            origin=row.where,
        ))
    for raw_stage, lines in needs.items():
        problems.add(
            "contract pipeline",
            f'{file.name} has {len(lines)} "{raw_stage}" deal(s), first at row {lines[0]}, and '
            f"the contract has no pipeline stage for them; {lacking[raw_stage]} to the contract",
        )
    if respelled:
        spelled = ", ".join(f'"{a}" as "{b}" ({n} rows)' for (a, b), n in respelled.items())
        bundle.notes.append(
            f"{file.name}: {respelled.total()} rows name a product that "
            f"{files['products'].name} spells differently, matched ignoring case and spaces: "
            f"{spelled}"
        )


READERS = {"maven-crm": read}
