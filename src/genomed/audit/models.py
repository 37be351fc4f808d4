"""Tables of the audit trail: the hash-chained entries, the chain head and signed checkpoints.

``audit_entries.seq`` is contiguous from 1, so a deleted entry leaves a gap; each ``entry_hash``
covers the entry's fields and the previous entry's hash, so an edited, reordered or inserted entry
breaks the chain; ``audit_head`` records the last seq and hash written, and signed checkpoints
(also anchored in a file outside the database) reveal a truncated tail.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from genomed.db.base import Base, UTCDateTime


class AuditEntry(Base):
    """One access or decision: who did what to which object, for which purpose, with what outcome."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(128), index=True)
    purpose: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """A single row holding the last seq and hash written; appends lock it to serialise writers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A signature by the node key over (node, seq, entry hash, time): a point the chain must pass."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
