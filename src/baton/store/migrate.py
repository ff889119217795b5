"""Run the Alembic migrations that ship inside the package."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from baton.store.engine import translate_errors


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "baton.store:migrations")
    return config


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema at ``engine`` up to ``revision``; return the revision it is at after."""
    config = alembic_config()
    with translate_errors("upgrading the database schema"), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
