"""``genomed indication|case|sample|analysis|report …``"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from genomed.catalog import analyses as analysis_service
from genomed.catalog import indications as indication_service
from genomed.catalog import prescriptions as case_service
from genomed.catalog import reports as report_service
from genomed.catalog import samples as sample_service
from genomed.catalog.cases import CaseState, parse_state
from genomed.cli.common import STATE, console, opened_node
from genomed.cli.knowledge_options import ClinvarOption, GnomadOption, PanelsOption, load_knowledge
from genomed.errors import InputError, NotFoundError

if TYPE_CHECKING:
    from genomed.interpret.service import CandidateRecord

indications = typer.Typer(help="The catalogue of clinical indications.", no_args_is_help=True)
cases = typer.Typer(help="Prescriptions and the state of each case.", no_args_is_help=True)
samples = typer.Typer(help="Samples of a case.", no_args_is_help=True)
analyses = typer.Typer(help="Analyses of a case, with provenance.", no_args_is_help=True)
reports = typer.Typer(help="Report versions: draft, then sign by a second person.", no_args_is_help=True)


@indications.command("load")
def indication_load(path: Annotated[Path | None, typer.Argument(help="TOML file; default: the demo catalogue.")] = None
                    ) -> None:
    """Load (or update) the catalogue of clinical indications."""
    with opened_node() as ctx:
        version, count, retired = indication_service.load_indications(
            ctx, STATE.actor(), path or indication_service.demo_indications_path())
    console.print(f"catalogue {version}: {count} indications loaded, {retired} retired")


@indications.command("list")
def indication_list() -> None:
    """List the indications in force."""
    with opened_node() as ctx:
        rows = indication_service.list_indications(ctx, STATE.actor())
    table = Table("code", "name", "category", "ages", "family", "samples")
    for i in rows:
        c = i.criteria
        ages = f"{c.get('min_age_years') if c.get('min_age_years') is not None else ''}–" \
               f"{c.get('max_age_years') if c.get('max_age_years') is not None else ''}"
        table.add_row(i.code, i.name, i.category, ages, c["family_structure"], ",".join(c["sample_types"]))
    console.print(table)


@cases.command("prescribe")
def case_prescribe(
    pseudonym: str,
    indication: Annotated[str, typer.Option(help="Indication code, see `genomed indication list`.")],
    hpo: Annotated[list[str] | None, typer.Option("--hpo", help="HPO term, e.g. HP:0001249 (repeat).")] = None,
    excluded_hpo: Annotated[list[str] | None, typer.Option(
        "--excluded-hpo", help="An HPO feature the patient was examined for and does not have (repeat).")] = None,
    prior_test: Annotated[list[str] | None, typer.Option("--prior-test", help="A prior test done (repeat).")] = None,
    priority: Annotated[str, typer.Option(help="routine or urgent.")] = "routine",
    due: Annotated[str | None, typer.Option(help="Due date YYYY-MM-DD (default from the indication).")] = None,
    justification: Annotated[str | None, typer.Option(help="Why, if the criteria are not met.")] = None,
) -> None:
    """Prescribe a genome test for a patient against an indication."""
    due_date = None
    if due is not None:
        try:
            due_date = dt.date.fromisoformat(due)
        except ValueError as exc:
            raise InputError(f"--due must be YYYY-MM-DD, got {due!r}") from exc
    with opened_node() as ctx:
        case = case_service.prescribe(ctx, STATE.actor(), pseudonym=pseudonym, indication_code=indication,
                                      priority=priority, hpo_terms=hpo, prior_tests=prior_test, due_date=due_date,
                                      justification=justification, excluded_hpo_terms=excluded_hpo)
    console.print(f"case {case.reference} ({case.indication.code}, {case.priority}, due {case.due_date}) "
                  f"is {case.state}")


@cases.command("list")
def case_list(state: Annotated[str | None, typer.Option(help="Only cases in this state.")] = None) -> None:
    """List cases."""
    with opened_node() as ctx:
        rows = case_service.list_cases(ctx, STATE.actor(), parse_state(state) if state else None)
    table = Table("case", "patient", "indication", "priority", "due", "state")
    for c in rows:
        table.add_row(c.reference, c.patient.pseudonym, c.indication.code, c.priority, str(c.due_date), c.state)
    console.print(table)


@cases.command("show")
def case_show(reference: str) -> None:
    """A case with its eligibility, samples and timestamped history."""
    with opened_node() as ctx:
        case = case_service.view_case(ctx, STATE.actor(), reference)
    console.print(f"case {case.reference}: patient {case.patient.pseudonym}, {case.indication.code} "
                  f"({case.indication.name}), {case.priority}, due {case.due_date}, [bold]{case.state}[/]")
    console.print(f"eligibility: {json.dumps(case.eligibility)}")
    for sample in case.samples:
        console.print(f"sample {sample.label} ({sample.kind}, {sample.tissue})")
    for event in case.events:
        console.print(f"  {event.at.isoformat(timespec='seconds')}  {event.from_state or '-'} → {event.to_state}"
                      + (f"  ({event.note})" if event.note else ""))


@cases.command("advance")
def case_advance(reference: str, to: Annotated[str, typer.Option(help="Target state.")],
                 note: Annotated[str | None, typer.Option()] = None) -> None:
    """Move a case to another state (checked against the state machine and its guards)."""
    with opened_node() as ctx:
        case = case_service.advance_case(ctx, STATE.actor(), reference, parse_state(to), note)
    console.print(f"case {case.reference} is {case.state}")


@cases.command("cancel")
def case_cancel(reference: str, reason: Annotated[str, typer.Option()]) -> None:
    """Cancel a case that has not been reported."""
    with opened_node() as ctx:
        case = case_service.advance_case(ctx, STATE.actor(), reference, CaseState.CANCELLED, reason)
    console.print(f"case {case.reference} is {case.state}")


@samples.command("add")
def sample_add(
    case: str,
    kind: Annotated[str, typer.Option(help="germline, tumour or normal.")] = "germline",
    label: Annotated[str | None, typer.Option(help="Sample label (default: CASE-Sn).")] = None,
    tissue: Annotated[str, typer.Option()] = "blood",
    relative: Annotated[str | None, typer.Option(help="Pseudonym of the relative who gave the sample.")] = None,
    cellularity: Annotated[float | None, typer.Option(help="Tumour cellularity, 0–1.")] = None,
) -> None:
    """Register a sample for a case."""
    with opened_node() as ctx:
        sample = sample_service.add_sample(ctx, STATE.actor(), case_reference=case, kind=kind, label=label,
                                           tissue=tissue, relative=relative, tumour_cellularity=cellularity)
    console.print(f"sample {sample.label} registered")


@analyses.command("record")
def analysis_record(case: str, kind: Annotated[str, typer.Option()], pipeline: Annotated[str, typer.Option()],
                    version: Annotated[str | None, typer.Option()] = None,
                    failed: Annotated[bool, typer.Option("--failed")] = False) -> None:
    """Record a finished analysis of a case."""
    with opened_node() as ctx:
        analysis = analysis_service.record_analysis(ctx, STATE.actor(), case_reference=case, kind=kind,
                                                    pipeline=pipeline, pipeline_version=version,
                                                    succeeded=not failed)
    console.print(f"analysis {analysis.id} ({analysis.kind}, {analysis.status}) recorded")


@reports.command("draft")
def report_draft(
    case: str,
    conclusion: Annotated[str, typer.Option(help="The conclusion, in the words the report prints.")],
    variant: Annotated[list[str] | None, typer.Option(
        help="A candidate variant to report (CHROM-POS-REF-ALT; repeatable), from `genomed case candidates`.")] = None,
    outcome: Annotated[str, typer.Option(help="solved, partially solved or unsolved.")] = "unsolved",
    limitation: Annotated[list[str] | None, typer.Option(help="A case-specific limitation (repeatable).")] = None,
) -> None:
    """Draft the next report version from the case's latest interpretation (conclusion only without one)."""
    from genomed.report.service import draft_clinical_report

    with opened_node() as ctx:
        try:
            report = draft_clinical_report(ctx, STATE.actor(), case_reference=case, conclusion=conclusion,
                                           outcome=outcome, variants=variant or [], limitations=limitation or [])
        except NotFoundError as exc:
            if variant or "no interpretation" not in str(exc):
                raise
            report = report_service.draft_report(ctx, STATE.actor(), case_reference=case, conclusion=conclusion)
            console.print("no genomed interpretation of this case: the report holds its conclusion only")
    console.print(f"report version {report.version} drafted")


