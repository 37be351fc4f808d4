"""Reanalysis when a knowledge release changes, on SQLite and PostgreSQL.

The simulated trio of test_interpret_service (a de novo SYNGAP1 stop-gain in the child) is first
interpreted with a ClinVar release that lacks the pathogenic SYNGAP1 nonsense records, and with
version 3.0 of its gene panel: loss of function is then not a known mechanism of the gene, PVS1 does
not apply, and the stop-gain is a variant of uncertain significance, reported as such in an unsolved
report. The next ClinVar release holds three pathogenic two-star SYNGAP1 nonsense records, and the
panel library holds version 3.1: the reanalysis must find both changes, re-run the case, report the
reported variant's move to Pathogenic and ask for review; a run with unchanged releases re-runs
nothing, and a dry run writes nothing to the catalog.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from genomed.annotate.clinvar import ClinVar
from genomed.annotate.population import GnomadSites
from genomed.audit.models import AuditEntry
from genomed.catalog import reports
from genomed.catalog.cases import CaseState
from genomed.catalog.models import Analysis, Prescription
from genomed.cli import reanalysis_cmd
from genomed.cli.common import STATE
from genomed.context import NodeContext
from genomed.errors import AccessDeniedError, InputError, NotFoundError
from genomed.interpret.panels import PanelLibrary, load_panelapp
from genomed.interpret.reanalysis import ClassChange, compare, reanalyse
from genomed.interpret.service import CandidateRecord, interpret_case
from genomed.report.service import draft_clinical_report
from test_interpret_service import GENE, Family, audit_entries, ingested_family, knowledge
from test_interpret_service import family as family  # the module-scoped simulated family fixture

VUS, PATHOGENIC = "Uncertain significance", "Pathogenic"
PANEL = "PanelApp 285 Intellectual disability"
SYNGAP1_STAND_INS = ("VCV900000000", "VCV900000001", "VCV900000002")


def _release_without_syngap1_lof(family: Family, path: Path) -> Path:
    """The family's ClinVar release minus the three pathogenic SYNGAP1 nonsense records (an older release)."""
    lines = [line for line in family.clinvar.read_text().splitlines()
             if json.loads(line)["accession"]["accession"] not in SYNGAP1_STAND_INS]
    assert len(lines) == len(family.clinvar.read_text().splitlines()) - 3
    path.write_text("\n".join(lines) + "\n")
    return path


def _snapshot(ctx: NodeContext, reference: str) -> tuple[int, str, int, str | None]:
    """(analyses, case state, audit entries, pinned panel version): what a dry run must leave alone."""
    with ctx.transaction() as session:
        case = session.scalars(select(Prescription).where(Prescription.reference == reference)).one()
        return (int(session.scalar(select(func.count(Analysis.id))) or 0), case.state,
                int(session.scalar(select(func.count(AuditEntry.seq))) or 0), case.panel_version)


def _class_of(candidates: list[CandidateRecord], variant: str) -> str | None:
    return next((v["acmg"]["class"] for c in candidates for v in c.variants if v["variant"] == variant), None)


