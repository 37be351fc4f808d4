"""Tables of the catalog: who the patients are (by pseudonym only), what they consented to, what was
prescribed for them, and every sample, file, analysis and report of their case.

No table has a column for a clear personal identifier: a patient is a keyed pseudonym, a sex and a
year of birth (needed for eligibility and for the QC sex check), nothing more.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from genomed.db.base import Base, UTCDateTime, utcnow
from genomed.errors import StateError


class User(Base):
    """A member of staff who acts on the node; ``roles`` is a comma-separated list of role names."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    roles: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class Patient(Base):
    """A person known to the node only by a keyed pseudonym."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    sex: Mapped[str] = mapped_column(String(8))  # male, female, unknown (karyotypic sex as declared)
    birth_year: Mapped[int] = mapped_column(Integer)
    included_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    included_by: Mapped[int] = mapped_column(ForeignKey("users.id"))

    consents: Mapped[list[Consent]] = relationship(back_populates="patient", order_by="Consent.id")


class Family(Base):
    """A pedigree: the family code of a PED file and its members."""

    __tablename__ = "families"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    members: Mapped[list[FamilyMember]] = relationship(
        back_populates="family", order_by="FamilyMember.id", foreign_keys="FamilyMember.family_id"
    )


class FamilyMember(Base):
    """One person's place in a pedigree; parents are other members of the same family."""

    __tablename__ = "family_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), unique=True)
    father_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), nullable=True)
    mother_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), nullable=True)
    affected: Mapped[str] = mapped_column(String(12))  # affected, unaffected, unknown

    family: Mapped[Family] = relationship(back_populates="members", foreign_keys=[family_id])
    patient: Mapped[Patient] = relationship(foreign_keys=[patient_id])
    father: Mapped[Patient | None] = relationship(foreign_keys=[father_id])
    mother: Mapped[Patient | None] = relationship(foreign_keys=[mother_id])


class Consent(Base):
    """A signed consent form: its version, when it was given, and the scopes it grants."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    form_version: Mapped[str] = mapped_column(String(64))
    given_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))

    patient: Mapped[Patient] = relationship(back_populates="consents")
    scopes: Mapped[list[ConsentScope]] = relationship(back_populates="consent", order_by="ConsentScope.id")


class ConsentScope(Base):
    """One scope of a consent; withdrawing it stamps ``withdrawn_at`` and never deletes the row."""

    __tablename__ = "consent_scopes"
    __table_args__ = (UniqueConstraint("consent_id", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id"), index=True)
    scope: Mapped[str] = mapped_column(String(32))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)

    consent: Mapped[Consent] = relationship(back_populates="scopes")


class Indication(Base):
    """A clinical indication from the node's test directory, with its eligibility criteria."""

    __tablename__ = "indications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))  # rare_disease, cancer
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON)
    catalogue_version: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Prescription(Base):
    """A genome test prescribed for a patient against an indication: the case genomed carries."""

    __tablename__ = "prescriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    indication_id: Mapped[int] = mapped_column(ForeignKey("indications.id"))
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[str] = mapped_column(String(16))
    due_date: Mapped[dt.date] = mapped_column(Date)
    hpo_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    excluded_hpo_terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The gene panel the case is analysed with, pinned to one version so a reanalysis is comparable.
    panel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    panel_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    prior_tests: Mapped[list[str]] = mapped_column(JSON, default=list)
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSON)
    justification: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    patient: Mapped[Patient] = relationship()
    indication: Mapped[Indication] = relationship()
    events: Mapped[list[CaseEvent]] = relationship(back_populates="prescription", order_by="CaseEvent.id")
    samples: Mapped[list[Sample]] = relationship(back_populates="prescription", order_by="Sample.id")