@reports.command("sign")
def report_sign(case: str) -> None:
    """Sign the draft report (a second person than its author); the rendered report goes to the vault."""
    from genomed.report.service import sign_clinical_report

    with opened_node() as ctx:
        report = sign_clinical_report(ctx, STATE.actor(), case_reference=case)
    console.print(f"report version {report.version} signed (SHA-256 {report.content_sha256})")


@reports.command("export")
def report_export(
    case: str,
    fmt: Annotated[str, typer.Option("--format", help="html, pdf, phenopacket, fhir or json.")],
    out: Annotated[Path, typer.Option(help="File to write.")],
    version: Annotated[int | None, typer.Option(help="Report version (default: the latest).")] = None,
) -> None:
    """Write a report version as HTML, PDF, GA4GH Phenopacket v2, HL7 FHIR R4 or JSON."""
    from genomed.report.service import export_report

    if fmt not in ("html", "pdf", "phenopacket", "fhir", "json"):
        raise InputError(f"unknown report format {fmt!r}: use html, pdf, phenopacket, fhir or json")
    with opened_node() as ctx:
        data = export_report(ctx, case_reference=case, fmt=fmt, version=version)  # type: ignore[arg-type]
    out.write_bytes(data)
    console.print(f"{len(data):,} bytes written to {out}")


