"""Clinical report versions: drafted by one person, signed by a second, then immutable.

A correction is a new version that supersedes the old one; a signed version is never edited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.cases import CaseState, case_by_reference
from genomed.catalog.guard import authorize
from genomed.catalog.models import Report, User
from genomed.catalog.prescriptions import advance_and_audit
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import AccessDeniedError, InputError, NotFoundError, StateError

Seal = Callable[[Report, User, dt.datetime], None]
"""Called inside the signing transaction, just before the report becomes immutable: it may set the final
``content``, ``content_sha256`` and ``file_id`` (genomed.report.service renders and stores the PDF)."""


def draft_report(ctx: NodeContext, actor: str, *, case_reference: str, conclusion: str,
                 content: Callable[[Report, User], dict[str, Any]] | None = None) -> Report:
    """Draft the next version of a case's report.

    ``content`` builds the report's full content from the new version (number, supersedes) and its
    author, inside the same transaction; without it the report holds only its conclusion.
    """
    if not conclusion.strip():
        raise InputError("a report needs a conclusion")
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.DRAFT_REPORT, object_type="case",
                         object_id=case_reference, purpose=Purpose.CARE)
        case = case_by_reference(session, case_reference)
        # A reported case may get a corrected version (an amended report) without a new analysis.
        if case.state not in (CaseState.INTERPRETED.value, CaseState.REANALYSED.value, CaseState.REPORTED.value):
            raise StateError(f"case {case.reference} is {case.state}; a report is drafted once it is interpreted")
        if session.scalar(select(Report.id).where(Report.prescription_id == case.id, Report.status == "draft")):
            raise StateError(f"case {case.reference} already has a draft report; sign or amend it")
        last = session.scalar(select(func.max(Report.version)).where(Report.prescription_id == case.id)) or 0
        previous = session.scalar(select(Report.id).where(Report.prescription_id == case.id, Report.version == last))
        report = Report(prescription_id=case.id, version=last + 1, status="draft", conclusion=conclusion.strip(),
                        drafted_by=user.id, supersedes_id=previous)
        session.add(report)
        session.flush()
        if content is not None:
            report.content = content(report, user)
            session.flush()
        ctx.audit.record(session, actor=actor, action="report.draft", object_type="case", object_id=case.reference,
                         purpose=Purpose.CARE, details={"report": report.id, "version": report.version})
    return report


def sign_report(ctx: NodeContext, actor: str, *, case_reference: str, seal: Seal | None = None) -> Report:
    """Sign the case's draft report; the signer must not be its author. The case becomes reported."""
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.SIGN_REPORT, object_type="case",
                         object_id=case_reference, purpose=Purpose.CARE)
        case = case_by_reference(session, case_reference)
        report = session.scalar(select(Report).where(Report.prescription_id == case.id, Report.status == "draft"))
        if report is None:
            raise NotFoundError(f"case {case.reference} has no draft report to sign")
        if report.drafted_by == user.id:
            raise AccessDeniedError("a report must be signed by a second person, not by its author")
        signed_at = utcnow()
        if seal is not None:
            seal(report, user, signed_at)  # while still a draft: it may store files and flush
        if report.content_sha256 is None:  # no seal, or a conclusion-only report: digest its words
            report.content_sha256 = hashlib.sha256(
                f"{case.reference}|{report.version}|{report.conclusion}".encode()).hexdigest()
        report.status, report.signed_by, report.signed_at = "signed", user.id, signed_at
        session.flush()
        ctx.audit.record(session, actor=actor, action="report.sign", object_type="case", object_id=case.reference,
                         purpose=Purpose.CARE, details={"report": report.id, "version": report.version})
        if case.state != CaseState.REPORTED.value:  # an amended version of a reported case leaves it reported
            advance_and_audit(ctx, session, actor, case, CaseState.REPORTED, user)
    return report
