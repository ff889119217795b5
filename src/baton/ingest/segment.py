"""Segment's HTTP Tracking API on the wire: the calls, the batch, and their parsing into
:class:`~baton.ingest.messages.Message`.

Follows Segment's spec: every call carries ``userId`` or ``anonymousId``; ``messageId`` (at most
100 characters) makes retries idempotent; ``context`` and ``integrations`` of a batch are merged
into each of its calls; ``timestamp`` is corrected by ``sentAt`` for the sender's clock skew.
A batch is at most 500 KB and each call in it at most 32 KB (:data:`MAX_BATCH_BYTES`,
:data:`MAX_MESSAGE_BYTES`); the web layer enforces the body limits, :func:`to_messages` the
per-call one. Unknown fields are kept in the stored payload.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from baton.errors import InvalidInput, TooLarge
from baton.ingest.messages import Message, corrected_time

MAX_BATCH_BYTES = 500 * 1024
MAX_MESSAGE_BYTES = 32 * 1024
#: Event times before this are refused: no marketing touch predates the web's tracking.
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)

Id = Annotated[str, Field(max_length=200)]
RequiredId = Annotated[str, Field(min_length=1, max_length=200)]


class _Call(BaseModel):
    """Fields every Segment call shares."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        populate_by_name=True,
        coerce_numbers_to_str=True,
        str_strip_whitespace=True,
    )

    message_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Unique id of the call; a call sent again with the same id is stored once.",
    )
    user_id: Id | None = Field(None, description="Your id for the person, once known.")
    anonymous_id: Id | None = Field(
        None, description="The device's or browser's id before the person is known."
    )
    context: dict[str, Any] = Field(
        default_factory=dict, description="ip, page, campaign (UTM), traits, library, ..."
    )
    integrations: dict[str, Any] = Field(default_factory=dict)
    timestamp: dt.datetime | None = Field(
        None, description="When it happened, by the sender's clock (ISO 8601)."
    )
    sent_at: dt.datetime | None = Field(
        None, description="When the sender sent it, by its clock; corrects skew."
    )
    write_key: str | None = Field(
        None, description="The write key, when not sent as the basic-auth user."
    )

    @model_validator(mode="after")
    def _someone(self) -> _Call:
        self.user_id = self.user_id or None  # Segment reads an empty id as no id
        self.anonymous_id = self.anonymous_id or None
        if not self.user_id and not self.anonymous_id:
            raise ValueError("a call needs a userId or an anonymousId; send at least one")
        return self


class Identify(_Call):
    """Who the person is: ``traits`` such as email, name, company, title."""

    type: Literal["identify"] = "identify"
    traits: dict[str, Any] = Field(default_factory=dict)


class Track(_Call):
    """Something the person did: ``event`` names it, ``properties`` describe it."""

    type: Literal["track"] = "track"
    event: str = Field(min_length=1, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


class Page(_Call):
    """A page view: ``name`` and ``properties`` (url, path, referrer, title, search)."""

    type: Literal["page"] = "page"
    name: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


class Screen(_Call):
    """A screen of a mobile app, stored like a page view."""

    type: Literal["screen"] = "screen"
    name: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)


class Group(_Call):
    """The person belongs to a company: ``groupId`` and its ``traits`` (name, website, ...)."""

    type: Literal["group"] = "group"
    group_id: RequiredId
    traits: dict[str, Any] = Field(default_factory=dict)


class Alias(_Call):
    """``previousId`` and ``userId`` are the same person."""

    type: Literal["alias"] = "alias"
    previous_id: RequiredId


Call = Annotated[Identify | Track | Page | Screen | Group | Alias, Field(discriminator="type")]


class Batch(BaseModel):
    """Several calls in one request; each needs its ``type``."""

    model_config = ConfigDict(
        extra="allow", alias_generator=to_camel, populate_by_name=True, str_strip_whitespace=True
    )

    batch: list[Call]
    context: dict[str, Any] = Field(
        default_factory=dict, description="Merged into each call's context."
    )
    integrations: dict[str, Any] = Field(default_factory=dict)
    sent_at: dt.datetime | None = None
    write_key: str | None = None


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _size(raw: dict[str, Any]) -> int:
    """The call's size as compact UTF-8 JSON, as Segment counts it."""
    try:
        return len(orjson.dumps(raw))
    except TypeError:  # a value orjson does not know (a huge integer): the standard library's
        return len(json.dumps(raw, separators=(",", ":"), ensure_ascii=False).encode())