class CaseEvent(Base):
    """A timestamped state transition of a case; monitoring computes turnaround from these."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    prescription: Mapped[Prescription] = relationship(back_populates="events")


class Sample(Base):
    """A biological sample taken for a case: germline, tumour or matched normal."""

    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # germline, tumour, normal
    tissue: Mapped[str] = mapped_column(String(64), default="blood")
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    tumour_cellularity: Mapped[float | None] = mapped_column(nullable=True)

    patient: Mapped[Patient] = relationship()
    prescription: Mapped[Prescription] = relationship(back_populates="samples")
    files: Mapped[list[StoredFile]] = relationship(back_populates="sample", order_by="StoredFile.id")


class StoredFile(Base):
    """A file held encrypted in the vault; the plaintext digest is checked on every read."""

    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("sample_id", "plaintext_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vault_id: Mapped[str] = mapped_column(String(64), unique=True)
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("samples.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # vcf, gvcf, bam, cram, fastq, report, other
    original_name: Mapped[str] = mapped_column(String(255))
    plaintext_sha256: Mapped[str] = mapped_column(String(64), index=True)
    plaintext_size: Mapped[int] = mapped_column(BigInteger)
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    stored_by: Mapped[int] = mapped_column(ForeignKey("users.id"))

    sample: Mapped[Sample | None] = relationship(back_populates="files")


class Analysis(Base):
    """A bioinformatic or interpretive run on a case, with the provenance needed to repeat it."""

    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # ingest, qc, interpretation, reanalysis, ...
    pipeline: Mapped[str] = mapped_column(String(100))
    pipeline_version: Mapped[str] = mapped_column(String(50))
    genome_build: Mapped[str] = mapped_column(String(16))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # running, succeeded, failed
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class QCResult(Base):
    """Per-sample quality control of one ingest: metrics, and pass/warn/fail against the thresholds."""

    __tablename__ = "qc_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("samples.id"), index=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id"), index=True)
    status: Mapped[str] = mapped_column(String(8))  # pass, warn, fail
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Candidate(Base):
    """One ranked gene of an interpretation: scores, inheritance, variants, ACMG result and evidence.

    Stored as the interpretation produced it, so a report or a reanalysis comparison reads exactly
    what the biologist saw; ``details`` holds the variants and their classification as JSON.
    """

    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("analysis_id", "rank"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    gene: Mapped[str] = mapped_column(String(32), index=True)
    combined_score: Mapped[float] = mapped_column(Float)
    phenotype_score: Mapped[float] = mapped_column(Float)
    variant_score: Mapped[float] = mapped_column(Float)
    mode: Mapped[str] = mapped_column(String(8))
    acmg_class: Mapped[str | None] = mapped_column(String(32), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class ClassificationOverride(Base):
    """A curator's decision on one ACMG criterion of one variant: applied or not, with a comment.

    Overrides are never edited or deleted; a later one for the same criterion supersedes an earlier.
    """

    __tablename__ = "classification_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    variant: Mapped[str] = mapped_column(String(200), index=True)
    criterion: Mapped[str] = mapped_column(String(16))
    applied: Mapped[bool] = mapped_column(Boolean)
    strength: Mapped[str | None] = mapped_column(String(16), nullable=True)
    comment: Mapped[str] = mapped_column(Text)
    curator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Report(Base):
    """A clinical report version: drafted by one person, signed by a second, then immutable."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("prescription_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # draft, signed
    conclusion: Mapped[str] = mapped_column(Text, default="")
    content_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"), nullable=True)
    drafted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    drafted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), nullable=True)
    # The report's whole content (genomed.report.content.ReportContent as JSON): what was signed.
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


@event.listens_for(Session, "before_flush")
def _signed_reports_are_immutable(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse any change to a report that was already signed, whatever code path attempts it."""
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, Report):
            continue
        status = inspect(obj).attrs.status.history
        was_signed = "signed" in (status.deleted or ()) or (not status.has_changes() and obj.status == "signed")
        if was_signed and (obj in session.deleted or session.is_modified(obj)):
            raise StateError(f"report {obj.id} (version {obj.version}) is signed and cannot change; "
                             "draft a new version instead")


class NodeSetting(Base):
    """Facts about the database's own node, so a database is never opened by the wrong node."""

    __tablename__ = "node_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


__all__ = [
    "Analysis",
    "CaseEvent",
    "Consent",
    "ConsentScope",
    "Family",
    "FamilyMember",
    "Indication",
    "NodeSetting",
    "Patient",
    "Prescription",
    "QCResult",
    "Report",
    "Sample",
    "StoredFile",
    "User",
]