# --- interpretation -----------------------------------------------------------------------------------

def _print_candidates(candidates: list[CandidateRecord], evidence: int) -> None:
    table = Table("rank", "gene", "score", "phenotype", "variants", "mode", "ACMG", "variant(s)")
    for c in candidates:
        shown = "; ".join(f"{v.get('hgvs_p') or v.get('hgvs_c') or v['variant']} ({v['zygosity']})"
                          for v in c.variants)
        table.add_row(str(c.rank), c.gene, f"{c.combined_score:.3f}", f"{c.phenotype_score:.3f}",
                      f"{c.variant_score:.3f}", c.mode, c.acmg_class or "-", escape(shown))
    console.print(table)
    for c in candidates[:evidence]:
        console.print(f"[bold]{c.rank}. {c.gene}[/]")
        for line in c.evidence:
            console.print(f"  {line}", markup=False, highlight=False)
        for v in c.variants:
            acmg = v.get("acmg") or {}
            codes = ", ".join(acmg.get("applied", [])) or "no criterion applied"
            console.print(f"  ACMG {v['variant']}: {acmg.get('class')} ({codes})", markup=False, highlight=False)


@cases.command("interpret")
def case_interpret(
    reference: str,
    hpo: Annotated[list[str] | None, typer.Option("--hpo", help="Observed HPO term (repeat); default: the "
                                                  "prescription's.")] = None,
    excluded: Annotated[list[str] | None, typer.Option("--excluded", help="HPO term looked for and absent "
                                                       "(repeat); default: the prescription's.")] = None,
    panel: Annotated[str | None, typer.Option("--panel", help="Gene panel ID or ID@VERSION from --panels; "
                                              "pinned on the case.")] = None,
    panels: PanelsOption = None,
    clinvar: ClinvarOption = None,
    gnomad: GnomadOption = None,
    top: Annotated[int, typer.Option(help="How many candidates to classify and keep.")] = 20,
    evidence: Annotated[int, typer.Option(help="Print the evidence of this many candidates.")] = 5,
) -> None:
    """Interpret an analysed case: rank its genes, classify their variants, record the result."""
    from genomed.interpret.service import interpret_case

    with opened_node() as ctx:
        known_clinvar, known_gnomad, library = load_knowledge(ctx.config.genome_build, clinvar, gnomad, panels)
        outcome = interpret_case(
            ctx, STATE.actor(), case_reference=reference, observed=hpo or None, excluded=excluded or None,
            panel=panel, panel_library=library, clinvar=known_clinvar, gnomad=known_gnomad, top=top)
    console.print(f"case {outcome.case_reference}: {outcome.kind} {outcome.analysis_id} recorded, case is "
                  f"{outcome.state}")
    members = ", ".join(f"{m['role']} {m['sample']}" for m in outcome.members)
    console.print(f"members: {members}; {outcome.counts['variants']:,} proband variants, "
                  f"{outcome.counts['quality_pass']:,} pass quality, {outcome.counts['consequence_pass']:,} "
                  f"damaging enough; {outcome.ranked} genes ranked" + (f"; panel {outcome.panel}" if outcome.panel
                                                                         else ""), highlight=False)
    _print_candidates(outcome.candidates, evidence)
    console.print(outcome.secondary_findings_note, markup=False, highlight=False)
    for finding in outcome.secondary_findings:
        console.print(f"  {finding.gene} {finding.variant} {finding.zygosity}: {finding.significance} "
                      f"({finding.stars} stars, {finding.accession})", markup=False, highlight=False)
    for warning in outcome.warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False)


