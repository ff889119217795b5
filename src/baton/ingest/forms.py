"""A lead form or webhook (``POST /api/v1/leads``) and its parsing into a ``lead`` message.

The form is stored as an event like any Segment call, so it is idempotent the same way
(``message_id``, or the ``Idempotency-Key`` header) and stitched to the visitor's earlier
anonymous activity when it carries their ``anonymous_id``. Fields the model does not name
(a form tool's own) are kept in the lead's properties.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from baton.errors import InvalidInput
from baton.ingest.messages import Message, normalise_email
from baton.ingest.segment import EARLIEST

Short = Annotated[str | None, Field(None, max_length=200)]


class LeadForm(BaseModel):
    """A person who filled in a form. Only ``email`` is required."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, coerce_numbers_to_str=True)

    email: str = Field(max_length=320, description="The person's email address (required).")
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    company: str | None = Field(None, max_length=300)
    title: Short = None
    phone: str | None = Field(None, max_length=50)
    country: str | None = Field(None, max_length=100)
    website: str | None = Field(
        None, max_length=300, description="The company's website; matches accounts."
    )
    form: Short = Field(None, description="Which form was filled in, e.g. demo-request.")
    stage: str | None = Field(
        None,
        max_length=64,
        description="Contract stage key of a lead this form creates (default: first open stage).",
    )
    message_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Idempotency key: a form sent again with the same id is stored once.",
    )
    anonymous_id: Short = Field(
        None, description="The visitor's Segment anonymousId, to stitch their visits."
    )
    user_id: Short = None
    page_url: str | None = Field(None, max_length=2000)
    referrer: str | None = Field(None, max_length=2000)
    utm_source: Short = None
    utm_medium: Short = None
    utm_campaign: Short = None
    utm_term: Short = None
    utm_content: Short = None
    occurred_at: dt.datetime | None = Field(
        None, description="When the form was sent (default: on arrival)."
    )
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        email = normalise_email(value)
        if email is None:
            raise ValueError(f'"{value}" is not an email address; send one like name@company.com')
        return email


PERSON = ("email", "first_name", "last_name", "company", "title", "phone", "country", "website")
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def form_message(
    form: LeadForm,
    *,
    received_at: dt.datetime,
    max_future: dt.timedelta,
    message_id: str | None = None,
) -> Message:
    """The ``lead`` message for a form; ``message_id`` (the Idempotency-Key) beats the body's."""
    when = received_at
    if form.occurred_at is not None:
        when = (
            form.occurred_at if form.occurred_at.tzinfo else form.occurred_at.replace(tzinfo=dt.UTC)
        )
        when = when.astimezone(dt.UTC)
        if when > received_at + max_future or when < EARLIEST:
            raise InvalidInput(
                f"occurred_at: {when.isoformat()} is not a plausible time for a form sent at "
                f"{received_at.isoformat()}; send when it was filled in, or leave it out",
                field="occurred_at",
            )
    traits = {k: getattr(form, k) for k in PERSON if getattr(form, k) is not None}
    extra = dict(form.model_extra or {})
    properties = {**extra, **form.properties}
    if form.form:
        properties["form"] = form.form
    for key in UTM:
        if getattr(form, key):
            properties[key] = getattr(form, key)
    page: dict[str, Any] = {}
    if form.page_url:
        page["url"] = form.page_url
    if form.referrer:
        page["referrer"] = form.referrer
    context: dict[str, Any] = {"page": page} if page else {}
    payload = form.model_dump(mode="json", exclude_none=True)
    return Message(
        type="lead",
        message_id=message_id or form.message_id or uuid.uuid4().hex,
        received_at=received_at,
        timestamp=when,
        user_id=form.user_id,
        anonymous_id=form.anonymous_id,
        event=form.form or "Lead Form Submitted",
        traits=traits,
        properties=properties,
        context=context,
        original_timestamp=when if form.occurred_at is not None else None,
        payload=payload,
        entry_stage=form.stage,
    )
