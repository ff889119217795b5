"""Events as Baton handles them, whatever door they came in by (Segment's API or a lead form).

A :class:`Message` is one event after parsing: its identifiers, what it says about the person
(``traits``) or the action (``properties``), its ``context`` and its time corrected for the
sender's clock. The helpers below read the fields derivation needs (email, name, company,
campaign) from the places Segment's spec puts them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

#: Message types stored as events. ``lead`` is a form posted to ``/api/v1/leads``.
TYPES = ("identify", "track", "page", "screen", "group", "alias", "lead")

#: Identity kinds, strongest first: when two people claim one identifier, the stronger wins.
EMAIL, USER_ID, ANONYMOUS_ID = "email", "user_id", "anonymous_id"


@dataclass(frozen=True)
class Campaign:
    """The UTM fields of a touch, from ``context.campaign``, the properties or the page URL."""

    source: str | None = None
    medium: str | None = None
    name: str | None = None
    term: str | None = None
    content: str | None = None

    @property
    def empty(self) -> bool:
        return not any((self.source, self.medium, self.name, self.term, self.content))


@dataclass(frozen=True)
class Message:
    """One event, parsed and timed.

    ``timestamp`` is when it happened, corrected for the sender's clock skew the way Segment
    does it (``received_at - (sent_at - original_timestamp)``); ``payload`` is the message as
    received, with the batch's context merged in (and without the write key).
    """

    type: str
    message_id: str
    received_at: dt.datetime
    timestamp: dt.datetime
    user_id: str | None = None
    anonymous_id: str | None = None
    previous_id: str | None = None
    group_id: str | None = None
    event: str | None = None
    name: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    original_timestamp: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    #: The contract stage a lead this message creates enters (a form may name it).
    entry_stage: str | None = None


def corrected_time(
    timestamp: dt.datetime | None, sent_at: dt.datetime | None, received_at: dt.datetime
) -> dt.datetime:
    """When an event happened, by the server's clock.

    Segment's rule: with both ``timestamp`` and ``sentAt`` the sender's clock skew is the gap
    between its ``sentAt`` and our arrival time, so the event time is
    ``received_at - (sent_at - timestamp)``. Without ``sentAt`` the timestamp is taken as
    sent; without a timestamp, the event happened when it arrived.
    """
    if timestamp is None:
        return received_at
    if sent_at is None:
        return timestamp
    return received_at - (sent_at - timestamp)


def _text(value: Any, limit: int) -> str | None:
    if value is None or isinstance(value, dict | list | bool):
        return None
    text = str(value).strip()
    return text[:limit] if text else None


def _person(message: Message) -> dict[str, Any]:
    """Person fields from where Segment puts them: ``traits`` on identify, ``context.traits``
    on other calls, and a form's fields in ``properties``."""
    found: dict[str, Any] = {}
    context_traits = message.context.get("traits")
    for source in (
        context_traits if isinstance(context_traits, dict) else {},
        message.properties if message.type in ("track", "lead") else {},
        message.traits if message.type in ("identify", "lead") else {},
    ):
        found.update({k: v for k, v in source.items() if v not in (None, "")})
    return found


def email_of(message: Message) -> str | None:
    """The person's email address, lower-cased, when the message carries one that looks valid."""
    value = _text(_person(message).get("email"), 320)
    return normalise_email(value) if value else None


def normalise_email(value: str) -> str | None:
    """``value`` stripped and lower-cased when it looks like an address, else ``None``.

    The check is deliberately loose (one ``@``, a dot in the domain, no spaces): deliverability
    is the mail server's business, not ours.
    """
    email = value.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or " " in email or "@" in local:
        return None
    return email


def person_fields(message: Message) -> dict[str, str]:
    """First and last name, company, title, phone, country and website, from any spelling
    Segment's spec and common forms use; only the fields present."""
    traits = _person(message)
    out: dict[str, str] = {}

    def pick(key: str, *names: str, limit: int = 200) -> None:
        for name in names:
            value = _text(traits.get(name), limit)
            if value:
                out[key] = value
                return

    pick("first_name", "firstName", "first_name", "firstname", limit=100)
    pick("last_name", "lastName", "last_name", "lastname", limit=100)
    if "first_name" not in out and "last_name" not in out:
        full = _text(traits.get("name"), 200)
        if full:
            first, _, last = full.partition(" ")
            out["first_name"] = first[:100]
            if last.strip():
                out["last_name"] = last.strip()[:100]
    company = traits.get("company")
    if isinstance(company, dict):  # Segment's reserved trait: {"name": ..., "employee_count": ...}
        company = company.get("name")
    name = _text(company, 300) or _text(
        traits.get("company_name") or traits.get("companyName"), 300
    )
    if name:
        out["company"] = name
    pick("title", "title", "jobTitle", "job_title")
    pick("phone", "phone", "phoneNumber", "phone_number", limit=50)
    pick("website", "website", "companyWebsite", "company_website", "url", limit=300)
    address = traits.get("address")
    country = address.get("country") if isinstance(address, dict) else None
    value = _text(country or traits.get("country"), 100)
    if value:
        out["country"] = value
    return out


