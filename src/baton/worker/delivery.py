"""Send one outbox message: a Slack-compatible webhook POST or an email over SMTP.

Each sender returns nothing on success and raises :class:`DeliveryFailed` (a retryable
failure, with what went wrong) or :class:`NotConfigured` (the channel has no settings: the
message is marked skipped, not retried). Neither touches the database.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import httpx

from baton.config import Settings
from baton.errors import BatonError


class DeliveryFailed(BatonError):
    """A notification could not be delivered this time; the worker tries again later."""


class NotConfigured(BatonError):
    """A notification's channel has no settings (no webhook URL, no SMTP host)."""


def deliver(settings: Settings, kind: str, recipient: str | None, payload: dict[str, Any]) -> None:
    """Send one message of ``kind`` (``webhook`` or ``email``)."""
    if kind == "webhook":
        post_webhook(settings, payload)
    elif kind == "email":
        send_email(settings, recipient, payload)
    else:
        raise NotConfigured(f'"{kind}" is not a notification channel; use webhook or email')


def post_webhook(settings: Settings, payload: dict[str, Any]) -> None:
    """POST ``{"text": ...}`` to ``BATON_WEBHOOK_URL``, as Slack's incoming webhooks take it."""
    if not settings.webhook_url:
        raise NotConfigured("BATON_WEBHOOK_URL is not set; set it to send webhook notifications")
    try:
        answer = httpx.post(
            settings.webhook_url,
            json={"text": payload.get("text", "")},
            timeout=settings.webhook_timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"webhook: {type(exc).__name__}: {exc}") from exc
    if not answer.is_success:
        body = answer.text.strip().splitlines()[0][:200] if answer.text.strip() else ""
        raise DeliveryFailed(f"webhook answered HTTP {answer.status_code} {body}".rstrip())


def send_email(settings: Settings, recipient: str | None, payload: dict[str, Any]) -> None:
    """Send the message as a plain-text email from ``BATON_SMTP_FROM`` to ``recipient``."""
    if not settings.smtp_host:
        raise NotConfigured("BATON_SMTP_HOST is not set; set it to send email notifications")
    if not recipient:
        raise NotConfigured("the message has no recipient address")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = recipient
    message["Subject"] = str(payload.get("subject", "Baton"))
    message.set_content(str(payload.get("text", "")))
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"email to {recipient}: {type(exc).__name__}: {exc}") from exc
