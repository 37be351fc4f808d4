"""Recording consent forms and their withdrawal."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.cases import CaseState
from genomed.catalog.consent_rules import Scope, parse_scope
from genomed.catalog.guard import authorize
from genomed.catalog.models import Consent, ConsentScope, Patient
from genomed.catalog.patients import patient_by_pseudonym
from genomed.catalog.prescriptions import advance_and_audit, cases_waiting_for_consent
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import ConsentError, InputError


def give_consent(ctx: NodeContext, actor: str, *, pseudonym: str, scopes: list[str], form_version: str,
                 given_at: dt.datetime | None = None) -> Consent:
    """Record a signed consent form and the scopes it grants.

    A diagnosis consent moves the patient's prescribed cases to ``consented``.
    """
    chosen = sorted({parse_scope(s) for s in scopes})
    if not chosen:
        raise InputError("a consent needs at least one scope")
    if not form_version.strip():
        raise InputError("a consent needs the version of the form the patient signed")
    now = utcnow()
    moment = given_at or now
    if moment.tzinfo is None:
        raise InputError("the consent time must carry a timezone")
    if moment > now + dt.timedelta(minutes=5):
        raise InputError(f"a consent cannot be given in the future ({moment.isoformat()})")
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.RECORD_CONSENT, object_type="patient", object_id=pseudonym,
                         purpose=Purpose.CARE)
        patient = patient_by_pseudonym(session, pseudonym)
        consent = Consent(patient_id=patient.id, form_version=form_version.strip(), given_at=moment,
                          recorded_by=user.id)
        session.add(consent)
        session.flush()
        session.add_all([ConsentScope(consent_id=consent.id, scope=s.value) for s in chosen])
        ctx.audit.record(session, actor=actor, action="consent.give", object_type="patient",
                         object_id=patient.pseudonym, purpose=Purpose.CARE,
                         details={"consent": consent.id, "form_version": consent.form_version,
                                  "scopes": ",".join(s.value for s in chosen)})
        session.flush()
        if Scope.DIAGNOSIS in chosen:
            for case in cases_waiting_for_consent(session, patient.id):
                advance_and_audit(ctx, session, actor, case, CaseState.CONSENTED, user)
        _ = consent.scopes
    signal_consent_change(ctx)
    return consent


def signal_consent_change(ctx: NodeContext) -> None:
    """Tell every process of this node that consent changed (they re-read it before their next answer)."""
    signal = ctx.config.consent_signal
    signal.write_text(utcnow().isoformat())


def withdraw_consent(ctx: NodeContext, actor: str, *, pseudonym: str, scopes: list[str] | None,
                     reason: str) -> list[str]:
    """Withdraw scopes (all when ``scopes`` is empty) from every consent of the patient, from now on.

    Nothing stored is deleted or rewritten: reads, counts and shares consult consent at read time,
    so the patient disappears from them at once. Returns the scopes withdrawn.
    """
    if not reason.strip():
        raise InputError("a withdrawal needs a reason (e.g. 'patient request by letter of 2026-11-02')")
    wanted = {parse_scope(s) for s in scopes} if scopes else set(Scope)
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.WITHDRAW_CONSENT, object_type="patient",
                         object_id=pseudonym, purpose=Purpose.CARE)
        patient = patient_by_pseudonym(session, pseudonym)
        now = utcnow()
        rows = list(session.scalars(
            select(ConsentScope).join(Consent).where(Consent.patient_id == patient.id,
                                                     ConsentScope.withdrawn_at.is_(None),
                                                     ConsentScope.scope.in_([s.value for s in wanted]))
        ))
        if not rows:
            listed = ", ".join(sorted(s.value for s in wanted))
            raise ConsentError(f"patient {patient.pseudonym} has no consent in force to withdraw for: {listed}")
        for row in rows:
            row.withdrawn_at, row.withdrawal_reason, row.withdrawn_by = now, reason.strip(), user.id
        withdrawn = sorted({row.scope for row in rows})
        ctx.audit.record(session, actor=actor, action="consent.withdraw", object_type="patient",
                         object_id=patient.pseudonym, purpose=Purpose.CARE,
                         details={"scopes": ",".join(withdrawn)})
    signal_consent_change(ctx)
    return withdrawn


def consent_history(ctx: NodeContext, actor: str, pseudonym: str) -> tuple[Patient, list[Consent]]:
    """Every consent of a patient with its scopes and withdrawals (audited as a view)."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_PATIENT, object_type="patient", object_id=pseudonym,
                  purpose=Purpose.CARE)
        patient = patient_by_pseudonym(session, pseudonym)
        consents = list(patient.consents)
        for consent in consents:
            _ = consent.scopes
        ctx.audit.record(session, actor=actor, action="consent.view", object_type="patient",
                         object_id=patient.pseudonym, purpose=Purpose.CARE)
    return patient, consents
