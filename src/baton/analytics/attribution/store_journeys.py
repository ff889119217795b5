"""Journeys from the store: each buyer's touches up to an outcome, as one Ibis expression.

A *subject* is a lead (contact level) or an account (account level: the buying committee, every
touch of every contact of the account; a lead without an account is an account of its own).
Its touches, in time order, are cut at its outcome events; :func:`build_journeys` documents the
rules and docs/attribution.md works an example through.

The expressions are kept shallow on purpose: SQLite's parser refuses statements nested much
deeper than these (``parser stack overflow``), so joins are chained in one ``SELECT`` where
they can be, and each window that needs another is the only reason for a new level.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import ibis
import ibis.expr.operations as ops

from baton.analytics.attribution.journeys import Journeys
from baton.analytics.breakdowns import UNKNOWN
from baton.analytics.memo import Built
from baton.analytics.period import Period
from baton.analytics.source import Tables
from baton.analytics.timing import START, STOP
from baton.contract.load import did_you_mean
from baton.contract.model import Contract, StageKind
from baton.errors import InvalidInput

Outcome = Literal["lead", "mql", "sql", "opportunity", "won"]
Level = Literal["contact", "account"]
By = Literal["channel", "campaign"]

#: The outcomes a journey can end in, each with the moment it counts at and its value.
OUTCOMES: dict[str, str] = {
    "lead": "the lead was created (its created_at); no value",
    "mql": "the lead first reached the contract's MQL stage or a later main-path stage; no value",
    "sql": "the lead first reached the contract's SQL stage or a later main-path stage; no value",
    "opportunity": "an opportunity was created; value: its amount (pipeline)",
    "won": "an opportunity was won (closed in a won pipeline stage); value: its amount; a lost "
    "one ends a journey that did not convert",
}
#: Whose touches make a journey.
LEVELS: dict[str, str] = {
    "contact": "one person: the lead and the touches tied to it (or to its contact)",
    "account": "the buying committee: every touch of every contact of the account",
}
#: What credit goes to.
BYS: dict[str, str] = {
    "channel": "the touch's channel",
    "campaign": "the name of the touch's campaign (unknown without one)",
}
#: Outcomes a subject reaches once (its first time counts); the others can repeat.
ONCE = frozenset({"lead", "mql", "sql"})
#: The channel of the touch given to a conversion that had no touch in its window.
NO_TOUCH = "(no touch)"
DAY_SECONDS = 86_400
#: The flags of the touches nearest each event, and the event's moment they are read from.
FLAGS = {
    "is_lead_touch": "lead_at",
    "is_opportunity_touch": "opportunity_at",
    "is_won_touch": "won_at",
}


def check_choice(value: str, choices: dict[str, str], option: str) -> str:
    """``value`` if it is one of ``choices``; :class:`InvalidInput` naming them if not."""
    if value not in choices:
        raise InvalidInput(f'{option} "{value}" is not known{did_you_mean(value, choices)}')
    return value


def build_journeys(
    tables: Tables,
    contract: Contract,
    outcome: str = "won",
    level: str = "account",
    *,
    by: str = "channel",
    lookback_days: int | None = 90,
    period: Period | None = None,
    untouched: bool = True,
) -> Journeys:
    """Journeys from the store's touchpoints, leads, stage changes and opportunities.

    Each subject's touches, in time order, are cut at its outcome events: a journey is the
    touches after the previous event up to and including the event (a touch at the same moment
    as the event belongs to it), within ``lookback_days`` before it. Touches after a subject's
    last event make one more journey that did not convert when the outcome can repeat
    (``opportunity``, ``won``); ``lead``, ``mql`` and ``sql`` count the first time only, so
    touches after it are left out. A subject with touches and no event is one journey that did
    not convert. A lost opportunity (outcome ``won``) ends a journey that did not convert.
    Events of one subject at the same moment make one journey.

    Parameters
    ----------
    tables
        The store's tables.
    contract
        Its MQL and SQL stages, main path and pipeline kinds say when an outcome happened.
    outcome
        One of :data:`OUTCOMES`.
    level
        One of :data:`LEVELS`.
    by
        One of :data:`BYS`: what the touches' ``channel`` column holds.
    lookback_days
        Touches more than this many days before the journey's end are left out (the end is the
        event, or the last touch of a journey with none); ``None`` or 0 keeps every touch.
    period
        When given, only journeys that ended in the period, as known at its end (touches and
        events after it are ignored). Its bounds are then parameters of the expressions
        (:data:`~baton.analytics.timing.START`, :data:`~baton.analytics.timing.STOP`), whose
        values are the journeys' ``params``: run what is made from them with
        ``execute(params=journeys.params)``.
    untouched
        Give a converting journey left with no touch one touch of channel :data:`NO_TOUCH` at
        the conversion, so that credit adds up to every conversion.

    Returns
    -------
    Journeys
        Flags mark the last touch of the journey at or before the lead's creation, the
        opportunity's creation and the win (the journey's first touch when the event came
        before all of them); no touch is flagged where the journey has no such event. The
        lead is the opportunity's (or its contact's) for opportunity outcomes at both levels,
        the journey's own lead at contact level, and the account's first lead otherwise.
        Journeys carry ``subject`` (``"lead 12"``, ``"account 3"``) and ``ended_at``; touches
        carry ``touch_id`` (the touchpoint's id; null on a :data:`NO_TOUCH` row).
    """
    check_choice(outcome, OUTCOMES, "--outcome")
    check_choice(level, LEVELS, "--level")
    check_choice(by, BYS, "--by")
    dated = period is not None
    key = ("journeys", outcome, level, by, lookback_days, dated, untouched)
    built = _BUILT.get(
        key,
        lambda: _build(tables, contract, outcome, level, by, lookback_days, dated, untouched),
        tables,
        contract,
    )
    if period is None:
        return built
    start, end = period.bounds()
    return replace(built, params={START: start, STOP: end})


#: Journeys built lately, by what they were built from (building one takes 50-150 ms of
#: Python). A period's bounds are parameters (:data:`~baton.analytics.timing.START` and
#: :data:`~baton.analytics.timing.STOP`), so the journeys of every week or quarter are one
#: expression, built once, whose SQL a connection that keeps it compiles once.
_BUILT = Built(size=16)


def _build(
    tables: Tables,
    contract: Contract,
    outcome: str,
    level: str,
    by: str,
    lookback_days: int | None,
    dated: bool,
    untouched: bool,
) -> Journeys:
    start, end = (START, STOP) if dated else (None, None)
    people = _people(tables)
    touches = _touches(tables, people, level, by, end)
    if outcome in ONCE:
        events = _firsts(tables, contract, people, outcome, level, end)
    else:
        events = _deals(tables, contract, people, outcome, level, end)
    if start is not None:
        touches, events = _active(touches, events, start)
    rows = _cut(touches, events, once=outcome in ONCE)

    window = (lookback_days or 0) * DAY_SECONDS
    if window:
        rows = rows.filter(rows.t >= rows.at_t - ibis.literal(window))
    # an event's own row sorts after its touches (same moment, no touch id): it is step n + 1,
    # and the only touch of a converting journey that has none
    in_order = ibis.window(
        group_by=rows.journey_id, order_by=[rows.t, rows.touch_id.isnull(), rows.touch_id]
    )
    rows = rows.mutate(
        step=(ibis.row_number().over(in_order) + 1).cast("int64"),
        real=rows.touch_id.notnull().ifelse(1, 0).sum().over(group_by=rows.journey_id),
    )
    keep = rows.touch_id.notnull()
    if untouched:
        keep = keep | ((rows.real == 0) & (rows.conversions > 0))
    if start is not None:
        keep = keep & (rows.at_t >= start.epoch_seconds().cast("int64"))
    return _shape(rows.filter(keep))


def _active(touches: ibis.Table, events: ibis.Table, start: Any) -> tuple[ibis.Table, ibis.Table]:
    """The touches and events of the subjects with a touch or an event from ``start`` on.

    A journey that ended in the period ended with an event in it, or (one that did not
    convert) with a touch in it; every other subject's journeys ended before it. Cutting the
    journeys of those subjects alone gives the same journeys, and on the demo data takes
    half the time of cutting everyone's (the windows over each subject's touches are most of
    the work).
    """
    active = (
        touches.filter(touches.touch_at >= start)
        .select("subject")
        .union(events.filter(events.at >= start).select("subject"), distinct=True)
    )
    return (
        touches.filter(touches.subject.isin(active.subject)),
        events.filter(events.subject.isin(active.subject)),
    )


def _people(t: Tables) -> ibis.Table:
    """Per lead: its subject at each level, its contact and when it was created.

    Columns are prefixed ``p_`` so that joins to it never clash with the other side's names.
    """
    leads = t.leads
    person = "lead " + leads.id.cast("string")
    return leads.select(
        p_lead=leads.id,
        p_contact=leads.contact_id,
        p_person=person,
        p_account=ibis.ifelse(
            leads.account_id.notnull(), "account " + leads.account_id.cast("string"), person
        ),
        p_created=leads.created_at,
    )


def _first_lead_of_contact(people: ibis.Table) -> ibis.Table:
    """``c_contact`` and ``c_lead``: the first lead of each contact."""
    return (
        people.filter(people.p_contact.notnull())
        .group_by(c_contact=people.p_contact)
        .aggregate(c_lead=people.p_lead.min())
    )


def _subject_of(level: str, account_id: Any, person: Any) -> Any:
    """A record's subject: its lead's, or its own account's at account level."""
    if level == "contact":
        return person.p_person
    own = "account " + account_id.cast("string")
    return ibis.ifelse(account_id.notnull(), own, person.p_account)