def page_of(message: Message) -> tuple[str | None, str | None]:
    """The page's URL and referrer: from the properties of a page call, else ``context.page``."""
    page = message.context.get("page")
    page = page if isinstance(page, dict) else {}
    props = message.properties
    url = _text(props.get("url"), 2000) or _text(page.get("url"), 2000)
    referrer = _text(props.get("referrer"), 2000) or _text(page.get("referrer"), 2000)
    if url is None:
        path = _text(props.get("path"), 2000) or _text(page.get("path"), 2000)
        search = _text(props.get("search"), 2000) or _text(page.get("search"), 2000) or ""
        url = path + search if path else None
    return url, referrer


def campaign_of(message: Message) -> Campaign:
    """UTM fields, first found wins per field: ``context.campaign`` (Segment's spec; ``name``
    is utm_campaign), then ``utm_*`` properties, then the query string of the page URL."""
    url, _ = page_of(message)
    return _campaign(message, parse_qs(urlsplit(url).query) if url and "utm_" in url else {})


_UTM = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "name",
    "utm_term": "term",
    "utm_content": "content",
}


def _campaign(message: Message, query: dict[str, list[str]]) -> Campaign:
    found: dict[str, str] = {}
    context = message.context.get("campaign")
    if isinstance(context, dict):
        for key in ("source", "medium", "name", "term", "content"):
            value = _text(context.get(key), 200)
            if value:
                found[key] = value
    properties = message.properties
    if properties:
        for prop, key in _UTM.items():
            if key not in found and prop in properties:
                value = _text(properties[prop], 200)
                if value:
                    found[key] = value
    for prop, key in _UTM.items():
        values = query.get(prop)
        if values and key not in found and values[0].strip():
            found[key] = values[0].strip()[:200]
    return Campaign(**found)


def touch_facts(message: Message) -> tuple[Campaign, str | None, str | None, set[str]]:
    """What a touchpoint needs, read once: UTM tags (:func:`campaign_of`), the page URL and
    referrer (:func:`page_of`) and ad-click ids (:func:`click_ids`)."""
    url, referrer = page_of(message)
    query = parse_qs(urlsplit(url).query) if url and ("utm_" in url or "clid" in url) else {}
    return _campaign(message, query), url, referrer, {k for k in query if k.endswith("clid")}


def click_ids(message: Message) -> set[str]:
    """Ad-click ids in the page URL (``gclid``, ``fbclid``, ...): a paid click without UTM tags."""
    url, _ = page_of(message)
    if not url or "clid" not in url:
        return set()
    return {key for key in parse_qs(urlsplit(url).query) if key.endswith("clid")}


#: Track event names that mean a form was filled in (compared lower-case, ``_`` and ``-`` read
#: as spaces). A track call whose properties carry an ``email`` counts as a form too.
FORM_EVENTS = frozenset(
    {
        "form submitted",
        "form submit",
        "form filled",
        "lead form submitted",
        "contact form submitted",
        "signed up",
        "sign up",
        "signup",
        "demo requested",
        "contact requested",
        "quote requested",
        "trial started",
        "webinar registered",
        "event registered",
        "newsletter subscribed",
        "subscribed",
        "content downloaded",
        "whitepaper downloaded",
        "ebook downloaded",
    }
)


def is_form(message: Message) -> bool:
    """A lead form, or a track call that is one (:data:`FORM_EVENTS`, or an email in it)."""
    if message.type == "lead":
        return True
    if message.type != "track":
        return False
    name = " ".join((message.event or "").lower().replace("_", " ").replace("-", " ").split())
    return name in FORM_EVENTS or bool(message.properties.get("email"))


def touch_type(message: Message) -> str | None:
    """The kind of touchpoint a message makes: ``visit`` (page, screen), ``form``, ``event``
    (other track calls), or none (identify, group, alias). :func:`touch_kind` refines it."""
    if message.type in ("page", "screen"):
        return "visit"
    if is_form(message):
        return "form"
    return "event" if message.type == "track" else None


#: A visit's touch type by the channel that brought it (the names the demo and the default
#: contract's scoring rules use); other channels give ``visit``.
VISIT_BY_CHANNEL = {
    "paid_search": "ad_click", "paid_social": "ad_click", "display": "ad_click",
    "email": "email_click", "referral": "referral_visit", "partner": "partner_referral",
}  # fmt: skip
#: A form's touch type by words in its name (the track event, or a lead form's ``form``).
FORM_BY_WORD = (
    ("demo", "demo_request"), ("trial", "demo_request"), ("quote", "demo_request"),
    ("webinar", "webinar"), ("event", "event_scan"), ("download", "content_download"),
    ("whitepaper", "content_download"), ("ebook", "content_download"),
)  # fmt: skip


def touch_kind(message: Message, kind: str, channel: str) -> str:
    """The touchpoint's ``touch_type``, in the vocabulary scoring rules count: a visit through
    a paid channel is an ``ad_click``, through email an ``email_click``, through a referral or a
    partner a ``referral_visit`` or ``partner_referral``; a form named for a demo, trial or quote
    is a ``demo_request``, for a webinar a ``webinar``, for an event an ``event_scan``, for a
    download a ``content_download``. Otherwise ``visit``, ``form`` or ``event`` as made."""
    if kind == "visit":
        return VISIT_BY_CHANNEL.get(channel, "visit")
    if kind == "form":
        name = str(message.properties.get("form") or "") if message.type == "lead" else ""
        words = re.split(r"[^a-z]+", f"{name} {message.event or ''}".lower())
        for start, found in FORM_BY_WORD:  # "download" finds "downloaded", not "industrial"
            if any(word.startswith(start) for word in words):
                return found
    return kind
