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
    model_dir
        Folder of the predictive score's model files (``BATON_MODEL_DIR``), ``./models`` by
        default; ``baton score train`` writes there and the other ``baton score`` commands
        read the newest model there unless told which.
    datasets_dir
        Folder holding the public datasets ``baton score train --data x-education|bank``
        reads (``BATON_DATASETS``), ``./data`` by default.
    """

    model_config = SettingsConfigDict(env_prefix="BATON_", extra="ignore")

    database_url: str = Field(default=DEFAULT_DATABASE_URL)
    contract_path: Path = Field(default=Path("baton.toml"), validation_alias="BATON_CONTRACT")
    model_dir: Path = Field(default=Path("models"), validation_alias="BATON_MODEL_DIR")
    datasets_dir: Path = Field(default=Path("data"), validation_alias="BATON_DATASETS")
