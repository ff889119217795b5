"""Queue notifications in the outbox, in the caller's transaction.

A notification is written with what it announces (an assignment, a reminder, an escalation),
so it exists if and only if that commits; the worker sends it afterwards and retries it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from baton.store import tables as t
from baton.store.events import insert_many

OUTBOX = t.Base.metadata.tables[t.OutboxMessage.__tablename__]


def lead_label(lead: t.Lead) -> str:
    """``Ana Lima <ana@acme.com>, Acme (lead 42)``."""
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    who = f"{name} <{lead.email}>" if name and lead.email else (name or lead.email or "")
    parts = [p for p in (who, lead.company) if p]
    return f"{', '.join(parts)} (lead {lead.id})" if parts else f"lead {lead.id}"


def local(at: dt.datetime, zone: str) -> str:
    """``Mon 2026-11-23 13:00 EST``: a due time as the team reads it."""
    return at.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %Z")


@dataclass(frozen=True)
class Notification:
    """One announcement: a webhook message and an email per address, on ``channels``."""

    topic: str
    subject: str
    text: str
    lead_id: int | None
    emails: tuple[str | None, ...] = ()
    channels: tuple[str, ...] = ("email", "webhook")

    def rows(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Its outbox rows."""
        channels = set(self.channels)
        recipients: list[tuple[str, str | None]] = []
        if "webhook" in channels:
            recipients.append(("webhook", None))
        if "email" in channels:
            seen: set[str] = set()
            for address in self.emails:
                if address and address.lower() not in seen:
                    seen.add(address.lower())
                    recipients.append(("email", address))
        return [
            {
                "kind": kind,
                "topic": self.topic,
                "recipient": recipient,
                "lead_id": self.lead_id,
                "payload": {"subject": self.subject, "text": self.text},
                "status": "pending",
                "attempts": 0,
                "next_try_at": now,
                "created_at": now,
            }
            for kind, recipient in recipients
        ]


def enqueue(
    session: Session,
    *,
    topic: str,
    subject: str,
    text: str,
    now: dt.datetime,
    lead_id: int | None,
    emails: Iterable[str | None] = (),
    channels: Iterable[str] = ("email", "webhook"),
) -> int:
    """Queue one webhook message and one email per address in ``emails`` (those channels
    that ``channels`` lists); return how many rows were queued."""
    note = Notification(topic, subject, text, lead_id, tuple(emails), tuple(channels))
    [count] = enqueue_many(session, [note], now=now)
    return count


def enqueue_many(
    session: Session, notifications: Sequence[Notification], *, now: dt.datetime
) -> list[int]:
    """Queue several notifications in one statement; how many rows each queued."""
    rows = [note.rows(now) for note in notifications]
    flat = [row for group in rows for row in group]
    if flat:
        insert_many(session, OUTBOX, flat)
    return [len(group) for group in rows]