def to_messages(
    calls: Sequence[_Call],
    *,
    raws: Sequence[Any] | None = None,
    received_at: dt.datetime,
    max_future: dt.timedelta,
    context: dict[str, Any] | None = None,
    integrations: dict[str, Any] | None = None,
    sent_at: dt.datetime | None = None,
    check_sizes: bool = False,
    where: str = "batch",
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> list[Message]:
    """Parse validated calls into messages, timed by Segment's skew rule.

    Parameters
    ----------
    calls
        The calls of a batch, or the one call of a single request.
    raws
        The calls as received (the JSON objects ``calls`` were validated from), stored as the
        events' payloads; without them the payload is rebuilt from ``calls``.
    received_at
        When the request arrived, by the server's clock.
    max_future
        How far after ``received_at`` a corrected event time may be.
    context, integrations, sent_at
        The batch's own fields: merged into each call (a call's own values win).
    check_sizes
        Check each call against Segment's 32 KB limit (needed only when the body is larger).
    where
        How error messages name the calls: ``batch`` gives ``batch[3].timestamp``; an empty
        string names the fields alone.
    new_id
        Makes a ``messageId`` for calls that have none (Segment does the same).

    Raises
    ------
    InvalidInput
        A call dated more than ``max_future`` after its arrival or before 1990, naming its
        field; :class:`~baton.errors.TooLarge` for a call over 32 KB.
    """
    batch_context = context or {}
    batch_sent = _utc(sent_at)
    out: list[Message] = []
    for index, call in enumerate(calls):
        at = f"{where}[{index}]." if where else ""
        given = raws[index] if raws is not None else None
        if isinstance(given, dict):
            raw = (
                {k: v for k, v in given.items() if k != "writeKey"}
                if "writeKey" in given
                else given
            )
        else:
            raw = call.model_dump(
                mode="json", by_alias=True, exclude_none=True, exclude={"write_key"}
            )
        fields = call.__dict__  # the validated fields, without pydantic's slower attribute lookup
        if check_sizes and _size(raw) > MAX_MESSAGE_BYTES:
            raise TooLarge(
                f"{where}[{index}] is over Segment's limit of 32 KB for one call; "
                "send smaller traits or properties",
                limit=MAX_MESSAGE_BYTES,
                field=f"{where}[{index}]",
            )
        merged = {**batch_context, **call.context} if batch_context else call.context
        payload = {**raw, "context": merged} if batch_context else raw
        if integrations and "integrations" not in raw:
            payload = {**payload, "integrations": integrations}
        original = _utc(call.timestamp)
        sent = _utc(call.sent_at) or batch_sent
        try:
            when = corrected_time(original, sent, received_at)
        except OverflowError:
            when = dt.datetime.max.replace(tzinfo=dt.UTC)
        if when > received_at + max_future:
            raise InvalidInput(
                f"{at}timestamp: {original.isoformat() if original else ''} is "
                f"{_ahead(when - received_at)} after the event arrived, even corrected by sentAt; "
                "send the time it happened (ISO 8601 with a zone), or leave it out for now",
                field=f"{at}timestamp",
            )
        if when < EARLIEST:
            raise InvalidInput(
                f"{at}timestamp: {when.isoformat()} is before 1990; send the time it happened "
                "(ISO 8601 with a zone)",
                field=f"{at}timestamp",
            )
        out.append(
            Message(
                type=fields["type"],
                message_id=call.message_id or new_id(),
                received_at=received_at,
                timestamp=when,
                user_id=call.user_id or None,
                anonymous_id=call.anonymous_id or None,
                previous_id=fields.get("previous_id"),
                group_id=fields.get("group_id"),
                event=fields.get("event") or fields.get("name"),
                name=fields.get("name"),
                traits=fields.get("traits") or {},
                properties=fields.get("properties") or {},
                context=merged,
                original_timestamp=original,
                sent_at=sent,
                payload=payload,
            )
        )
    return out


def _ahead(delta: dt.timedelta) -> str:
    days = delta.days
    if days >= 365:
        return f"{days // 365:,} years"
    if days >= 1:
        return f"{days} days"
    return f"{delta.total_seconds() / 3600:.1f} hours"