def _touches(t: Tables, people: ibis.Table, level: str, by: str, end: Any) -> ibis.Table:
    """``touch_id``, ``subject``, ``touch_at``, ``channel`` (the label) and ``touch_channel``.

    A touch without a lead is tied to its contact's first lead; its subject at account level is
    its own account, or its lead's.
    """
    tp = t.touchpoints
    if end is not None:
        tp = tp.filter(tp.occurred_at < end)
    contact = _first_lead_of_contact(people)
    person = _view(people, 1)
    chain = tp.left_join(contact, tp.contact_id == contact.c_contact).left_join(
        person, person.p_lead == tp.lead_id.coalesce(contact.c_lead)
    )
    own = tp.channel.cast("string").fill_null(UNKNOWN)
    label = own
    if by == "campaign":
        c = t.campaigns.select(c_id=t.campaigns.id, c_name=t.campaigns.name)
        chain = chain.left_join(c, tp.campaign_id == c.c_id)
        label = c.c_name.cast("string").fill_null(UNKNOWN)
    return chain.select(
        touch_id=tp.id,
        subject=_subject_of(level, tp.account_id, person),
        touch_at=tp.occurred_at,
        channel=label,
        touch_channel=own,
    )


def _firsts(
    t: Tables, contract: Contract, people: ibis.Table, outcome: str, level: str, end: Any
) -> ibis.Table:
    """Events of a first-time outcome: per lead, or per account (its first lead to get there).

    The lead whose creation the lead touch marks is the journey's lead at contact level and the
    account's first lead at account level.
    """
    person = _view(people, 2)
    subject = person.p_person if level == "contact" else person.p_account
    if outcome == "lead":
        rows = person.select(subject=subject, at=person.p_created, lead_at=person.p_created)
    else:
        keys = [s.key for s in contract.main_path()]
        stage = contract.mql_stage if outcome == "mql" else contract.sql_stage
        log = t.stage_changes
        moves = log.filter(
            (log.subject == "lead") & log.to_stage.isin(keys[keys.index(stage.key) :])
        )
        reached = moves.group_by(r_lead=moves.subject_id).aggregate(r_at=moves.at.min())
        joined = person.left_join(reached, person.p_lead == reached.r_lead)
        rows = joined.select(subject=subject, at=reached.r_at, lead_at=person.p_created)
    moment = rows.at.type().copy(nullable=True)
    if level == "account":
        rows = rows.group_by("subject").aggregate(at=rows.at.min(), lead_at=rows.lead_at.min())
    wanted = rows.at.notnull()
    if end is not None:
        wanted = wanted & (rows.at < end)
    return rows.filter(wanted).select(
        "subject", "at", "lead_at",
        number=ibis.literal(1, "int64"), conversions=ibis.literal(1.0),
        value=ibis.literal(0.0), nulls=ibis.literal(0.0),
        opportunity_at=ibis.null(moment), won_at=ibis.null(moment),
    )  # fmt: skip


