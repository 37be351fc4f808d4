"""``genomed indication|case|sample|analysis|report …``"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from genomed.catalog import analyses as analysis_service
from genomed.catalog import indications as indication_service
from genomed.catalog import prescriptions as case_service
from genomed.catalog import reports as report_service
from genomed.catalog import samples as sample_service
from genomed.catalog.cases import CaseState, parse_state
from genomed.cli.common import STATE, console, opened_node
from genomed.errors import InputError

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
                                      justification=justification)
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
def report_draft(case: str, conclusion: Annotated[str, typer.Option()]) -> None:
    """Draft the next report version of an interpreted case."""
    with opened_node() as ctx:
        report = report_service.draft_report(ctx, STATE.actor(), case_reference=case, conclusion=conclusion)
    console.print(f"report version {report.version} drafted")


@reports.command("sign")
def report_sign(case: str) -> None:
    """Sign the draft report (a second person than its author)."""
    with opened_node() as ctx:
        report = report_service.sign_report(ctx, STATE.actor(), case_reference=case)
    console.print(f"report version {report.version} signed")