def test_a_new_clinvar_release_reclassifies_the_reported_variant(node: NodeContext, family: Family,
                                                                 tmp_path: Path) -> None:
    case = ingested_family(node, family)
    sources = knowledge(family)
    gnomad = sources["gnomad"]
    library = sources["panel_library"]
    assert isinstance(library, PanelLibrary) and isinstance(gnomad, GnomadSites)
    library_30 = PanelLibrary([p for p in load_panelapp(family.panels) if p.version == "3.0"])
    clinvar_a = ClinVar.load(_release_without_syngap1_lof(family, tmp_path / "clinvar-a.jsonl"), version="2024-12-01")
    clinvar_b = ClinVar.load(family.clinvar, version="2025-01-06")

    first = interpret_case(node, "bio", case_reference=case.reference, clinvar=clinvar_a, gnomad=gnomad,
                           panel="285@3.0", panel_library=library)
    assert first.rank_of(GENE) == 1, [c.gene for c in first.candidates]
    assert _class_of(first.candidates, family.spike.name) == VUS  # PVS1 needs a known LoF mechanism
    draft_clinical_report(node, "bio", case_reference=case.reference, outcome="unsolved",
                          conclusion=f"A de novo {GENE} stop-gain of uncertain significance.",
                          variants=[family.spike.name])
    reports.sign_report(node, "bio2", case_reference=case.reference)  # signed as drafted; no PDF to render here

    # The same releases: nothing to re-run, and the run says why.
    same = reanalyse(node, "bio", clinvar=clinvar_a, gnomad=gnomad, panel_library=library_30)
    assert (same.examined, same.rerun, len(same.planned)) == (1, 0, 0)
    [unchanged] = same.unchanged
    assert unchanged.case_reference == case.reference and f"interpretation {first.analysis_id}" in unchanged.reason
    assert json.loads(audit_entries(node, "reanalysis.run")[-1].details)["rerun"] == 0

    # Without gnomAD the case cannot be re-run comparably: listed as not covered, not re-run.
    bare = reanalyse(node, "bio", clinvar=clinvar_b, panel_library=library)
    assert bare.rerun == 0 and [s.kind for s in bare.skipped] == ["not covered"]
    assert "no gnomAD release was given" in bare.skipped[0].reason

    # A dry run with the new ClinVar release and panel version lists the case and writes nothing.
    before = _snapshot(node, case.reference)
    dry = reanalyse(node, "bio", clinvar=clinvar_b, gnomad=gnomad, panel_library=library,
                    dry_run=True)
    [planned] = dry.planned
    assert planned.case_reference == case.reference and planned.state == CaseState.REPORTED.value
    assert planned.releases_changed == ["ClinVar", PANEL]
    assert planned.release_changes == ["ClinVar 2024-12-01 → 2025-01-06", f"{PANEL} 3.0 → 3.1"]
    assert dry.changes == [] and "1 would be re-run" in dry.line()
    assert _snapshot(node, case.reference) == before

    # The run: the case is reanalysed with both, and the reported variant is now pathogenic.
    run = reanalyse(node, "bix", clinvar=clinvar_b, gnomad=gnomad, panel_library=library,
                    cases=[case.reference.lower()])
    [change] = run.changes
    assert (run.examined, run.rerun, len(run.changed), len(run.needing_review)) == (1, 1, 1, 1)
    assert change.releases_changed == ["ClinVar", PANEL] and change.notes == ["moved to gene panel 285@3.1"]
    assert change.state == CaseState.REANALYSED.value and change.reported == [family.spike.name]
    assert ClassChange(family.spike.name, GENE, VUS, PATHOGENIC) in change.class_changes
    assert change.needs_review and change.top_before[0] == GENE == change.top_after[0]
    assert change.top_before == [GENE]  # the only panel 3.0 gene with a candidate variant
    assert f"reported variant {family.spike.name} in {GENE}: {VUS} → {PATHOGENIC}" in change.summary
    assert change.summary.endswith("Needs review.")
    with node.transaction() as session:
        analysis = session.get(Analysis, change.analysis_after)
        assert analysis is not None and analysis.kind == "reanalysis"
        assert analysis.provenance["knowledge"]["ClinVar"]["version"] == "2025-01-06"
        assert analysis.parameters["observed"] == family.observed and analysis.parameters["top"] == 20
    assert _snapshot(node, case.reference)[3] == "3.1"
    entry = audit_entries(node, "reanalysis.run")[-1]
    details = json.loads(entry.details)
    assert entry.actor == "bix" and (details["examined"], details["rerun"], details["changed"]) == (1, 1, 1)
    assert details["needs_review"] == 1 and details["cases_changed"] == case.reference
    assert audit_entries(node, "case.interpret")[-1].object_id == case.reference

    # Nothing changed since: the next run re-runs nothing.
    again = reanalyse(node, "bio", clinvar=clinvar_b, gnomad=gnomad, panel_library=library)
    assert again.rerun == 0 and [s.case_reference for s in again.unchanged] == [case.reference]

    # The CLI, reading the knowledge from the environment as `genomed case interpret` does.
    app = typer.Typer()
    app.command()(reanalysis_cmd.reanalyse)
    older = tmp_path / "clinvar-a-again.jsonl"
    older.write_bytes(family.clinvar.read_bytes().replace(b"VCV900000001", b"VCV900000011"))
    env = {"GENOMED_CLINVAR": str(older), "GENOMED_GNOMAD": str(gnomad.path),
           "GENOMED_PANELS": str(family.panels)}
    STATE.home, STATE.user = str(node.config.home), "bio"
    try:
        result = CliRunner().invoke(app, ["--dry-run", "--case", case.reference], env=env)
        assert result.exit_code == 0, result.output
        assert case.reference in result.output and "1 would be re-run" in result.output
        assert _snapshot(node, case.reference)[0] == before[0] + 1
        result = CliRunner().invoke(app, [], env=env)
        assert result.exit_code == 0, result.output
        # The release differs by one accession only: re-run, nothing changed (the class change was flagged once).
        assert "1 case(s) examined, 1 re-run, 0 changed, 0 need review" in result.output
    finally:
        STATE.home = STATE.user = None


