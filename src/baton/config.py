"""Settings, read from the environment (prefix ``BATON_``) by the entry point and passed down."""

from __future__ import annotations

from pathlib import Path

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
    api_max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    event_max_future_hours: float = Field(default=24.0, ge=0)
