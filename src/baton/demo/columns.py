"""The simulator's output as Arrow columns: a store's worth of tables without a Python record each.

:func:`simulate_columns` draws the same funnel as :func:`baton.demo.simulator.simulate` (the
same :func:`~baton.demo.simulator.draw`, seed for seed) and returns each table of the store as
it would hold it after ``baton demo`` on an empty database: the store's column names and
types (:func:`baton.store.arrow.arrow_schema`), the same external ids, and the row ids the
store would assign. The large tables (contacts, leads, touchpoints, activities, the stage log)
are built from the arrays in whole columns, which is what makes a million leads practical; the
small ones go through the records ``baton demo`` writes (:mod:`baton.demo.record_table`).

Two columns differ from a store: ``stage_changes.contract_version_id`` is empty (no contract
was applied) and ``stage_changes.recorded_at`` is the window's end rather than the moment of
writing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from baton.contract.model import Contract
from baton.demo import build
from baton.demo.journeys import MARKETING
from baton.demo.profiles import CHANNELS, COUNTRIES, SEGMENTS
from baton.demo.record_table import RowIds, record_table
from baton.demo.sales import DEAL_WORK, KINDS, MEETING, OUTCOMES
from baton.demo.simulator import SOURCE, Simulation, draw, opportunities
from baton.demo.world import Ints
from baton.store.arrow import arrow_schema

Column: TypeAlias = pa.Array | NDArray[Any] | Sequence[Any]


def simulate_columns(
    contract: Contract,
    *,
    seed: int = 7,
    leads: int = 20_000,
    months: int = 18,
    end: dt.date,
    touches: float = 1.0,
) -> dict[str, pa.Table]:
    """Simulate a funnel, as the store's tables in Arrow.

    Parameters
    ----------
    contract, seed, leads, months, end
        As for :func:`baton.demo.simulator.simulate`; the same values give the same data.
    touches
        Scales the marketing touches per lead (visits before arrival, nurture after); 1 gives
        exactly the data of ``baton demo``.

    Returns
    -------
    dict of str to pyarrow.Table
        ``teams``, ``users``, ``accounts``, ``contacts``, ``campaigns``, ``campaign_spend``,
        ``leads``, ``touchpoints``, ``activities``, ``opportunities`` and ``stage_changes``.
    """
    sim = draw(contract, seed=seed, leads=leads, months=months, end=end, touches=touches)
    return tables(sim)


def tables(sim: Simulation) -> dict[str, pa.Table]:
    """The store's tables for one drawn simulation (see :func:`simulate_columns`)."""
    teams, users = build.teams_and_users(sim.org)
    accounts = build.accounts(sim.accounts, sim.arrivals, sim.org)
    campaigns = build.campaigns(sim.campaigns, sim.spend, sim.currency)
    spend = build.spend(sim.campaigns, sim.spend, sim.currency)
    deals = opportunities(sim)
    ids = RowIds()
    for name, records in (
        ("teams", teams),
        ("users", users),
        ("accounts", accounts),
        ("campaigns", campaigns),
        ("opportunities", deals),
    ):
        ids.number(name, [r.external_id for r in records])
    # leads and contacts are numbered by arrival, as the records are
    lead_ext = _ids("lead-", np.arange(len(sim.arrivals)), 6)
    ids.number("leads", lead_ext.to_pylist())
    ids.number("contacts", _ids("contact-", np.arange(len(sim.arrivals)), 6).to_pylist())
    out = {
        "teams": record_table("teams", teams, ids, SOURCE),
        "users": record_table("users", users, ids, SOURCE),
        "accounts": record_table("accounts", accounts, ids, SOURCE),
        "contacts": _contacts(sim),
        "campaigns": record_table("campaigns", campaigns, ids, SOURCE),
        "campaign_spend": record_table("campaign_spend", spend, ids, SOURCE),
        "leads": _leads(sim, lead_ext, ids),
        "touchpoints": _touchpoints(sim),
        "opportunities": record_table("opportunities", deals, ids, SOURCE),
    }
    out["activities"] = _activities(sim, ids)
    out["stage_changes"] = _stage_changes(sim, lead_ext, out["opportunities"], ids)
    return out


