"""What a patient's consents allow at a given moment: the rules every read and share consults.

Consent is enforced at read time (DESIGN.md): a scope counts from the moment the form was signed
until the moment it is withdrawn, and nothing stored is rewritten when it is withdrawn.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from genomed.catalog.models import Consent, ConsentScope, Patient, Sample
from genomed.db.base import utcnow
from genomed.errors import ConsentError, InputError


class Scope(StrEnum):
    DIAGNOSIS = "diagnosis"
    RESEARCH = "research"
    NATIONAL_SHARING = "national_sharing"
    INTERNATIONAL_SHARING = "international_sharing"
    CASE_MATCHING = "case_matching"
    SECONDARY_FINDINGS = "secondary_findings"


def parse_scope(value: str) -> Scope:
    try:
        return Scope(value.strip().lower().replace("-", "_"))
    except ValueError as exc:
        known = ", ".join(s.value for s in Scope)
        raise InputError(f"unknown consent scope {value!r}; known scopes: {known}") from exc


def active_scopes(session: Session, patient: Patient, at: dt.datetime | None = None) -> set[Scope]:
    """The scopes in force for ``patient`` at ``at`` (now by default)."""
    moment = at or utcnow()
    rows = session.execute(
        select(ConsentScope.scope, ConsentScope.withdrawn_at, Consent.given_at)
        .join(Consent, Consent.id == ConsentScope.consent_id)
        .where(Consent.patient_id == patient.id)
    )
    return {
        Scope(scope) for scope, withdrawn_at, given_at in rows
        if given_at <= moment and (withdrawn_at is None or withdrawn_at > moment)
    }


def require_consent(session: Session, patient: Patient, scope: Scope, action: str) -> None:
    """Raise :class:`ConsentError` naming the patient, scope and why, unless ``scope`` is in force."""
    if scope in active_scopes(session, patient):
        return
    withdrawn = session.scalar(
        select(ConsentScope.withdrawn_at)
        .join(Consent, Consent.id == ConsentScope.consent_id)
        .where(Consent.patient_id == patient.id, ConsentScope.scope == scope.value,
               ConsentScope.withdrawn_at.is_not(None))
        .order_by(ConsentScope.withdrawn_at.desc())
    )
    why = f"was withdrawn on {withdrawn.isoformat(timespec='seconds')}" if withdrawn is not None else "was never given"
    raise ConsentError(f"cannot {action}: the {scope.value} consent of patient {patient.pseudonym} {why}")


def samples_without_scope(session: Session, scope: Scope, at: dt.datetime | None = None) -> set[int]:
    """Ids of every sample whose donor does not have ``scope`` in force: the samples to leave out.

    One query, however many samples: the variant store calls this whenever consent may have changed.
    """
    moment = at or utcnow()
    in_force = (
        select(Consent.patient_id)
        .join(ConsentScope, ConsentScope.consent_id == Consent.id)
        .where(and_(ConsentScope.scope == scope.value, Consent.given_at <= moment,
                    or_(ConsentScope.withdrawn_at.is_(None), ConsentScope.withdrawn_at > moment)))
    )
    return set(session.scalars(select(Sample.id).where(Sample.patient_id.not_in(in_force))))
