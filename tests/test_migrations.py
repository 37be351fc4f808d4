"""Migrations: an empty database upgrades to head, and head matches the ORM models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import genomed.models  # noqa: F401 - registers every table
from genomed.db import current_revision, head_revision, make_engine, upgrade_to_head
from genomed.db.base import Base


def test_empty_database_upgrades_to_head(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        assert upgrade_to_head(engine) == head_revision()
        assert current_revision(engine) == head_revision()
        tables = set(inspect(engine).get_table_names())
        assert {"patients", "consents", "consent_scopes", "prescriptions", "case_events", "samples", "files",
                "audit_entries", "audit_checkpoints", "users"} <= tables
        # Upgrading again is a no-op, not an error.
        assert upgrade_to_head(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """A model change without its migration is caught here, on both databases."""
    engine = make_engine(database_url)
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        engine.dispose()
