"""The clinical report of a catalog case: assembled from what the node stored, drafted, sealed when signed.

A biologist drafts a version: its content is assembled from the catalog (patient pseudonym, indication,
samples and their QC) and from the case's latest interpretation (the candidates the biologist chooses
to report, their ACMG classes and evidence, secondary findings, knowledge releases). A second person
signs it: the signer and time are written into the content, its SHA-256 is taken over the canonical
JSON, and the rendered PDF (or HTML where Chromium is absent) is stored encrypted in the vault, all
in the signing transaction. A signed version is immutable (the catalog refuses any change); a
correction is a new version that supersedes it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from genomed import __version__
from genomed.catalog.cases import case_by_reference
from genomed.catalog.files import FileKind
from genomed.catalog.models import Analysis, Candidate, Prescription, QCResult, Report, Sample, StoredFile, User
from genomed.catalog.reports import draft_report, sign_report
from genomed.context import NodeContext
from genomed.errors import InputError, NotFoundError
from genomed.interpret.service import latest_interpretation
from genomed.report.content import (
    AcmgClass,
    Conclusion,
    Indication,
    Laboratory,
    Method,
    Outcome,
    QCMetric,
    QCStatus,
    ReportContent,
    ReportedVariant,
    ReportStatus,
    SampleQC,
    SecondaryFindings,
    Sex,
    Term,
)
from genomed.report.content import Sample as ReportSample
from genomed.report.render import render_report

ExportFormat = Literal["html", "pdf", "phenopacket", "fhir", "json"]
_QC_SHOWN = ("call_rate", "ti_tv", "het_hom_ratio", "mean_dp_nonref", "mean_gq_nonref", "inferred_sex",
             "mendelian_error_rate")


def _name(user: User | None) -> str:
    return (user.display_name or user.username) if user is not None else "unknown"


def interpretation_to_report(session: Session, case: Prescription) -> Analysis:
    """The case's most recent interpretation or reanalysis, which a new report version reports on."""
    analysis = latest_interpretation(session, case)
    if analysis is None:
        raise NotFoundError(f"case {case.reference} has no interpretation to report; interpret it first")
    return analysis


def _hpo_terms(ids: Sequence[str]) -> tuple[Term, ...]:
    from genomed.interpret.hpo import load_release

    release = load_release()
    out = []
    for term_id in ids:
        term = release.terms.get(term_id)
        out.append(Term(term_id, term.name if term is not None else term_id))
    return tuple(out)


_DISEASE_ID = re.compile(r"^(OMIM|ORPHA|MONDO):\d+$")


def _reported_variant(raw: dict[str, Any], candidate: Candidate, sample: str) -> ReportedVariant:
    details = candidate.details
    acmg = raw.get("acmg") or {}
    phenotype = details.get("phenotype") or {}
    # A disease the report can name by its identifier; a gene-level stand-in or a published cohort is not one.
    disease = Term(phenotype["disease_id"], phenotype["disease_name"]) \
        if _DISEASE_ID.match(str(phenotype.get("disease_id") or "")) else None
    hgvs_c = raw.get("hgvs_c") or ""
    if not hgvs_c:
        raise InputError(f"variant {raw['variant']} has no HGVS c. on a transcript; it cannot be reported")
    summary = " ".join(line for line in details.get("evidence", []) if line.startswith(("Inheritance", "Variant")))
    return ReportedVariant(
        gene_symbol=candidate.gene, transcript=raw.get("transcript") or hgvs_c.split(":")[0], hgvs_c=hgvs_c,
        hgvs_p=raw.get("hgvs_p") or "", chrom=raw["chrom"], pos=int(raw["pos"]), ref=raw["ref"], alt=raw["alt"],
        zygosity=raw["zygosity"], acmg_class=AcmgClass(acmg.get("class", AcmgClass.UNCERTAIN_SIGNIFICANCE.value)),
        acmg_criteria=tuple(acmg.get("applied", ())), evidence_summary=summary or candidate.gene,
        inheritance=(details.get("inheritance") or {}).get("words", ""), disease=disease, sample_id=sample)


