"""Salesforce leads and opportunities exports (CSV), from Data Loader or from a report.

Both kinds of export are read by the same code: each field below lists the API name a Data
Loader or weekly data export uses (``StageName``, ``CreatedDate``) and the labels a report
export uses (``Stage``, ``Created Date``). Data Loader writes times in UTC (``…Z``); a report
writes them in the exporting user's zone (``1/31/2026 10:15 AM``), so import a report with
``--timezone`` set to that zone. Salesforce ids (15 or 18 characters) are kept as given.

Lead statuses map to lifecycle stages through ``[mappings.salesforce.lead_status]`` and
opportunity stages to pipeline stages through ``[mappings.salesforce.opportunity_stage]``.
Columns that are not fields here are kept in ``properties`` and listed once in the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from baton.contract.model import Contract, StageKind
from baton.ingest.csvfile import Problems, Row, UniqueIds
from baton.ingest.presets import ImportOptions
from baton.ingest.presets.common import (
    Field,
    Header,
    Owners,
    StageMap,
    company_key,
    currency,
    needs_reason,
    plain_number,
    read_rows,
    share,
    snake,
    squeeze,
)
from baton.ingest.records import AccountIn, ImportBundle, LeadIn, OpportunityIn, StageStep, TouchIn
from baton.progress import Progress

SOURCE = "salesforce"
ACTOR = "import:salesforce"
CONTRACT = "in the contract (baton.toml)"

#: Lead fields: API name first, then the report labels.
LEAD_FIELDS = (
    Field("id", ("Id", "Lead ID"), required=True),
    Field("created", ("CreatedDate", "Create Date", "Created Date"), required=True),
    Field("status", ("Status", "Lead Status"), required=True),
    Field("first_name", ("FirstName", "First Name")),
    Field("last_name", ("LastName", "Last Name")),
    Field("company", ("Company", "Company / Account")),
    Field("email", ("Email",)),
    Field("title", ("Title",)),
    Field("phone", ("Phone",)),
    Field("country", ("Country",)),
    Field("lead_source", ("LeadSource", "Lead Source")),
    Field("owner", ("OwnerId", "Owner ID", "Lead Owner")),
    Field("converted", ("IsConverted", "Converted")),
    Field("converted_date", ("ConvertedDate", "Converted Date")),
    Field("converted_account_id", ("ConvertedAccountId", "Converted Account ID")),
    Field("converted_contact_id", ("ConvertedContactId", "Converted Contact ID")),
    Field("converted_opportunity_id", ("ConvertedOpportunityId", "Converted Opportunity ID")),
    Field("industry", ("Industry",)),
    Field("employees", ("NumberOfEmployees", "No. of Employees", "Employees")),
    Field("annual_revenue", ("AnnualRevenue", "Annual Revenue")),
)

#: Opportunity fields: API name first, then the report labels.
OPPORTUNITY_FIELDS = (
    Field("id", ("Id", "Opportunity ID"), required=True),
    Field("created", ("CreatedDate", "Created Date"), required=True),
    Field("stage", ("StageName", "Stage"), required=True),
    Field("name", ("Name", "Opportunity Name")),
    Field("account_id", ("AccountId", "Account ID")),
    Field("account_name", ("Account.Name", "Account Name")),
    Field("amount", ("Amount",)),
    Field("currency", ("CurrencyIsoCode", "Opportunity Currency", "Amount Currency")),
    Field("probability", ("Probability", "Probability (%)")),
    Field("close_date", ("CloseDate", "Close Date")),
    Field("owner", ("OwnerId", "Owner ID", "Opportunity Owner")),
    Field("lead_source", ("LeadSource", "Lead Source")),
    Field("is_closed", ("IsClosed", "Closed")),
    Field("is_won", ("IsWon", "Won")),
    Field("type", ("Type", "Opportunity Type")),
    Field("forecast_category", ("ForecastCategoryName", "Forecast Category")),
    Field("loss_reason", ("Loss_Reason__c", "Loss Reason")),
)

LEAD_TEXT_PROPERTIES = (
    "lead_source",
    "industry",
    "converted_account_id",
    "converted_contact_id",
    "converted_opportunity_id",
)
OPPORTUNITY_TEXT_PROPERTIES = ("lead_source", "type", "forecast_category", "loss_reason")
CLOSED = (StageKind.WON, StageKind.LOST)


def _start(options: ImportOptions) -> tuple[ImportBundle, Problems, UniqueIds, Owners]:
    problems = Problems()
    return ImportBundle(source=options.source or SOURCE), problems, UniqueIds(problems), Owners()


def read_leads(
    paths: Sequence[Path], contract: Contract, options: ImportOptions, progress: Progress
) -> ImportBundle:
    """Read Salesforce lead exports into leads, their first touches and their owners.

    Each lead enters the stage its ``Status`` maps to at its create date, or at its converted
    date when it was converted. ``LeadSource`` becomes its channel and first touch.

    Parameters
    ----------
    paths
        Lead exports (CSV) from Data Loader, the weekly data export or a report, or folders.
    contract
        The contract in force; ``[mappings.salesforce.lead_status]`` maps each status.
    options
        ``timezone`` for times written without one (report exports); ``source`` renames
        the source (``salesforce`` by default).
    progress
        Shows one bar per file.

    Returns
    -------
    ImportBundle
        The records, with every bad row as a problem naming its file, row and column.
    """
    bundle, problems, ids, owners = _start(options)
    statuses = StageMap.from_contract(contract, "salesforce", "lead_status", normalise=squeeze)
    for row, h in read_rows(paths, LEAD_FIELDS, bundle, problems, options.zone, progress):
        lead_id = row.text(h["id"], required=True)
        created = row.moment(h["created"], required=True)
        status = row.text(h["status"], required=True)
        stage = statuses.require(row, h["status"], status) if status is not None else None
        converted = row.flag(h["converted"])
        converted_at = row.moment(h["converted_date"])
        employees = row.integer(h["employees"])
        revenue = row.number(h["annual_revenue"])
        if not ids.claim(row, h["id"], lead_id) or None in (lead_id, created, status, stage):
            continue
        assert lead_id and created and status and stage
        # A conversion date is a day: its midnight may fall before a same-day create time.
        at = max(converted_at, created) if converted and converted_at else created
        reason = f"Salesforce lead status {status}" if needs_reason(contract, stage) else None
        source = row.text(h["lead_source"])
        channel = snake(source or "") or "unknown"
        facts = {
            "lead_status": status,
            **h.texts(row, LEAD_TEXT_PROPERTIES),
            "phone": row.text(h["phone"]),
            "converted": converted,
            "converted_date": converted_at.astimezone(options.zone).date().isoformat()
            if converted_at
            else None,
            "employees": employees,
            "annual_revenue": plain_number(revenue),
        }
        bundle.leads.append(
            LeadIn(
                lead_id,
                created_at=created,
                company=row.text(h["company"]),
                channel=channel,
                owner=owners.add(row.text(h["owner"]), row.where),
                history=[StageStep(stage, at, ACTOR, reason)],
                properties={**h.extras(row), **{k: v for k, v in facts.items() if v is not None}},
                origin=row.where,
                **h.person(row),
            )
        )
        bundle.touchpoints.append(
            TouchIn(
                f"{lead_id}:lead-source",
                channel=channel,
                occurred_at=created,
                touch_type="lead_source",
                lead=lead_id,
                properties={"lead_source": source},
                origin=row.where,
            )
        )
    bundle.users = list(owners.users.values())
    bundle.problems.extend(problems.items)
    return bundle


def read_opportunities(
    paths: Sequence[Path], contract: Contract, options: ImportOptions, progress: Progress
) -> ImportBundle:
    """Read Salesforce opportunity exports into opportunities, their accounts and owners.

    An open deal enters its pipeline stage at its create date; a closed one at its close
    date. A lost deal's reason is its ``Loss Reason`` (``Loss_Reason__c``) or "closed lost in
    Salesforce". ``Probability`` (0 to 100) is stored as a share from 0 to 1.

    Parameters
    ----------
    paths
        Opportunity exports (CSV) from Data Loader, the weekly data export or a report.
    contract
        The contract in force; ``[mappings.salesforce.opportunity_stage]`` maps each stage,
        ``organization.currency`` is the currency of amounts without one.
    options
        ``timezone`` for times written without one (report exports); ``source`` renames
        the source (``salesforce`` by default).
    progress
        Shows one bar per file.

    Returns
    -------
    ImportBundle
        The records, with every bad row as a problem naming its file, row and column.
    """
    bundle, problems, ids, owners = _start(options)
    stages = StageMap.from_contract(contract, "salesforce", "opportunity_stage", normalise=squeeze)
    accounts: dict[str, AccountIn] = {}
    for row, h in read_rows(paths, OPPORTUNITY_FIELDS, bundle, problems, options.zone, progress):
        opp_id = row.text(h["id"], required=True)
        created = row.moment(h["created"], required=True)
        stage_name = row.text(h["stage"], required=True)
        stage = stages.require(row, h["stage"], stage_name) if stage_name is not None else None
        close_at = row.moment(h["close_date"])
        amount = row.number(h["amount"])
        code = currency(row, h["currency"]) or contract.organization.currency
        probability = share(row, h["probability"], percent=True)
        kind = contract.pipeline_by_key[stage].kind if stage is not None else None
        _check_closed(row, h, stage_name, stage, kind)
        if not ids.claim(row, h["id"], opp_id) or None in (opp_id, created, stage_name, stage):
            continue
        assert opp_id and created and stage_name and stage
        closed_at = max(close_at or created, created) if kind in CLOSED else None
        reason = None
        if needs_reason(contract, stage, pipeline=True):
            lost = (
                "closed lost in Salesforce"
                if kind == StageKind.LOST
                else f"Salesforce stage {stage_name}"
            )
            reason = row.text(h["loss_reason"]) or lost
        bundle.opportunities.append(
            OpportunityIn(
                opp_id,
                stage=stage,
                name=row.text(h["name"]),
                account=_account(accounts, row, h),
                owner=owners.add(row.text(h["owner"]), row.where),
                amount=amount,
                currency=code,
                probability=probability,
                created_at=created,
                close_date=close_at.astimezone(options.zone).date() if close_at else None,
                closed_at=closed_at,
                history=[StageStep(stage, closed_at or created, ACTOR, reason)],
                properties={
                    **h.extras(row),
                    "stage_name": stage_name,
                    **h.texts(row, OPPORTUNITY_TEXT_PROPERTIES),
                },
                origin=row.where,
            )
        )
    bundle.accounts = list(accounts.values())
    bundle.users = list(owners.users.values())
    bundle.problems.extend(problems.items)
    return bundle


def _check_closed(
    row: Row, h: Header, stage_name: str | None, stage: str | None, kind: StageKind | None
) -> None:
    """A mapped stage must agree with Salesforce's own closed and won flags."""
    if stage is None or kind is None:
        return
    for key, flag_says, stage_says in (
        ("is_closed", row.flag(h["is_closed"]), kind in CLOSED),
        ("is_won", row.flag(h["is_won"]), kind == StageKind.WON),
    ):
        if flag_says is not None and flag_says != stage_says:
            row.problems.add(
                f"{row.where} column {h[key]}",
                f'is {str(flag_says).lower()} but "{stage_name}" maps to the {kind} pipeline stage '
                f'"{stage}"; fix it in [mappings.salesforce.opportunity_stage] {CONTRACT}',
            )


def _account(accounts: dict[str, AccountIn], row: Row, h: Header) -> str | None:
    """The deal's account: keyed by its Salesforce id, or by its name when the file has no id."""
    account_id = row.text(h["account_id"])
    name = row.text(h["account_name"])
    key = account_id or (company_key(name) if name else None)
    if key is None:
        return None
    found = accounts.get(key)
    if found is None:
        accounts[key] = AccountIn(key, name=name or key, origin=row.where)
    elif name and found.name == key:
        found.name = name
    return key


READERS = {"salesforce-leads": read_leads, "salesforce-opportunities": read_opportunities}