def _deals(
    t: Tables, contract: Contract, people: ibis.Table, outcome: str, level: str, end: Any
) -> ibis.Table:
    """Events of opportunities: created (``opportunity``), or closed won or lost (``won``)."""
    o = t.opportunities
    won_keys = [s.key for s in contract.pipeline if s.kind == StageKind.WON]
    lost_keys = [s.key for s in contract.pipeline if s.kind == StageKind.LOST]
    won = o.stage.isin(won_keys)
    amount = o.amount.cast("float64").fill_null(0.0)
    if outcome == "opportunity":
        at, chosen = o.created_at, o.created_at.notnull()
        conversions, value = ibis.literal(1.0), amount
        won_at = ibis.null(o.created_at.type().copy(nullable=True))
    else:
        at, chosen = o.closed_at, o.stage.isin(won_keys + lost_keys) & o.closed_at.notnull()
        conversions, value = won.ifelse(1.0, 0.0), won.ifelse(amount, 0.0)
        won_at = ibis.ifelse(won, o.closed_at, ibis.null(o.closed_at.type().copy(nullable=True)))
    if end is not None:
        chosen = chosen & (at < end)
    deals = o.filter(chosen).select(
        contact_id=o.contact_id, lead_id=o.lead_id, account_id=o.account_id, at=at,
        conversions=conversions, value=value, opportunity_at=o.created_at, won_at=won_at,
    )  # fmt: skip
    contact = _first_lead_of_contact(people)
    person = _view(people, 3)
    first = _view(people, 4)
    first = first.group_by(f_account=first.p_account).aggregate(f_created=first.p_created.min())
    subject = _subject_of(level, deals.account_id, person)
    chain = (
        deals.left_join(contact, deals.contact_id == contact.c_contact)
        .left_join(person, person.p_lead == deals.lead_id.coalesce(contact.c_lead))
        .left_join(first, first.f_account == subject)
    )
    rows = chain.select(
        subject=subject, at=deals.at, conversions=deals.conversions, value=deals.value,
        nulls=1.0 - deals.conversions,
        lead_at=person.p_created.coalesce(first.f_created),
        opportunity_at=deals.opportunity_at, won_at=deals.won_at,
    )  # fmt: skip
    rows = rows.filter(rows.subject.notnull()).group_by("subject", "at").aggregate(
        conversions=rows.conversions.sum(), value=rows.value.sum(), nulls=rows.nulls.sum(),
        lead_at=rows.lead_at.min(), opportunity_at=rows.opportunity_at.min(),
        won_at=rows.won_at.max(),
    )  # fmt: skip
    number = ibis.row_number().over(group_by=rows.subject, order_by=rows.at) + 1
    return rows.mutate(number=number.cast("int64"))


