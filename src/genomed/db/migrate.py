"""Alembic migrations, driven from code so that an installed node needs no alembic.ini."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at genomed's migrations and at ``engine``."""
    config = Config()
    config.set_main_option("script_location", "genomed.db:migrations")
    config.attributes["engine"] = engine
    return config


def upgrade_to_head(engine: Engine) -> str:
    """Bring the database schema to the newest revision; returns that revision."""
    config = alembic_config(engine)
    command.upgrade(config, "head")
    return head_revision()


def head_revision() -> str:
    """The newest migration revision shipped with this version of genomed."""
    script = ScriptDirectory.from_config(alembic_config_without_engine())
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("genomed ships no database migrations; the installation is broken")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def alembic_config_without_engine() -> Config:
    config = Config()
    config.set_main_option("script_location", "genomed.db:migrations")
    return config
