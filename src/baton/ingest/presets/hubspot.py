"""HubSpot's contacts export (CSV): contacts and leads, their lifecycle history, companies, owners.

Each row becomes a contact and a lead with the same id (``Record ID``). The lead's stage
history comes from the "Became a … Date" columns present (or the newer ``Date entered
"… (Lifecycle Stage Pipeline)"`` ones), in time order, mapped to contract stages through
``[mappings.hubspot.lifecycle_stage]``; the current ``Lifecycle Stage`` is always the last
step. A ``Lead Status`` listed in ``[mappings.hubspot.lead_status]`` adds a final step with the
reason "HubSpot lead status <value>". ``Original Source`` becomes the lead's channel and its
first touch at ``Create Date``; the company name becomes an account and ``Contact owner`` a
user. Every other column is kept in the lead's ``properties`` and listed once in the notes.

HubSpot writes dates without a time zone, in the account's zone: import with
``--timezone`` set to it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path

from baton.contract.model import Contract
from baton.ingest.csvfile import Problems, Row, UniqueIds
from baton.ingest.presets import ImportOptions
from baton.ingest.presets.common import (
    Field,
    Header,
    Owners,
    StageMap,
    company_key,
    needs_reason,
    read_rows,
    snake,
)
from baton.ingest.records import AccountIn, ContactIn, ImportBundle, LeadIn, StageStep, TouchIn
from baton.progress import Progress

SOURCE = "hubspot"
ACTOR = "import:hubspot"

#: The date each lifecycle stage was entered, keyed by HubSpot's internal stage name, in
#: funnel order (the order breaks ties between equal dates).
BECAME = (
    Field(
        "subscriber",
        ("Became a Subscriber Date", 'Date entered "Subscriber (Lifecycle Stage Pipeline)"'),
    ),
    Field("lead", ("Became a Lead Date", 'Date entered "Lead (Lifecycle Stage Pipeline)"')),
    Field(
        "marketingqualifiedlead",
        (
            "Became a Marketing Qualified Lead Date",
            'Date entered "Marketing Qualified Lead (Lifecycle Stage Pipeline)"',
        ),
    ),
    Field(
        "salesqualifiedlead",
        (
            "Became a Sales Qualified Lead Date",
            'Date entered "Sales Qualified Lead (Lifecycle Stage Pipeline)"',
        ),
    ),
    Field(
        "opportunity",
        ("Became an Opportunity Date", 'Date entered "Opportunity (Lifecycle Stage Pipeline)"'),
    ),
    Field(
        "customer", ("Became a Customer Date", 'Date entered "Customer (Lifecycle Stage Pipeline)"')
    ),
    Field(
        "evangelist",
        ("Became an Evangelist Date", 'Date entered "Evangelist (Lifecycle Stage Pipeline)"'),
    ),
    Field(
        "other",
        ("Became an Other Lifecycle Date", 'Date entered "Other (Lifecycle Stage Pipeline)"'),
    ),
)

#: Every column the preset reads, with the spellings HubSpot has used for it.
FIELDS = (
    Field("record_id", ("Record ID", "Contact ID"), required=True),
    Field("created", ("Create Date",), required=True),
    Field("lifecycle_stage", ("Lifecycle Stage",), required=True),
    Field("lead_status", ("Lead Status",)),
    Field("email", ("Email",)),
    Field("first_name", ("First Name",)),
    Field("last_name", ("Last Name",)),
    Field("phone", ("Phone Number",)),
    Field("title", ("Job Title",)),
    Field("associated_company", ("Associated Company",)),
    Field("company_name", ("Company Name",)),
    Field("country", ("Country/Region", "Country")),
    Field("owner", ("Contact owner", "HubSpot Owner")),
    Field("original_source", ("Original Source", "Original Traffic Source")),
    Field(
        "original_source_drill_down_1",
        (
            "Original Source Drill-Down 1",
            "Original Traffic Source Drill-Down 1",
            "Original Source Data 1",
        ),
    ),
    Field(
        "original_source_drill_down_2",
        (
            "Original Source Drill-Down 2",
            "Original Traffic Source Drill-Down 2",
            "Original Source Data 2",
        ),
    ),
    *BECAME,
)
#: Fields whose raw value is also kept in the lead's properties, under these keys.
KEPT_RAW = (
    "lifecycle_stage",
    "lead_status",
    "original_source",
    "original_source_drill_down_1",
    "original_source_drill_down_2",
)


def lifecycle_key(value: str) -> str:
    """HubSpot's internal stage name: ``Sales Qualified Lead`` → ``salesqualifiedlead``."""
    return "".join(value.split()).casefold()


def status_key(value: str) -> str:
    """HubSpot's internal lead status for a label: ``Bad Timing`` → ``BAD_TIMING``."""
    return re.sub(r"[\s-]+", "_", value.strip()).upper()


