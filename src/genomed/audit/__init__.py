"""The audit trail: who did what to which pseudonymous object, why and when — hash-chained and signed.

See :mod:`genomed.audit.trail` for the threat model and what verification can and cannot detect.
"""

from genomed.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from genomed.audit.trail import (
    OUTCOMES,
    AuditTrail,
    VerificationReport,
    checkpoint_message,
    compute_entry_hash,
    genesis_hash,
)

__all__ = [
    "OUTCOMES",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "AuditTrail",
    "VerificationReport",
    "checkpoint_message",
    "compute_entry_hash",
    "genesis_hash",
]