def _cut(touches: ibis.Table, events: ibis.Table, *, once: bool) -> ibis.Table:
    """Each touch with the event that ends its journey, and each event as a row of its own.

    Touches and events of a subject are put in one stream ordered by time (a touch before an
    event at the same moment); a touch belongs to the first event at or after it, found by a
    window over the rows that follow, so no touch is compared with every event of its subject.
    Touches with no later event get number 0: the journey that did not convert.
    """
    # Times are compared and ordered as epoch seconds (``*_t``): on SQLite a time is text, a
    # cast rewrites it (to milliseconds), and differently written times misorder as text.
    when = touches.touch_at.type().copy(nullable=True)
    none = ibis.literal(NO_TOUCH, "string")
    stream = touches.select(
        "subject", "touch_id", "channel", "touch_channel", touch_at=touches.touch_at.cast(when),
        t=touches.touch_at.epoch_seconds().cast("int64"),
        kind=ibis.literal(0, "int64"), number=ibis.null("int64"),
    ).union(
        events.select(
            "subject", touch_id=ibis.null(touches.touch_id.type()), channel=none,
            touch_channel=none, touch_at=events.at.cast(when),
            t=events.at.epoch_seconds().cast("int64"), kind=ibis.literal(1, "int64"),
            number=events.number.cast("int64"),
        )
    )  # fmt: skip
    following = ibis.window(
        group_by=stream.subject, order_by=[stream.t, stream.kind], rows=(0, None)
    )
    stream = stream.mutate(
        number=stream.number.min().over(following).fill_null(0),
        has_event=stream.kind.max().over(group_by=stream.subject),
    )
    wanted = stream.subject.notnull()
    if once:
        # the first time is the only time: touches after it lead nowhere
        wanted = wanted & ((stream.number > 0) | (stream.has_event == 0))
    stream = stream.filter(wanted)
    facts = events.select(
        e_subject=events.subject, e_number=events.number.cast("int64"), e_at=events.at.cast(when),
        e_t=events.at.epoch_seconds().cast("int64"),
        e_conversions=events.conversions, e_value=events.value, e_nulls=events.nulls,
        **{f"{moment[:-3]}_t": events[moment].epoch_seconds().cast("int64")
           for moment in FLAGS.values()},
    )  # fmt: skip
    joined = stream.left_join(
        facts, (stream.subject == facts.e_subject) & (stream.number == facts.e_number)
    )
    ends = ibis.window(group_by=[stream.subject, stream.number])
    tag = ibis.ifelse(stream.number > 0, " #" + stream.number.cast("string"), " (open)")
    return joined.select(
        stream.subject, stream.touch_id, stream.channel, stream.touch_channel, stream.touch_at,
        stream.t, *(facts[f"{moment[:-3]}_t"] for moment in FLAGS.values()),
        at=facts.e_at.coalesce(stream.touch_at.max().over(ends)),
        at_t=facts.e_t.coalesce(stream.t.max().over(ends)),
        conversions=facts.e_conversions.fill_null(0.0),
        value=facts.e_value.fill_null(0.0),
        nulls=facts.e_nulls.fill_null(1.0),
        journey_id=stream.subject + tag,
    )  # fmt: skip


