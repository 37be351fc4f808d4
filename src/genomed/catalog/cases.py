"""The state machine of a case (a prescription) from prescription to report, and its guards.

::

    prescribed → consented → sampled → sequenced → analysed → interpreted → reported ⇄ reanalysed
         └──────────┴──────────┴──────────┴──────────┴────────────┴──→ cancelled

Every transition is stored as a timestamped :class:`CaseEvent` (monitoring computes turnaround
from them) and audited. A transition is refused with :class:`IllegalTransitionError` when the
target cannot be reached from the current state, or when its guard fails (no sample yet, no file,
no signed report). Any move forward also needs the patient's diagnosis consent in force: after a
withdrawal a case can only be cancelled.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from genomed.catalog.consent_rules import Scope, active_scopes
from genomed.catalog.models import Analysis, CaseEvent, Prescription, Report, Sample, StoredFile, User
from genomed.db.base import utcnow
from genomed.errors import ConsentError, IllegalTransitionError, InputError, NotFoundError


class CaseState(StrEnum):
    PRESCRIBED = "prescribed"
    CONSENTED = "consented"
    SAMPLED = "sampled"
    SEQUENCED = "sequenced"
    ANALYSED = "analysed"
    INTERPRETED = "interpreted"
    REPORTED = "reported"
    REANALYSED = "reanalysed"
    CANCELLED = "cancelled"


S = CaseState
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    S.PRESCRIBED: frozenset({S.CONSENTED, S.CANCELLED}),
    S.CONSENTED: frozenset({S.SAMPLED, S.CANCELLED}),
    S.SAMPLED: frozenset({S.SEQUENCED, S.CANCELLED}),
    S.SEQUENCED: frozenset({S.ANALYSED, S.CANCELLED}),
    S.ANALYSED: frozenset({S.INTERPRETED, S.CANCELLED}),
    S.INTERPRETED: frozenset({S.REPORTED, S.CANCELLED}),
    S.REPORTED: frozenset({S.REANALYSED}),
    S.REANALYSED: frozenset({S.REPORTED}),
    S.CANCELLED: frozenset(),
}


def parse_state(value: str) -> CaseState:
    try:
        return CaseState(value.strip().lower())
    except ValueError as exc:
        raise InputError(f"unknown case state {value!r}; states: {', '.join(s.value for s in CaseState)}") from exc


def case_by_reference(session: Session, reference: str) -> Prescription:
    case = session.scalar(select(Prescription).where(Prescription.reference == reference.strip().upper()))
    if case is None:
        raise NotFoundError(f"no case (prescription) {reference!r}")
    return case


def _count(session: Session, statement: object) -> int:
    return int(session.scalar(statement) or 0)  # type: ignore[call-overload]


def guard_failure(session: Session, case: Prescription, target: CaseState) -> str | None:
    """Why ``case`` may not enter ``target`` now, or ``None`` when it may."""
    if target is S.CANCELLED:
        return None
    if Scope.DIAGNOSIS not in active_scopes(session, case.patient):
        return f"patient {case.patient.pseudonym} has no diagnosis consent in force"
    if target is S.CONSENTED:
        return None
    if target is S.SAMPLED:
        kinds = set(session.scalars(select(Sample.kind).where(Sample.prescription_id == case.id)))
        needed = set(case.indication.criteria.get("sample_types", ["germline"]))
        missing = needed - kinds
        return f"samples missing: {', '.join(sorted(missing))}" if missing else None
    if target is S.SEQUENCED:
        files = _count(session, select(func.count(StoredFile.id)).join(Sample).where(Sample.prescription_id == case.id))
        return None if files else "no sequencing file has been stored for the case's samples"
    if target is S.ANALYSED:
        done = _count(session, select(func.count(Analysis.id)).where(
            Analysis.prescription_id == case.id, Analysis.status == "succeeded"))
        return None if done else "no analysis of the case has succeeded"
    if target is S.INTERPRETED:
        done = _count(session, select(func.count(Analysis.id)).where(
            Analysis.prescription_id == case.id, Analysis.status == "succeeded",
            Analysis.kind.in_(["interpretation", "reanalysis"])))
        return None if done else "no interpretation of the case has succeeded"
    if target is S.REPORTED:
        signed = _count(session, select(func.count(Report.id)).where(
            Report.prescription_id == case.id, Report.status == "signed"))
        last_signed_event = session.scalar(select(func.max(CaseEvent.at)).where(
            CaseEvent.prescription_id == case.id, CaseEvent.to_state == S.REPORTED.value))
        if not signed:
            return "no signed report"
        if last_signed_event is not None:
            newer = _count(session, select(func.count(Report.id)).where(
                Report.prescription_id == case.id, Report.status == "signed",
                Report.signed_at > last_signed_event))
            if not newer:
                return "no report signed since the case was last reported"
        return None
    if target is S.REANALYSED:
        return None
    return None  # pragma: no cover - every state is handled above


def transition(session: Session, case: Prescription, target: CaseState, actor: User,
               note: str | None = None) -> CaseEvent:
    """Move ``case`` to ``target`` if the machine and the guards allow it; record the event."""
    current = CaseState(case.state)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none (final state)"
        raise IllegalTransitionError(
            f"case {case.reference} cannot go from {current.value} to {target.value}; allowed: {allowed}"
        )
    failure = guard_failure(session, case, target)
    if failure is not None:
        error = ConsentError if "consent" in failure else IllegalTransitionError
        raise error(f"case {case.reference} cannot become {target.value}: {failure}")
    event = CaseEvent(prescription_id=case.id, from_state=current.value, to_state=target.value, at=utcnow(),
                      actor_id=actor.id, note=note)
    case.state = target.value
    session.add(event)
    session.flush()
    return event


def advance_when_ready(session: Session, case: Prescription, target: CaseState, actor: User) -> CaseEvent | None:
    """Take the step to ``target`` if it is the next one and its guard passes; else do nothing.

    Service functions call this after the action that satisfies a guard (a consent given, a sample
    registered, a file stored), so a case moves forward on its own as the work is done.
    """
    current = CaseState(case.state)
    if target not in TRANSITIONS[current] or guard_failure(session, case, target) is not None:
        return None
    return transition(session, case, target, actor, note="automatic")
