"""Why data is touched: every audited action names one of these purposes (GDPR art. 5(1)(b))."""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    CARE = "care"                    # diagnosis and treatment of the patient
    RESEARCH = "research"
    QUALITY = "quality"              # laboratory quality assurance, accreditation
    SHARING = "sharing"              # disclosure to another node or organisation
    ADMINISTRATION = "administration"