def _shape(rows: ibis.Table) -> Journeys:
    """The touches and journeys tables from one row per touch carrying its journey's facts."""
    journey = ibis.window(group_by=rows.journey_id)
    flags = {}
    for flag, moment in FLAGS.items():
        at = rows[f"{moment[:-3]}_t"]
        nearest = ibis.ifelse(rows.t <= at, rows.step, ibis.null("int64"))
        # the event came before every touch of the journey: the first touch is the nearest
        flags[flag] = at.notnull() & (rows.step == nearest.max().over(journey).coalesce(1))
    touches = rows.select(
        "journey_id", "step", "channel", "touch_at", **flags, touch_channel=rows.touch_channel,
        touch_id=rows.touch_id,
    )  # fmt: skip
    journeys = rows.group_by("journey_id").aggregate(
        n_steps=rows.count().cast("int64"),
        conversions=rows.conversions.max().cast("float64"),
        value=rows.value.max().cast("float64"),
        nulls=rows.nulls.max().cast("float64"),
        converted_at=ibis.ifelse(
            rows.conversions > 0, rows.at, ibis.null(rows.at.type().copy(nullable=True))
        ).max(),
        subject=rows.subject.max(),
        ended_at=rows.at.max(),
    )
    return Journeys(touches=touches, journeys=journeys)


def _view(table: ibis.Table, place: int) -> ibis.Table:
    """``table.view()`` (a second name for a table joined beside itself) under a name fixed by
    ``place``, one per place in this module where a view is made.

    ``view()`` numbers each view it makes from a counter, so building the journeys again made a
    different expression each time, whose SQL a connection that keeps compiled SQL
    (:func:`baton.analytics.memo.remember_sql`) could never find again: every attribution was
    compiled anew (about half its time on DuckDB). Views that Ibis numbers are never negative.
    """
    return ops.SelfReference(table.op(), identifier=-place).to_expr()
