"""Patient inclusion: a person enters the node as a keyed pseudonym, a sex and a birth year."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.guard import authorize, record_refusal
from genomed.catalog.models import Patient
from genomed.context import NodeContext
from genomed.errors import DuplicateError, InputError, NotFoundError
from genomed.vault.pseudonym import parse_birth_date, pseudonymise


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


def parse_sex(value: str) -> Sex:
    """``male``/``female``/``unknown`` (also ``M``, ``F``, ``U`` and the PED codes 1, 2, 0)."""
    aliases = {"m": Sex.MALE, "1": Sex.MALE, "f": Sex.FEMALE, "2": Sex.FEMALE, "u": Sex.UNKNOWN, "0": Sex.UNKNOWN}
    text = value.strip().lower()
    if text in aliases:
        return aliases[text]
    try:
        return Sex(text)
    except ValueError as exc:
        raise InputError(f"sex must be male, female or unknown, got {value!r}") from exc


def patient_by_pseudonym(session: Session, pseudonym: str) -> Patient:
    """The patient with this pseudonym, or a :class:`NotFoundError` naming it."""
    patient = session.scalar(select(Patient).where(Patient.pseudonym == pseudonym.strip().upper()))
    if patient is None:
        raise NotFoundError(f"no patient with pseudonym {pseudonym!r}")
    return patient


def include_patient(ctx: NodeContext, actor: str, *, national_id: str, birth_date: str | dt.date,
                    sex: str) -> Patient:
    """Include a person: compute their pseudonym, refuse a second inclusion of the same person.

    The national identifier is used for the pseudonym and dropped; neither it nor the full birth
    date is stored, logged or audited.
    """
    born = parse_birth_date(birth_date)
    parsed_sex = parse_sex(sex)
    pseudonym = pseudonymise(ctx.keys.pseudonym_key, national_id, born)
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.INCLUDE_PATIENT, object_type="patient",
                         object_id=pseudonym, purpose=Purpose.CARE)
        if session.scalar(select(Patient.id).where(Patient.pseudonym == pseudonym)) is not None:
            duplicate = True
        else:
            duplicate = False
            patient = Patient(pseudonym=pseudonym, sex=parsed_sex.value, birth_year=born.year,
                              included_by=user.id)
            session.add(patient)
            ctx.audit.record(session, actor=actor, action="patient.include", object_type="patient",
                             object_id=pseudonym, purpose=Purpose.CARE)
    if duplicate:
        record_refusal(ctx, actor=actor, action="patient.include", object_type="patient", object_id=pseudonym,
                       purpose=Purpose.CARE, outcome="failed", reason="already included")
        raise DuplicateError(f"this person is already included, as patient {pseudonym}")
    return patient


def find_pseudonym(ctx: NodeContext, actor: str, *, national_id: str, birth_date: str | dt.date) -> str:
    """The pseudonym an included person has, found from their identity (audited as a re-identification)."""
    pseudonym = pseudonymise(ctx.keys.pseudonym_key, national_id, parse_birth_date(birth_date))
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.INCLUDE_PATIENT, object_type="patient", object_id=pseudonym,
                  purpose=Purpose.CARE)
        patient_by_pseudonym(session, pseudonym)
        ctx.audit.record(session, actor=actor, action="patient.lookup", object_type="patient",
                         object_id=pseudonym, purpose=Purpose.CARE)
    return pseudonym


def view_patient(ctx: NodeContext, actor: str, pseudonym: str, purpose: str = Purpose.CARE) -> Patient:
    """A patient with consents loaded; the access is audited."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_PATIENT, object_type="patient", object_id=pseudonym,
                  purpose=purpose)
        patient = patient_by_pseudonym(session, pseudonym)
        for consent in patient.consents:
            _ = consent.scopes
        ctx.audit.record(session, actor=actor, action="patient.view", object_type="patient",
                         object_id=patient.pseudonym, purpose=purpose)
    return patient


def list_patients(ctx: NodeContext, actor: str) -> list[Patient]:
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_PATIENT, object_type="patient", object_id="*",
                  purpose=Purpose.CARE)
        patients = list(session.scalars(select(Patient).order_by(Patient.id)))
        ctx.audit.record(session, actor=actor, action="patient.list", object_type="patient", object_id="*",
                         purpose=Purpose.CARE, details={"count": len(patients)})
    return patients
