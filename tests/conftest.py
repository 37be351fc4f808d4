"""Shared fixtures: every database test runs on SQLite and, when it is up, on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (trust auth) that this machine and CI start; each test
gets a database of its own, created from a migrated template so that a test costs milliseconds,
and dropped afterwards. When the server is down the PostgreSQL half is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from genomed.context import NodeContext
from genomed.node import init_node

PG_ADMIN_URL = os.environ.get("GENOMED_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
_pg_state: dict[str, object] = {}


def postgres_available() -> bool:
    if "up" not in _pg_state:
        try:
            engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as connection:
                connection.execute(text("select 1"))
            engine.dispose()
            _pg_state["up"] = True
        except Exception as exc:  # any failure to connect means: skip the PostgreSQL half
            _pg_state["up"] = False
            _pg_state["why"] = f"PostgreSQL at {make_url(PG_ADMIN_URL).host} is not reachable: {type(exc).__name__}"
    return bool(_pg_state["up"])


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new empty PostgreSQL database for one test; dropped (with its connections) afterwards."""
    name = f"genomed_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite'}"
        return
    if not postgres_available():
        pytest.skip(str(_pg_state["why"]))
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def node(tmp_path: Path, database_url: str) -> Iterator[NodeContext]:
    """A freshly initialised node (admin user ``admin``) on each database."""
    ctx = init_node(tmp_path / "node", node_name="Test node", country="FR", database_url=database_url)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def sqlite_node(tmp_path: Path) -> Iterator[NodeContext]:
    """A node on embedded SQLite only, for tests whose subject is not the database."""
    ctx = init_node(tmp_path / "node", node_name="Test node", country="FR")
    try:
        yield ctx
    finally:
        ctx.close()