class _Contacts:
    """The state of one HubSpot import: what was read so far and the rules to read by."""

    def __init__(self, contract: Contract, bundle: ImportBundle, problems: Problems) -> None:
        self.contract = contract
        self.bundle = bundle
        self.problems = problems
        self.ids = UniqueIds(problems)
        self.owners = Owners()
        self.accounts: dict[str, AccountIn] = {}
        self.stageless: list[str] = []
        self.lifecycle = StageMap.from_contract(
            contract, "hubspot", "lifecycle_stage", normalise=lifecycle_key
        )
        self.statuses = StageMap.from_contract(
            contract, "hubspot", "lead_status", normalise=status_key
        )

    def read_row(self, row: Row, h: Header) -> None:
        record_id = row.text(h["record_id"], required=True)
        created = row.moment(h["created"], required=True)
        history = self.history(row, h, created)
        if (
            not self.ids.claim(row, h["record_id"], record_id)
            or record_id is None
            or created is None
        ):
            return
        if not history:
            self.stageless.append(row.where)
        company = row.text(h["associated_company"]) or row.text(h["company_name"])
        account = self.account(company, row.where)
        owner = self.owners.add(row.text(h["owner"]), row.where)
        source = row.text(h["original_source"])
        channel = snake(source or "") or "unknown"
        raw = h.texts(row, KEPT_RAW)
        person = h.person(row)
        self.bundle.contacts.append(
            ContactIn(
                record_id,
                account=account,
                phone=row.text(h["phone"]),
                created_at=created,
                origin=row.where,
                **person,
            )
        )
        self.bundle.leads.append(
            LeadIn(
                record_id,
                created_at=created,
                company=company,
                channel=channel,
                contact=record_id,
                account=account,
                owner=owner,
                history=history,
                properties={**h.extras(row), **raw},
                origin=row.where,
                **person,
            )
        )
        self.bundle.touchpoints.append(
            TouchIn(
                f"{record_id}:original-source",
                channel=channel,
                occurred_at=created,
                touch_type="original_source",
                lead=record_id,
                contact=record_id,
                account=account,
                properties={k: v for k, v in raw.items() if k.startswith("original_source")},
                origin=row.where,
            )
        )

    def history(self, row: Row, h: Header, created: dt.datetime | None) -> list[StageStep]:
        """The lead's steps: dated stages in time order, then the current stage, then the status."""
        dated: list[tuple[dt.datetime, int, str]] = []
        for order, field in enumerate(BECAME):
            at = row.moment(h[field.key])
            if at is not None:
                dated.append((at, order, field.key))
        steps: list[StageStep] = []
        for at, _, name in sorted(dated):
            self.step(
                steps,
                self.lifecycle.require(row, h[name], name),
                at,
                f"HubSpot lifecycle stage {name}",
            )
        # The current stage is entered at its own date when it has one (then it is already the
        # last step), else after the latest known step, else at the create date.
        known = [s.at for s in steps] + ([created] if created is not None else [])
        latest = max(known, default=None)
        current = row.text(h["lifecycle_stage"])
        if current is not None and latest is not None:
            stage = self.lifecycle.require(row, h["lifecycle_stage"], current)
            self.step(steps, stage, latest, f"HubSpot lifecycle stage {current}")
        status = row.text(h["lead_status"])
        if status is not None and latest is not None:
            at = steps[-1].at if steps else latest
            self.step(
                steps, self.statuses.get(status), at, f"HubSpot lead status {status}", always=True
            )
        return steps

    def step(
        self,
        steps: list[StageStep],
        stage: str | None,
        at: dt.datetime,
        why: str,
        *,
        always: bool = False,
    ) -> None:
        """Append a move to ``stage`` unless it is unknown or the stage the lead is already in."""
        if stage is None or (steps and steps[-1].to == stage):
            return
        reason = why if always or needs_reason(self.contract, stage) else None
        steps.append(StageStep(stage, at, ACTOR, reason))

    def account(self, company: str | None, origin: str) -> str | None:
        if company is None:
            return None
        key = company_key(company)
        if key not in self.accounts:
            self.accounts[key] = AccountIn(key, name=company, origin=origin)
        return key


def read(
    paths: Sequence[Path], contract: Contract, options: ImportOptions, progress: Progress
) -> ImportBundle:
    """Read HubSpot contacts exports into contacts, leads, first touches, accounts and owners.

    Parameters
    ----------
    paths
        One or more contacts exports (CSV), or folders holding them.
    contract
        The contract in force: its HubSpot mappings turn lifecycle stages and lead statuses
        into stage keys.
    options
        ``timezone`` is HubSpot's account time zone (its exports carry none); ``source``
        renames the source (``hubspot`` by default).
    progress
        Shows one bar per file.

    Returns
    -------
    ImportBundle
        The records, with every bad row as a problem naming its file, row and column.
    """
    problems = Problems()
    bundle = ImportBundle(source=options.source or SOURCE)
    state = _Contacts(contract, bundle, problems)
    for row, header in read_rows(paths, FIELDS, bundle, problems, options.zone, progress):
        state.read_row(row, header)
    bundle.accounts = list(state.accounts.values())
    bundle.users = list(state.owners.users.values())
    if state.stageless:
        bundle.notes.append(
            f"{len(state.stageless)} contact(s) have no Lifecycle Stage and no stage dates, so "
            f"their leads have no stage ({', '.join(state.stageless[:5])}"
            f"{', ...' if len(state.stageless) > 5 else ''})"
        )
    bundle.problems.extend(problems.items)
    return bundle


READERS = {"hubspot-contacts": read}
