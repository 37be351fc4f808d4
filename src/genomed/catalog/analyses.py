"""Analyses of a case: each run records its pipeline, parameters, build and reference releases."""

from __future__ import annotations

from typing import Any

from genomed import __version__
from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.cases import CaseState, case_by_reference
from genomed.catalog.consent_rules import Scope, require_consent
from genomed.catalog.guard import authorize
from genomed.catalog.models import Analysis
from genomed.catalog.prescriptions import advance_and_audit
from genomed.context import NodeContext
from genomed.db.base import utcnow
from genomed.errors import InputError

ANALYSIS_KINDS = ("ingest", "qc", "interpretation", "reanalysis", "benchmark")
_NEXT_STATE = {"interpretation": CaseState.INTERPRETED, "reanalysis": CaseState.REANALYSED}


def record_analysis(ctx: NodeContext, actor: str, *, case_reference: str, kind: str, pipeline: str,
                    pipeline_version: str | None = None, parameters: dict[str, Any] | None = None,
                    provenance: dict[str, Any] | None = None, succeeded: bool = True) -> Analysis:
    """Record a finished analysis of a case with its provenance, and move the case on if it can."""
    if kind not in ANALYSIS_KINDS:
        raise InputError(f"analysis kind must be one of {', '.join(ANALYSIS_KINDS)}, got {kind!r}")
    with ctx.transaction() as session:
        user = authorize(ctx, session, actor, Permission.RECORD_ANALYSIS, object_type="case",
                         object_id=case_reference, purpose=Purpose.CARE)
        case = case_by_reference(session, case_reference)
        require_consent(session, case.patient, Scope.DIAGNOSIS, "analyse the case")
        now = utcnow()
        analysis = Analysis(
            prescription_id=case.id, kind=kind, pipeline=pipeline, pipeline_version=pipeline_version or __version__,
            genome_build=ctx.config.genome_build, parameters=parameters or {},
            provenance={"genomed": __version__, "node": ctx.config.node_id, **(provenance or {})},
            status="succeeded" if succeeded else "failed", started_at=now, finished_at=now, started_by=user.id,
        )
        session.add(analysis)
        session.flush()
        ctx.audit.record(session, actor=actor, action="analysis.record", object_type="case",
                         object_id=case.reference, purpose=Purpose.CARE,
                         details={"analysis": analysis.id, "kind": kind, "status": analysis.status})
        if succeeded:
            advance_and_audit(ctx, session, actor, case, CaseState.ANALYSED, user)
            if kind in _NEXT_STATE:
                advance_and_audit(ctx, session, actor, case, _NEXT_STATE[kind], user)
    return analysis
