"""Registering the samples taken for a case."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.cases import CaseState, case_by_reference
from genomed.catalog.consent_rules import Scope, require_consent
from genomed.catalog.guard import authorize
from genomed.catalog.models import FamilyMember, Patient, Sample
from genomed.catalog.patients import patient_by_pseudonym
from genomed.catalog.prescriptions import advance_and_audit
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import DuplicateError, InputError, NotFoundError

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")


class SampleKind(StrEnum):
    GERMLINE = "germline"
    TUMOUR = "tumour"
    NORMAL = "normal"


def sample_by_label(session: Session, label: str) -> Sample:
    sample = session.scalar(select(Sample).where(Sample.label == label))
    if sample is None:
        raise NotFoundError(f"no sample {label!r}")
    return sample


def _same_family(session: Session, a: Patient, b: Patient) -> bool:
    families = session.execute(select(FamilyMember.patient_id, FamilyMember.family_id)
                               .where(FamilyMember.patient_id.in_([a.id, b.id]))).all()
    return len(families) == 2 and families[0][1] == families[1][1]


def add_sample(ctx: NodeContext, actor: str, *, case_reference: str, kind: str, label: str | None = None,
               tissue: str = "blood", collected_at: dt.datetime | None = None, relative: str | None = None,
               tumour_cellularity: float | None = None) -> Sample:
    """Register a sample for a case; ``relative`` (a pseudonym) for a parent's sample in a trio.

    The donor's diagnosis consent must be in force. The case becomes ``sampled`` once every sample
    type its indication needs is registered.
    """
    try:
        sample_kind = SampleKind(kind.strip().lower())
    except ValueError as exc:
        raise InputError(f"sample kind must be germline, tumour or normal, got {kind!r}") from exc
    if label is not None and not _LABEL.match(label):
        raise InputError(f"sample label {label!r} must be 2-64 letters, digits, '.', '_' or '-'")
    if tumour_cellularity is not None and (sample_kind is not SampleKind.TUMOUR or not 0 < tumour_cellularity <= 1):
        raise InputError("tumour cellularity is a fraction in (0, 1] and only for tumour samples")
    moment = collected_at or utcnow()
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.REGISTER_SAMPLE, object_type="case",
                         object_id=case_reference, purpose=Purpose.CARE)
        case = case_by_reference(session, case_reference)
        if case.state == CaseState.CANCELLED.value:
            raise InputError(f"case {case.reference} is cancelled")
        donor = case.patient
        if relative is not None:
            donor = patient_by_pseudonym(session, relative)
            if donor.id != case.patient_id and not _same_family(session, donor, case.patient):
                raise InputError(f"{donor.pseudonym} is not in the family of {case.patient.pseudonym}; "
                                 "import the pedigree first")
            if donor.id != case.patient_id and sample_kind is not SampleKind.GERMLINE:
                raise InputError("a relative's sample can only be germline")
        allowed = set(case.indication.criteria.get("sample_types", ["germline"]))
        if donor.id == case.patient_id and sample_kind.value not in allowed:
            raise InputError(f"indication {case.indication.code} takes {', '.join(sorted(allowed))} samples, "
                             f"not {sample_kind.value}")
        require_consent(session, donor, Scope.DIAGNOSIS, "register a sample")
        if label is None:
            count = int(session.scalar(select(func.count(Sample.id)).where(Sample.prescription_id == case.id)) or 0)
            label = f"{case.reference}-S{count + 1}"
        if session.scalar(select(Sample.id).where(Sample.label == label)) is not None:
            raise DuplicateError(f"sample label {label} is already used")
        sample = Sample(label=label, patient_id=donor.id, prescription_id=case.id, kind=sample_kind.value,
                        tissue=tissue, collected_at=moment, tumour_cellularity=tumour_cellularity)
        session.add(sample)
        session.flush()
        ctx.audit.record(session, actor=actor, action="sample.register", object_type="sample", object_id=label,
                         purpose=Purpose.CARE,
                         details={"case": case.reference, "donor": donor.pseudonym, "kind": sample_kind.value})
        advance_and_audit(ctx, session, actor, case, CaseState.SAMPLED, user)
    return sample
