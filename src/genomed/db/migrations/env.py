"""Alembic environment: runs migrations on the engine handed over by genomed.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import genomed.models  # noqa: F401 - registers every table on Base.metadata
from genomed.db.base import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only reached through the alembic CLI
    raise RuntimeError("genomed migrations run through genomed.db.migrate.upgrade_to_head")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