def _record(rank: int, gene: str, variants: dict[str, str]) -> CandidateRecord:
    best = min(variants.values(), key=[PATHOGENIC, "Likely pathogenic", VUS, "Likely benign", "Benign"].index)
    return CandidateRecord(rank, gene, 0.5, 0.5, 0.5, "AD", best,
                           {"variants": [{"variant": v, "acmg": {"class": c}} for v, c in variants.items()]})


def test_compare_names_each_kind_of_change() -> None:
    before = [_record(1, "A", {"chr1-10-A-G": VUS}), _record(2, "B", {"chr1-20-C-T": "Likely benign"}),
              _record(3, "C", {"chr1-30-G-A": VUS})]
    after = [_record(1, "D", {"chr1-40-T-C": "Likely pathogenic"}), _record(2, "A", {"chr1-10-A-G": VUS}),
             _record(3, "B", {"chr1-20-C-T": "Benign"})]
    top_before, top_after, changes, entered, review, clauses = compare(
        before, after, reported=[("chr1-30-G-A", "C", VUS)], top=3)
    assert (top_before, top_after) == (["A", "B", "C"], ["D", "A", "B"])
    assert changes == [ClassChange("chr1-20-C-T", "B", "Likely benign", "Benign"),
                       ClassChange("chr1-30-G-A", "C", VUS, None)]
    assert [(n.gene, n.rank, n.acmg_class) for n in entered] == [("D", 1, "Likely pathogenic")]
    assert review and "reported variant chr1-30-G-A in C: Uncertain significance → not a candidate" in clauses
    assert "top gene A → D" in clauses and "top 3 +D, -C" in clauses

    # Likely benign to benign in an unreported variant, same top: a change, but nothing to review.
    same_top = [_record(1, "A", {"chr1-10-A-G": VUS}), _record(2, "B", {"chr1-20-C-T": "Benign"}),
                _record(3, "C", {"chr1-30-G-A": VUS})]
    *_, changes, entered, review, clauses = compare(before, same_top, reported=[], top=3)
    assert len(changes) == 1 and not entered and not review
    # A VUS that becomes likely pathogenic crosses the boundary: review, even unreported.
    crossed = [_record(1, "A", {"chr1-10-A-G": "Likely pathogenic"}), *same_top[1:]]
    assert compare(before, crossed, reported=[], top=3)[4]

    # Before is the old run's class; a reported variant the old run did not keep falls back to the report.
    *_, changes, entered, review, clauses = compare(
        before, crossed, reported=[("chr1-10-A-G", "A", "Likely pathogenic"), ("chr1-99-A-T", "E", PATHOGENIC)], top=3)
    assert ClassChange("chr1-10-A-G", "A", VUS, "Likely pathogenic") in changes
    assert ClassChange("chr1-99-A-T", "E", PATHOGENIC, None) in changes and review
    assert "reported variant chr1-10-A-G in A: Uncertain significance → Likely pathogenic (reported as Likely " \
           "pathogenic)" in clauses


def test_refusals(node: NodeContext) -> None:
    from test_catalog import staff

    staff(node)
    with pytest.raises(InputError, match="top must be at least 1"):
        reanalyse(node, "bio", top=0)
    with pytest.raises(AccessDeniedError, match="interpret_case"):
        reanalyse(node, "steward")
    with pytest.raises(NotFoundError, match="no case .*FR-2026-999999"):
        reanalyse(node, "bio", cases=["FR-2026-999999"])
    empty = reanalyse(node, "bio", dry_run=True)
    assert (empty.examined, empty.planned, empty.skipped) == (0, [], [])
