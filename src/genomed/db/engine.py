"""Engines and transactions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from genomed.errors import ConfigurationError


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Turn on what SQLite leaves off: foreign keys, WAL for concurrent readers, a busy wait."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine for a node database URL (``sqlite:///…`` or ``postgresql+psycopg://…``).

    A plain ``postgresql://`` URL is read with psycopg 3, the driver genomed depends on.
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise ConfigurationError(f"cannot use database URL {_redact(url)!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _redact(url: str) -> str:
    """A URL with its password masked, fit for an error message or a log."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


@contextlib.contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit if the block finishes, roll everything back if it raises.

    Every multi-step change in genomed runs inside one of these, so a failure leaves nothing
    half-written.
    """
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise ConfigurationError(f"database unavailable or locked: {exc.orig}") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