def _chosen_variants(session: Session, analysis: Analysis, wanted: Sequence[str], sample: str
                     ) -> tuple[ReportedVariant, ...]:
    candidates = session.scalars(select(Candidate).where(Candidate.analysis_id == analysis.id)
                                 .order_by(Candidate.rank)).all()
    found: dict[str, tuple[dict[str, Any], Candidate]] = {}
    for candidate in candidates:
        for raw in candidate.details.get("variants", []):
            found.setdefault(str(raw["variant"]), (raw, candidate))
    missing = [name for name in wanted if name not in found]
    if missing:
        raise NotFoundError(f"not among the interpretation's candidates: {', '.join(missing)} "
                            f"(see `genomed case candidates`)")
    return tuple(_reported_variant(*found[name], sample) for name in wanted)


def _qc(session: Session, samples: Sequence[Sample]) -> tuple[SampleQC, ...]:
    out = []
    for sample in samples:
        result = session.scalars(select(QCResult).where(QCResult.sample_id == sample.id)
                                 .order_by(QCResult.id.desc())).first()
        if result is None:
            continue
        stored = result.metrics.get("metrics", result.metrics)  # ingestion stores {"metrics": …, "checks": …}
        metrics = tuple(QCMetric(name, round(value, 4) if isinstance(value, float) else value)
                        for name, value in stored.items()
                        if name in _QC_SHOWN and isinstance(value, (int, float, str)) and not isinstance(value, bool))
        out.append(SampleQC(sample.label, QCStatus(result.status), metrics))
    return tuple(out)


def _provenance(analysis: Analysis) -> dict[str, str]:
    out = {"pipeline": f"{analysis.pipeline} {analysis.pipeline_version}", "genome build": analysis.genome_build,
           "interpretation analysis": str(analysis.id)}
    for name, release in (analysis.provenance.get("knowledge") or {}).items():
        if isinstance(release, dict):
            out[name] = str(release.get("version", "unknown"))
    return out


def assemble_content(ctx: NodeContext, session: Session, case: Prescription, report: Report, author: User, *,
                     outcome: Outcome, variants: Sequence[str], limitations: Sequence[str]) -> ReportContent:
    """The content of a draft version, from the catalog and the latest interpretation."""
    analysis = interpretation_to_report(session, case)
    samples = [s for s in case.samples if s.kind == "germline" and s.patient_id == case.patient_id] or \
        list(case.samples)
    proband_sample = samples[0].label if samples else ""
    prescriber = session.get(User, case.prescriber_id)
    reported = _chosen_variants(session, analysis, variants, proband_sample)
    parameters = analysis.parameters or {}
    filters = parameters.get("filters") or {}
    method = Method(
        test_type="Genome sequencing, germline" if case.indication.category == "rare_disease" else "Genome sequencing",
        genome_build=analysis.genome_build, pipeline_version=f"genomed {__version__}",
        filters=tuple(f"{k} = {v}" for k, v in filters.items() if not isinstance(v, (list, dict))),
        description="Variants called on the genome, normalised and stored; rare, damaging variants ranked by "
                    "inheritance, predicted effect and HPO phenotype similarity, then classified with the "
                    "ACMG/AMP criteria (Bayesian points, Tavtigian et al. 2020).")
    secondary = analysis.provenance.get("secondary_findings") or {}
    findings = SecondaryFindings(sought=bool(secondary.get("sought")), statement=str(secondary.get("note", "")))
    observed = (analysis.parameters or {}).get("observed") or case.hpo_terms
    excluded = (analysis.parameters or {}).get("excluded") or case.excluded_hpo_terms
    previous = session.get(Report, report.supersedes_id) if report.supersedes_id else None
    return ReportContent(
        lab=Laboratory(ctx.config.node_name, ctx.config.country, ctx.config.node_id),
        case_reference=case.reference, patient_pseudonym=case.patient.pseudonym,
        sex=Sex(case.patient.sex) if case.patient.sex in ("male", "female") else Sex.UNKNOWN,
        indication=Indication(case.indication.code, case.indication.name), prescriber=_name(prescriber),
        samples=tuple(ReportSample(s.label, s.kind, "proband" if s.patient_id == case.patient_id else "relative")
                      for s in case.samples),
        method=method, qc=_qc(session, case.samples), observed_phenotypes=_hpo_terms(observed),
        excluded_phenotypes=_hpo_terms(excluded), variants=reported, secondary_findings=findings,
        conclusion=Conclusion(outcome, report.conclusion), provenance=_provenance(analysis),
        version=report.version, status=ReportStatus.DRAFT, drafted_by=_name(author), drafted_at=report.drafted_at,
        limitations=tuple(limitations) + tuple(str(w) for w in analysis.provenance.get("warnings", [])[:5]),
        supersedes=previous.version if previous is not None else None)


