"""Permission-checked access to the audit trail: verify it, checkpoint it, read it."""

from __future__ import annotations

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.audit.models import AuditCheckpoint, AuditEntry
from genomed.audit.trail import VerificationReport
from genomed.catalog.guard import authorize
from genomed.context import NodeContext


def verify_audit(ctx: NodeContext, actor: str) -> VerificationReport:
    """Verify the whole chain, its checkpoints and anchors; the verification itself is audited."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VERIFY_AUDIT, object_type="audit", object_id="*",
                  purpose=Purpose.ADMINISTRATION)
        report = ctx.audit.verify(session)
    with ctx.transaction() as session:
        ctx.audit.record(session, actor=actor, action="audit.verify", object_type="audit", object_id="*",
                         purpose=Purpose.ADMINISTRATION, outcome="ok" if report.ok else "failed",
                         details={"entries": report.entries_checked, "first_bad_seq": report.first_bad_seq})
    return report


def checkpoint_audit(ctx: NodeContext, actor: str) -> AuditCheckpoint | None:
    """Sign a checkpoint at the current end of the chain."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.CHECKPOINT_AUDIT, object_type="audit", object_id="*",
                  purpose=Purpose.ADMINISTRATION)
        ctx.audit.record(session, actor=actor, action="audit.checkpoint", object_type="audit", object_id="*",
                         purpose=Purpose.ADMINISTRATION)
        return ctx.audit.checkpoint(session)


def read_audit(ctx: NodeContext, actor: str, *, last: int | None = 20,
               object_id: str | None = None) -> list[AuditEntry]:
    """The latest entries, or those about one object (a pseudonym, a case, a file)."""
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_AUDIT, object_type="audit", object_id=object_id or "*",
                  purpose=Purpose.ADMINISTRATION)
        entries = ctx.audit.entries(session, last=last, object_id=object_id)
        ctx.audit.record(session, actor=actor, action="audit.read", object_type="audit", object_id=object_id or "*",
                         purpose=Purpose.ADMINISTRATION)
    return entries