@cases.command("candidates")
def case_candidates(
    reference: str,
    analysis: Annotated[int | None, typer.Option(help="An earlier interpretation (default: the latest).")] = None,
    evidence: Annotated[int, typer.Option(help="Print the evidence of this many candidates.")] = 5,
) -> None:
    """The ranked candidates of a case's latest interpretation, with their evidence."""
    from genomed.interpret.service import list_candidates

    with opened_node() as ctx:
        stored = list_candidates(ctx, STATE.actor(), case_reference=reference, analysis_id=analysis)
    console.print(f"case {stored.case_reference}: {stored.kind} {stored.analysis_id} of "
                  f"{stored.started_at.isoformat(timespec='seconds')}")
    _print_candidates(stored.candidates, evidence)
    findings = stored.secondary_findings
    if findings:
        console.print(str(findings.get("note", "")), markup=False, highlight=False)
        for finding in findings.get("findings", []):
            console.print(f"  {finding['gene']} {finding['variant']} {finding['zygosity']}: "
                          f"{finding['significance']} ({finding['stars']} stars)", markup=False, highlight=False)


@cases.command("override")
def case_override(
    reference: str,
    variant: Annotated[str, typer.Argument(help="The variant, chrom-pos-ref-alt (e.g. chr6-33437899-C-T).")],
    criterion: Annotated[str, typer.Argument(help="ACMG/AMP criterion code, e.g. PVS1, PM2, PS3.")],
    applied: Annotated[bool, typer.Option("--applied/--not-applied", help="Apply the criterion or withdraw it.")],
    comment: Annotated[str, typer.Option(help="Why (mandatory; kept with the decision and audited).")],
    strength: Annotated[str | None, typer.Option(help="very_strong, strong, moderate or supporting.")] = None,
) -> None:
    """Record a curator's decision on one ACMG criterion of a candidate variant."""
    from genomed.interpret.service import override_criterion

    with opened_node() as ctx:
        done = override_criterion(ctx, STATE.actor(), case_reference=reference, variant=variant, criterion=criterion,
                                  applied=applied, strength=strength, comment=comment)
    verdict = "applied" if done.applied else "not applied"
    console.print(f"override {done.override_id}: {done.criterion} {verdict} for {done.variant} ({done.gene}); "
                  f"class {done.previous_class} -> {done.new_class}", markup=False, highlight=False)
