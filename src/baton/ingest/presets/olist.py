"""The Olist marketing funnel: MQLs with origin and landing page, and the deals they closed.

Each MQL becomes a lead in the MQL stage at its first contact date, with its ``origin`` as its
first touch (channel ``unknown`` where the origin is empty; the raw value stays in
``properties``). Each closed deal becomes a won opportunity owned by its sales rep (SR), the
lead moves to the won stage at the won date, and SDRs and SRs become users.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from baton.contract.model import Contract, StageKind
from baton.errors import InvalidInput
from baton.ingest.csvfile import CsvFile, Problems, UniqueIds
from baton.ingest.presets import ImportOptions, expand
from baton.ingest.records import ImportBundle, LeadIn, OpportunityIn, StageStep, TouchIn, UserIn
from baton.progress import Progress

SOURCE = "olist"
MQL_COLUMNS = ("mql_id", "first_contact_date", "landing_page_id", "origin")
DEAL_COLUMNS = (
    "mql_id", "seller_id", "sdr_id", "sr_id", "won_date", "business_segment", "lead_type",
    "lead_behaviour_profile", "has_company", "has_gtin", "average_stock", "business_type",
    "declared_product_catalog_size", "declared_monthly_revenue",
)
ACTOR = "import:olist"


def _pick(files: list[Path]) -> tuple[Path, Path]:
    mqls = deals = None
    for path in files:
        header = path.read_text(encoding="utf-8-sig").split("\n", 1)[0]
        if "won_date" in header:
            deals = path
        elif "first_contact_date" in header:
            mqls = path
    if mqls is None or deals is None:
        raise InvalidInput(
            "olist needs two files: the MQLs (with first_contact_date) and the closed deals "
            f"(with won_date); got {', '.join(p.name for p in files) or 'none'}"
        )
    return mqls, deals


def read(paths: Sequence[Path], contract: Contract, options: ImportOptions, progress: Progress) -> ImportBundle:
    mql_path, deal_path = _pick(expand(paths))
    source = options.source or SOURCE
    problems = Problems()
    bundle = ImportBundle(source=source)
    mql_file = CsvFile(mql_path, problems=problems, zone=options.zone, required=MQL_COLUMNS, known=MQL_COLUMNS)
    deal_file = CsvFile(deal_path, problems=problems, zone=options.zone, required=DEAL_COLUMNS, known=DEAL_COLUMNS)
    bundle.files = {mql_file.name: mql_file.sha256, deal_file.name: deal_file.sha256}
    for f in (mql_file, deal_file):
        if f.unknown_columns:
            bundle.notes.append(f"{f.name}: columns not used: {', '.join(f.unknown_columns)}")

    mql_stage = contract.mql_stage.key
    won_stage = contract.won_stage.key
    won_pipeline = next(p.key for p in contract.pipeline if p.kind == StageKind.WON)

    leads: dict[str, LeadIn] = {}
    ids = UniqueIds(problems)
    advance = progress.task(f"reading {mql_file.name}", len(mql_file))
    for row in mql_file.rows():
        advance(1)
        mql_id = row.text("mql_id", required=True)
        first = row.moment("first_contact_date", required=True)
        if not ids.claim(row, "mql_id", mql_id) or mql_id is None or first is None:
            continue
        origin = row.text("origin")
        landing = row.text("landing_page_id")
        lead = LeadIn(
            external_id=mql_id,
            created_at=first,
            channel=origin or "unknown",
            history=[StageStep(mql_stage, first, ACTOR)],
            properties={"origin": origin, "landing_page_id": landing},
            origin=row.where,
        )
        leads[mql_id] = lead
        bundle.leads.append(lead)
        bundle.touchpoints.append(
            TouchIn(
                external_id=f"{mql_id}:first-contact",
                channel=lead.channel or "unknown",
                occurred_at=first,
                touch_type="form",
                lead=mql_id,
                landing_page=landing,
                properties={"origin": origin},
                origin=row.where,
            )
        )

    users: dict[str, UserIn] = {}
    deal_ids = UniqueIds(problems)
    clamped: list[str] = []
    advance = progress.task(f"reading {deal_file.name}", len(deal_file))
    for row in deal_file.rows():
        advance(1)
        mql_id = row.text("mql_id", required=True)
        sdr = row.text("sdr_id", required=True)
        sr = row.text("sr_id", required=True)
        won = row.moment("won_date", required=True)
        seller = row.text("seller_id", required=True)
        if not deal_ids.claim(row, "mql_id", mql_id) or None in (mql_id, sdr, sr, won, seller):
            continue
        assert mql_id and sdr and sr and won and seller
        joined = leads.get(mql_id)
        if joined is None:
            problems.add(
                f"{row.where} column mql_id",
                f'"{mql_id}" is not in {mql_file.name}; every deal must join to an MQL',
            )
            continue
        lead = joined
        for user_id, role in ((sdr, "sdr"), (sr, "sales")):
            user = users.setdefault(user_id, UserIn(user_id, name=f"{role.upper()} {user_id[:8]}", role=role, origin=row.where))
            roles = set(user.properties.get("roles", [])) | {role}
            user.properties["roles"] = sorted(roles)
            if "sales" in roles:
                user.role = "sales"
        lead.owner = sr
        # One real deal is won before its MQL's first contact date; the lead's history keeps
        # time order by dating that step at the first contact, the deal keeps its real date.
        step_at = max(won, lead.created_at)
        if step_at != won:
            clamped.append(row.where)
        lead.history.append(StageStep(won_stage, step_at, ACTOR))
        details = {c: row.text(c) for c in DEAL_COLUMNS if c not in ("mql_id", "won_date")}
        bundle.opportunities.append(
            OpportunityIn(
                external_id=mql_id,
                stage=won_pipeline,
                name=f"Seller {seller[:8]}",
                lead=mql_id,
                owner=sr,
                currency=contract.organization.currency,
                closed_at=won,
                close_date=won.date(),
                history=[StageStep(won_pipeline, won, ACTOR)],
                properties=details,
                origin=row.where,
            )
        )
    bundle.users = list(users.values())
    if clamped:
        bundle.notes.append(
            f"{len(clamped)} deal(s) won before the MQL's first contact date "
            f"({', '.join(clamped)}); the lead's won step is dated at the first contact, "
            "the deal keeps its won date"
        )
    bundle.problems.extend(problems.items)
    return bundle


READERS = {"olist": read}
