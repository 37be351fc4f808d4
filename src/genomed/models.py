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
from genomed.share.models import AccessRequest, BeaconDocument, MatchCase, PrivacyBudget

__all__ = [
    "AccessRequest",
    "Analysis",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "BeaconDocument",
    "CaseEvent",
    "Consent",
    "ConsentScope",
    "Family",
    "FamilyMember",
    "Indication",
    "MatchCase",
    "NodeSetting",
    "Patient",
    "Prescription",
    "PrivacyBudget",
    "QCResult",
    "Report",
    "Sample",
    "StoredFile",
    "User",
]
