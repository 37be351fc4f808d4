"""Imports every ORM model so that ``Base.metadata`` knows all tables (for migrations and tests)."""

from genomed.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from genomed.catalog.models import (
    Analysis,
    CaseEvent,
    Consent,
    ConsentScope,
    Family,
    FamilyMember,
    Indication,
    NodeSetting,
    Patient,
    Prescription,
    QCResult,
    Report,
    Sample,
    StoredFile,
    User,
)

__all__ = [
    "Analysis",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
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
