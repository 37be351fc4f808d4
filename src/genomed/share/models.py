"""Tables of the share package, in the node database beside the catalog.

* ``beacon_documents``: Beacon v2 documents loaded from another source (a synthetic cohort, a
  partner's export), kept as JSON with the ids a query filters on;
* ``access_requests``: a researcher's request for a dataset, the steward's decision, and the visa
  issued for it (revoking the request revokes the visa at once: visas name their request);
* ``privacy_budgets``: how much of its query budget each identity has spent in each period;
* ``match_cases``: the cases a node offers to Matchmaker Exchange matching, as MME patient
  documents; a case made from a catalog patient is matchable only while that patient's
  case-matching consent is in force.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from genomed.db.base import Base, UTCDateTime, utcnow


class BeaconDocument(Base):
    """One Beacon v2 document (individual, biosample, run, analysis, dataset, cohort, genomic variation)."""

    __tablename__ = "beacon_documents"
    __table_args__ = (
        UniqueConstraint("entry_type", "dataset_id", "document_id"),
        Index("ix_beacon_documents_entry_dataset", "entry_type", "dataset_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_type: Mapped[str] = mapped_column(String(32))
    dataset_id: Mapped[str] = mapped_column(String(128))
    document_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AccessRequest(Base):
    """A researcher's request for controlled access to a dataset, and what became of it."""

    __tablename__ = "access_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    dataset_id: Mapped[str] = mapped_column(String(128), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, approved, rejected, revoked
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    visa_id: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class PrivacyBudget(Base):
    """Queries charged to one requester identity in one budget period (e.g. a UTC day)."""

    __tablename__ = "privacy_budgets"

    identity: Mapped[str] = mapped_column(String(256), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    spent: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MatchCase(Base):
    """A case offered to Matchmaker Exchange matching, as an MME ``patient`` document."""

    __tablename__ = "match_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(200), unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(16))  # catalog: from our own patient; imported: an MME file
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


__all__ = ["AccessRequest", "BeaconDocument", "MatchCase", "PrivacyBudget"]
