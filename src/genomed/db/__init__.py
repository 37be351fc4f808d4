"""The node's relational database: engine, declarative base, transactions and migrations.

The catalog and the audit log live in one database so that a change and the audit entry that
records it commit in the same transaction. This package sits below both: it knows SQLAlchemy and
Alembic, not patients or hash chains.
"""

from genomed.db.base import Base, UTCDateTime, utcnow
from genomed.db.engine import make_engine, transaction
from genomed.db.migrate import current_revision, head_revision, upgrade_to_head

__all__ = [
    "Base",
    "UTCDateTime",
    "current_revision",
    "head_revision",
    "make_engine",
    "transaction",
    "upgrade_to_head",
    "utcnow",
]