def draft_clinical_report(ctx: NodeContext, actor: str, *, case_reference: str, conclusion: str,
                          outcome: Outcome | str = Outcome.UNSOLVED, variants: Sequence[str] = (),
                          limitations: Sequence[str] = ()) -> Report:
    """Draft the next report version of a case, reporting the chosen candidate variants."""
    chosen = Outcome(outcome)

    def build(report: Report, author: User) -> dict[str, Any]:
        session = Session.object_session(report)
        if session is None:
            raise InputError("the report is not attached to a session")
        case = case_by_reference(session, case_reference)
        content = assemble_content(ctx, session, case, report, author, outcome=chosen, variants=variants,
                                   limitations=limitations)
        return content.to_dict()

    return draft_report(ctx, actor, case_reference=case_reference, conclusion=conclusion, content=build)


def sign_clinical_report(ctx: NodeContext, actor: str, *, case_reference: str) -> Report:
    """Sign the draft: seal its content (signer, time, SHA-256) and store the rendered report in the vault."""

    def seal(report: Report, signer: User, signed_at: dt.datetime) -> None:
        if report.content is None:  # a conclusion-only report: the catalog digests its words
            return
        content = replace(ReportContent.from_dict(report.content), status=ReportStatus.SIGNED, signed_by=_name(signer),
                          signed_at=signed_at)
        rendered = render_report(content)
        report.content = content.to_dict()
        report.content_sha256 = rendered.sha256
        session = Session.object_session(report)
        if session is None:
            raise InputError("the report is not attached to a session")
        body, suffix = (rendered.pdf, "pdf") if rendered.pdf is not None else (rendered.html.encode(), "html")
        stored = ctx.vault.put(io.BytesIO(body))
        case = case_by_reference(session, case_reference)
        record = StoredFile(vault_id=stored.vault_id, sample_id=None, kind=FileKind.REPORT.value,
                            original_name=f"{case.reference}-report-v{report.version}.{suffix}",
                            plaintext_sha256=stored.sha256, plaintext_size=stored.size, stored_by=signer.id)
        session.add(record)
        session.flush()
        report.file_id = record.id

    return sign_report(ctx, actor, case_reference=case_reference, seal=seal)


def report_content(ctx: NodeContext, *, case_reference: str, version: int | None = None) -> ReportContent:
    """A stored report version's content (the latest version by default)."""
    with ctx.transaction() as session:
        case = case_by_reference(session, case_reference)
        query = select(Report).where(Report.prescription_id == case.id)
        query = query.where(Report.version == version) if version is not None else \
            query.order_by(Report.version.desc())
        report = session.scalars(query).first()
        if report is None:
            raise NotFoundError(f"case {case_reference} has no report" +
                                (f" version {version}" if version is not None else ""))
        if report.content is None:
            raise NotFoundError(f"report v{report.version} of {case_reference} was drafted without content")
        return ReportContent.from_dict(report.content)


def export_report(ctx: NodeContext, *, case_reference: str, fmt: ExportFormat, version: int | None = None) -> bytes:
    """A report version as HTML, PDF, GA4GH Phenopacket v2 JSON, HL7 FHIR R4 bundle JSON or our JSON."""
    content = report_content(ctx, case_reference=case_reference, version=version)
    if fmt == "json":
        return content.to_json().encode()
    rendered = render_report(content, pdf=fmt == "pdf")
    if fmt == "html":
        return rendered.html.encode()
    if fmt == "pdf":
        if rendered.pdf is None:
            raise InputError("no PDF was rendered")
        return rendered.pdf
    if fmt == "phenopacket":
        return rendered.phenopacket_json.encode()
    return rendered.fhir_json.encode()
