"""Prescribing a genome test, and moving a case through its states by hand."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.cases import CaseState, advance_when_ready, case_by_reference, transition
from genomed.catalog.consent_rules import Scope, active_scopes
from genomed.catalog.eligibility import check_eligibility
from genomed.catalog.guard import authorize
from genomed.catalog.indications import indication_by_code
from genomed.catalog.models import CaseEvent, Prescription, User
from genomed.catalog.patients import patient_by_pseudonym
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import EligibilityError, InputError

MIN_JUSTIFICATION = 20


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


def _parse_priority(value: str) -> Priority:
    try:
        return Priority(value.strip().lower())
    except ValueError as exc:
        raise InputError(f"priority must be routine or urgent, got {value!r}") from exc


def prescribe(ctx: NodeContext, actor: str, *, pseudonym: str, indication_code: str, priority: str = "routine",
              hpo_terms: list[str] | None = None, prior_tests: list[str] | None = None,
              due_date: dt.date | None = None, justification: str | None = None,
              excluded_hpo_terms: list[str] | None = None) -> Prescription:
    """Prescribe a genome test for an included patient against a clinical indication.

    Eligibility is checked against the indication's criteria. An ineligible prescription is refused
    unless a ``justification`` (e.g. the decision of a multidisciplinary meeting) is given; it is then
    recorded with the prescription and audited. The case starts ``prescribed`` and becomes
    ``consented`` at once if the patient's diagnosis consent is already in force.
    """
    chosen_priority = _parse_priority(priority)
    terms = [t.strip() for t in (hpo_terms or []) if t.strip()]
    excluded = [t.strip() for t in (excluded_hpo_terms or []) if t.strip()]
    both = sorted(set(terms) & set(excluded))
    if both:
        raise InputError(f"HPO term(s) both observed and excluded: {', '.join(both)}")
    tests = [t.strip() for t in (prior_tests or []) if t.strip()]
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.PRESCRIBE, object_type="patient", object_id=pseudonym,
                         purpose=Purpose.CARE)
        patient = patient_by_pseudonym(session, pseudonym)
        indication = indication_by_code(session, indication_code)
        today = utcnow().date()
        result = check_eligibility(indication.criteria, birth_year=patient.birth_year, current_year=today.year,
                                   hpo_terms=terms, prior_tests=tests)
        malformed = [t for t in excluded if not re.fullmatch(r"HP:\d{7}", t)]
        if malformed:
            raise InputError(f"excluded terms are not HPO identifiers: {', '.join(malformed)}")
        if any(f.startswith("not HPO identifiers") for f in result.failures):
            raise InputError(next(f for f in result.failures if f.startswith("not HPO identifiers")))
        if not result.eligible and (not justification or len(justification.strip()) < MIN_JUSTIFICATION):
            raise EligibilityError(
                f"patient {patient.pseudonym} is not eligible for {indication.code} ({indication.name}): "
                + "; ".join(result.failures)
                + f". To prescribe anyway give a justification of at least {MIN_JUSTIFICATION} characters"
            )
        if due_date is None:
            due_date = today + dt.timedelta(days=int(indication.criteria["turnaround_days"][chosen_priority.value]))
        elif due_date < today:
            raise InputError(f"due date {due_date.isoformat()} is in the past")
        case = Prescription(reference=f"PENDING-{utcnow().timestamp()}", patient_id=patient.id,
                            indication_id=indication.id, prescriber_id=user.id, priority=chosen_priority.value,
                            due_date=due_date, hpo_terms=terms, excluded_hpo_terms=excluded, prior_tests=tests,
                            eligibility=result.as_dict(), justification=justification if not result.eligible else None,
                            state=CaseState.PRESCRIBED.value)
        session.add(case)
        session.flush()
        case.reference = f"{ctx.config.country}-{today.year}-{case.id:06d}"
        session.add(CaseEvent(prescription_id=case.id, from_state=None, to_state=CaseState.PRESCRIBED.value,
                              at=utcnow(), actor_id=user.id))
        ctx.audit.record(session, actor=actor, action="case.prescribe", object_type="case", object_id=case.reference,
                         purpose=Purpose.CARE,
                         details={"patient": patient.pseudonym, "indication": indication.code,
                                  "eligible": result.eligible, "priority": chosen_priority.value})
        session.flush()
        session.refresh(case)
        advance_and_audit(ctx, session, actor, case, CaseState.CONSENTED, user)
        _load(session, case)
    return case


def _audit_transition(ctx: NodeContext, session: Session, actor: str, reference: str, old: CaseState | str,
                      new: CaseState) -> None:
    ctx.audit.record(session, actor=actor, action="case.transition", object_type="case", object_id=reference,
                     purpose=Purpose.CARE, details={"from": str(old), "to": new.value})


def _load(session: Session, case: Prescription) -> None:
    """Load what callers read after the session closes."""
    _ = case.patient.pseudonym, case.indication.code, [e.to_state for e in case.events]
    _ = [s.label for s in case.samples]


def advance_case(ctx: NodeContext, actor: str, reference: str, target: CaseState,
                 note: str | None = None) -> Prescription:
    """Move a case by hand (a biologist marking it interpreted, a prescriber cancelling it)."""
    permission = Permission.CANCEL_CASE if target is CaseState.CANCELLED else Permission.ADVANCE_CASE
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, permission, object_type="case", object_id=reference, purpose=Purpose.CARE)
        case = case_by_reference(session, reference)
        old = case.state
        transition(session, case, target, user, note=note)
        _audit_transition(ctx, session, actor, case.reference, old, target)
        _load(session, case)
    return case


def advance_and_audit(ctx: NodeContext, session: Session, actor: str, case: Prescription, target: CaseState,
                      user: User) -> None:
    """For other services: take an automatic step if its guard now passes, audited in the same transaction."""
    old = case.state
    if advance_when_ready(session, case, target, user) is not None:
        _audit_transition(ctx, session, actor, case.reference, old, target)


def view_case(ctx: NodeContext, actor: str, reference: str) -> Prescription:
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_CASE, object_type="case", object_id=reference,
                  purpose=Purpose.CARE)
        case = session.scalar(select(Prescription).where(Prescription.reference == reference.strip().upper())
                              .options(selectinload(Prescription.events), selectinload(Prescription.samples)))
        if case is None:
            case = case_by_reference(session, reference)
        _load(session, case)
        ctx.audit.record(session, actor=actor, action="case.view", object_type="case", object_id=case.reference,
                         purpose=Purpose.CARE)
    return case


def list_cases(ctx: NodeContext, actor: str, state: CaseState | None = None) -> list[Prescription]:
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_CASE, object_type="case", object_id="*", purpose=Purpose.CARE)
        query = select(Prescription).order_by(Prescription.id)
        if state is not None:
            query = query.where(Prescription.state == state.value)
        cases = list(session.scalars(query))
        for case in cases:
            _load(session, case)
        ctx.audit.record(session, actor=actor, action="case.list", object_type="case", object_id="*",
                         purpose=Purpose.CARE, details={"count": len(cases)})
    return cases


def cases_waiting_for_consent(session: Session, patient_id: int) -> list[Prescription]:
    """Prescribed cases of a patient that a newly given diagnosis consent can move forward."""
    cases = list(session.scalars(select(Prescription).where(
        Prescription.patient_id == patient_id, Prescription.state == CaseState.PRESCRIBED.value)))
    return [c for c in cases if Scope.DIAGNOSIS in active_scopes(session, c.patient)]
