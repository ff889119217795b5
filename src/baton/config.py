"""Settings, read from the environment (prefix ``BATON_``) by the entry point and passed down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///baton.db"


class Settings(BaseSettings):
    """Everything Baton reads from its environment.

    Parameters
    ----------
    database_url
        SQLAlchemy URL of the operational store (``BATON_DATABASE_URL``). SQLite at
        ``./baton.db`` by default; ``postgresql://user@host/db`` for PostgreSQL.
    contract_path
        Path of the alignment contract (``BATON_CONTRACT``), ``./baton.toml`` by default.
        When the file does not exist Baton uses its built-in default contract.
    model_dir
        Folder of the predictive score's model files (``BATON_MODEL_DIR``), ``./models`` by
        default; ``baton score train`` writes there and the other ``baton score`` commands
        read the newest model there unless told which.
    datasets_dir
        Folder holding the public datasets ``baton score train --data x-education|bank``
        reads (``BATON_DATASETS``), ``./data`` by default.
    smtp_host, smtp_port, smtp_from, smtp_user, smtp_password, smtp_starttls
        The SMTP server notifications are emailed through (``BATON_SMTP_HOST`` ...). Without a
        host, email notifications are marked skipped instead of sent.
    webhook_url
        Slack-compatible incoming webhook that notifications are POSTed to as ``{"text": ...}``
        (``BATON_WEBHOOK_URL``). Without it, webhook notifications are marked skipped.
    webhook_timeout_seconds
        How long one webhook POST may take before it counts as failed.
    outbox_max_attempts, outbox_backoff_seconds, outbox_backoff_max_seconds
        Delivery tries per notification before it is marked failed, the wait before the second
        try (doubling after each failure), and the longest wait.
    worker_batch, worker_poll_seconds, worker_lease_seconds
        Timers or notifications a worker claims at a time, how long it sleeps when there is
        nothing due, and after how long a claim by a worker that died is taken over.
    serve_worker
        Whether ``baton serve`` runs a worker in its own process (``BATON_SERVE_WORKER``):
        ``auto`` (the default) runs one on SQLite, where the server is the one process that
        writes, and none on PostgreSQL, where ``baton worker`` processes run beside it; ``on``
        and ``off`` say so whatever the database.
    serve_writer
        How ``baton serve`` (one process) writes events (``BATON_SERVE_WRITER``): ``process``
        (``auto``, the default) in a process of its own, so that parsing requests and writing
        events use two cores (see :mod:`baton.web.writer_process`); ``thread`` on the
        server's own threads. An in-memory SQLite database is always written by the server.
    api_max_body_bytes
        Largest request body ``/api/v1/...`` accepts, in bytes (``BATON_API_MAX_BODY_BYTES``).
        The Segment routes keep Segment's own limits (32 KB a call, 500 KB a batch).
    event_max_future_hours
        How far after its arrival an event's time may lie, once corrected for the sender's
        clock, before it is refused (``BATON_EVENT_MAX_FUTURE_HOURS``).
    """

    model_config = SettingsConfigDict(env_prefix="BATON_", extra="ignore")

    database_url: str = Field(default=DEFAULT_DATABASE_URL)
    contract_path: Path = Field(default=Path("baton.toml"), validation_alias="BATON_CONTRACT")
    model_dir: Path = Field(default=Path("models"), validation_alias="BATON_MODEL_DIR")
    datasets_dir: Path = Field(default=Path("data"), validation_alias="BATON_DATASETS")
    # -- handoff: notifications and the worker
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "baton@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    webhook_url: str | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_seconds: float = Field(default=30.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    worker_batch: int = Field(default=50, ge=1, le=10_000)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    worker_lease_seconds: float = Field(default=300.0, gt=0)
    serve_worker: Literal["auto", "on", "off"] = "auto"
    serve_writer: Literal["auto", "process", "thread"] = "auto"
    api_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    event_max_future_hours: float = Field(default=24.0, ge=0)
    # -- the dashboard
    web_https: bool = False
    web_session_hours: float = Field(default=12.0, gt=0, le=24 * 90)
    web_cache_seconds: float = Field(default=300.0, ge=0)
    web_analytics_copy: bool = True

    def runs_worker_in_serve(self, dialect: str) -> bool:
        """Whether ``baton serve`` on a database of ``dialect`` starts its own worker."""
        return self.serve_worker == "on" or (self.serve_worker == "auto" and dialect == "sqlite")