def _table(name: str, columns: dict[str, Column]) -> pa.Table:
    """A table of the store from its columns; ``source`` is the demo's, absent columns empty."""
    schema = arrow_schema(name)
    n = len(next(iter(columns.values())))
    given = {"source": pa.repeat(pa.scalar(SOURCE), n), **columns}
    arrays = []
    for field in schema:
        value = given.get(field.name)
        if value is None:
            arrays.append(pa.nulls(n, field.type))
        elif isinstance(value, np.ndarray) and value.dtype.kind == "M":
            arrays.append(pa.array(value, mask=np.isnat(value)).cast(field.type))
        else:
            arrays.append(pa.array(value, field.type) if not isinstance(value, pa.Array)
                          else value.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _ids(prefix: str, rows: Ints, width: int) -> pa.Array:
    """``<prefix><row>`` with the row zero-padded to ``width`` digits, as build.ids."""
    digits = pc.utf8_lpad(pa.array(rows, pa.int64()).cast(pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _pick(values: Sequence[str | None], index: Ints) -> pa.Array:
    """``values[index]`` for each row; a negative index gives null."""
    picked = pa.array(values, pa.string()).take(pa.array(np.maximum(index, 0)))
    return pc.if_else(pa.array(index >= 0), picked, pa.scalar(None, pa.string()))


def _row_id(rows: Ints) -> NDArray[np.int64]:
    """Store ids (1, 2, ...) for 0-based rows."""
    return rows.astype(np.int64) + 1


def _json_rows(template: dict[str, Ints]) -> pa.Array:
    """JSON text of ``{key: value[i]}`` per row, written once per distinct row."""
    keys = list(template)
    stacked = np.stack([template[k] for k in keys], axis=1)
    distinct, inverse = np.unique(stacked, axis=0, return_inverse=True)
    texts = [json.dumps(dict(zip(keys, row, strict=True))) for row in distinct.tolist()]
    return pa.array(texts, pa.string()).take(pa.array(inverse.ravel()))


def _contacts(sim: Simulation) -> pa.Table:
    arrivals, people = sim.arrivals, sim.people
    n = len(arrivals)
    return _table(
        "contacts",
        {
            "id": _row_id(np.arange(n)),
            "external_id": _ids("contact-", np.arange(n), 6),
            "account_id": _row_id(arrivals.account),
            "email": people.email,
            "first_name": people.first,
            "last_name": people.last,
            "title": people.title,
            "country": _pick([c[0] for c in COUNTRIES], sim.accounts.country[arrivals.account]),
            "created_at": arrivals.created,
            "properties": pa.repeat(pa.scalar("{}"), n),
        },
    )


def _leads(sim: Simulation, external: pa.Array, ids: RowIds) -> pa.Table:
    arrivals, people, accounts = sim.arrivals, sim.people, sim.accounts
    n = len(arrivals)
    account = arrivals.account
    moves = sim.moves
    last = np.searchsorted(moves["subject"], np.arange(n), side="right") - 1
    moved = (last >= 0) & (moves["subject"][np.maximum(last, 0)] == np.arange(n))
    stage = np.where(moved, moves["stage"][np.maximum(last, 0)], -1).astype(np.int64)
    entered = np.where(moved, moves["at"][np.maximum(last, 0)], np.datetime64("NaT"))
    segments = [json.dumps({"segment": s[0]}) for s in SEGMENTS]
    return _table(
        "leads",
        {
            "id": _row_id(np.arange(n)),
            "external_id": external,
            "contact_id": _row_id(np.arange(n)),
            "account_id": _row_id(account),
            "email": people.email,
            "first_name": people.first,
            "last_name": people.last,
            "company": accounts.name[account],
            "title": people.title,
            "country": _pick([c[0] for c in COUNTRIES], accounts.country[account]),
            "channel": _pick([c.key for c in CHANNELS], arrivals.channel),
            "stage": _pick(sim.stages.lifecycle, stage),
            "stage_entered_at": entered.astype("datetime64[s]"),
            "owner_id": _user_ids(sim, ids, sim.owner),
            "score": sim.score,
            "created_at": arrivals.created,
            "properties": _pick(segments, accounts.segment[account]),
        },
    )


def _user_ids(sim: Simulation, ids: RowIds, rep: Ints) -> pa.Array:
    """Store ids of the reps in rows ``rep`` of the sales org; -1 gives null."""
    rep_ids = np.array([ids.get("users", ext) for ext in sim.org.rep_ids.tolist()], np.int64)
    return pa.array(rep_ids[np.maximum(rep, 0)], mask=rep < 0)


def _touchpoints(sim: Simulation) -> pa.Table:
    touches = sim.touches
    order = np.lexsort((touches.at, touches.lead))
    lead = touches.lead[order]
    rank = np.arange(lead.size) - np.searchsorted(lead, lead)
    channel = touches.channel[order]
    campaign = touches.campaign[order]
    campaign_ext = _pick(sim.campaigns.external_ids(), campaign)
    medium = _pick([c.medium for c in CHANNELS], channel)
    return _table(
        "touchpoints",
        {
            "id": _row_id(np.arange(lead.size)),
            "external_id": _join(
                _ids("touch-", lead, 6), "-", pc.utf8_lpad(pa.array(rank).cast(pa.string()), 2, "0")
            ),
            "lead_id": _row_id(lead),
            "contact_id": _row_id(lead),
            "account_id": _row_id(sim.arrivals.account[lead]),
            "campaign_id": pa.array(_row_id(campaign), mask=campaign < 0),
            "channel": _pick([c.key for c in CHANNELS], channel),
            "touch_type": touches.kind[order],
            "utm_source": touches.source[order],
            "utm_medium": medium,
            "utm_campaign": pc.if_else(pc.is_null(medium), pa.scalar(None, pa.string()),
                                       campaign_ext),
            "utm_term": touches.term[order],
            "utm_content": touches.content[order],
            "landing_page": touches.page[order],
            "occurred_at": touches.at[order],
            "properties": pa.repeat(pa.scalar("{}"), lead.size),
        },
    )


def _deal_ids(sim: Simulation) -> NDArray[np.int64]:
    """The store id of each deal row's opportunity; 0 for deals opened after the window."""
    opened = sim.journeys.deals.entered[:, 0] < sim.window.end
    return np.where(opened, np.cumsum(opened), 0).astype(np.int64)


def _activities(sim: Simulation, ids: RowIds) -> pa.Table:
    work = sim.journeys.activities
    keep = work.at < sim.window.end
    lead, kind, step, cycle, deal = (
        work.lead[keep], work.kind[keep], work.step[keep], work.cycle[keep], work.deal[keep]
    )
    on_deal = deal >= 0
    two = pc.utf8_lpad(pa.array(step).cast(pa.string()), 2, "0")
    phase = pc.if_else(pa.array(on_deal), "d", pa.array(cycle).cast(pa.string()))
    follow_up = _join("Follow-up ", pa.array(step - 1).cast(pa.string()))
    lead_subject = pc.if_else(
        pa.array(kind == MEETING), "Discovery meeting",
        pc.if_else(pa.array(step == 1), "First touch", follow_up),
    )  # fmt: skip
    deal_subject = _pick([s for _, s in DEAL_WORK], step % len(DEAL_WORK))
    attempts = _json_rows({"attempt": step, "mql_cycle": cycle})
    return _table(
        "activities",
        {
            "id": _row_id(np.arange(lead.size)),
            "external_id": _join(_ids("act-", lead, 6), "-", phase, "-", two),
            "kind": _pick(KINDS, kind),
            "direction": pc.if_else(pa.array(kind == MEETING), pa.scalar(None, pa.string()),
                                    "outbound"),
            "lead_id": _row_id(lead),
            "contact_id": _row_id(lead),
            "account_id": _row_id(sim.arrivals.account[lead]),
            "opportunity_id": pa.array(_deal_ids(sim)[np.maximum(deal, 0)], mask=~on_deal),
            "user_id": _user_ids(sim, ids, work.rep[keep]),
            "occurred_at": work.at[keep],
            "outcome": _pick(OUTCOMES, work.outcome[keep]),
            "subject": pc.if_else(pa.array(on_deal), deal_subject, lead_subject),
            "properties": pc.if_else(pa.array(on_deal), "{}", attempts),
        },
    )


def _stage_changes(
    sim: Simulation, lead_ext: pa.Array, opportunities: pa.Table, ids: RowIds
) -> pa.Table:
    """The lead moves, then the deal moves, as the store logs them (see ``store.bulk``)."""
    deal_moves = sim.journeys.deal_moves.before(sim.window.end)
    deal_ids = _deal_ids(sim)[deal_moves["subject"].astype(np.int64)]
    deal_ext = opportunities["external_id"].combine_chunks()
    parts = [
        _log(sim, "lead", sim.moves, _row_id(sim.moves["subject"].astype(np.int64)),
             lead_ext, sim.stages.lifecycle),
        _log(sim, "opportunity", deal_moves, deal_ids, deal_ext, sim.stages.pipeline),
    ]  # fmt: skip
    log = pa.concat_tables(parts)
    ids_ = pa.array(np.arange(1, log.num_rows + 1, dtype=np.int64))
    return log.set_column(log.schema.get_field_index("id"), "id", ids_)


def _log(
    sim: Simulation,
    subject: str,
    moves: dict[str, NDArray[np.generic]],
    subject_id: NDArray[np.int64],
    external: pa.Array,
    keys: Sequence[str],
) -> pa.Table:
    """Moves sorted by subject and time, with the previous stage and the dedupe key of each."""
    n = subject_id.size
    stage = moves["stage"].astype(np.int64)
    first = np.ones(n, dtype=bool)
    first[1:] = subject_id[1:] != subject_id[:-1]
    previous = np.where(first, -1, np.roll(stage, 1))
    # the n-th move from ``previous`` to ``stage`` of a subject: the store's dedupe key
    group = np.lexsort((np.arange(n), stage, previous, subject_id))
    sorted_keys = np.stack([subject_id, previous, stage])[:, group]
    starts = np.ones(n, dtype=bool)
    starts[1:] = (sorted_keys[:, 1:] != sorted_keys[:, :-1]).any(axis=0)
    run_start = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    occurrence = np.empty(n, dtype=np.int64)
    occurrence[group] = np.arange(n) - run_start + 1
    to_stage = _pick(keys, stage)
    from_stage = _pick(keys, previous)
    actor = np.asarray(moves["actor"], dtype=np.int64)
    reason = np.asarray(moves["reason"], dtype=np.int64)
    return _table(
        "stage_changes",
        {
            "id": np.zeros(n, dtype=np.int64),
            "subject": pa.repeat(pa.scalar(subject), n),
            "subject_id": subject_id,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "at": moves["at"].astype("datetime64[s]"),
            "actor": _pick([*sim.org.rep_ids.tolist(), "marketing"],
                           np.where(actor == MARKETING, sim.org.rep_ids.size, actor)),
            "reason": _pick(sim.stages.reasons, reason),
            "dedupe_key": _join(
                f"{SOURCE}:{subject}:", external.take(pa.array(subject_id - 1)), ":",
                pc.fill_null(from_stage, ""), ">", to_stage, "#",
                pa.array(occurrence).cast(pa.string()),
            ),
            "recorded_at": np.full(n, sim.window.end, dtype="datetime64[s]"),
        },
    )
