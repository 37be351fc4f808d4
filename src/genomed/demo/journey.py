"""A demonstration node, walked through the journey a real one sees (``genomed demo``).

Staff accounts with distinct roles; the indications catalogue; rare-disease families built from
published cases (see :mod:`genomed.demo.families`) and a colorectal cancer patient, included under
pseudonyms; consents; prescriptions checked for eligibility, with the published HPO terms;
samples; sequencing files stored encrypted; ingestion with QC; interpretation; a clinical report
drafted by one biologist, signed by a second and exported (HTML, PDF when Chromium is installed,
GA4GH Phenopacket, HL7 FHIR); a consent withdrawal that takes effect at once; and an audit trail
that verifies. Every step goes through the same service functions as the CLI, as a named user.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from genomed.access.purpose import Purpose
from genomed.audit.models import AuditEntry
from genomed.catalog import (
    consents,
    families,
    files,
    indications,
    patients,
    prescriptions,
    samples,
)
from genomed.catalog.audit_access import checkpoint_audit, verify_audit
from genomed.catalog.cases import CaseState
from genomed.catalog.users import add_user
from genomed.context import NodeContext
from genomed.data import data_file
from genomed.demo.families import DEMO_CASES, DemoFamilies, DemoFamily, knowledge, prepare_families
from genomed.demo.sharing import share_demo
from genomed.errors import ConsentError, GenomedError, IllegalTransitionError
from genomed.interpret.service import CandidateRecord, InterpretationOutcome, interpret_case
from genomed.node import init_node
from genomed.report.pdf import find_chromium
from genomed.report.service import ExportFormat, draft_clinical_report, export_report, sign_clinical_report
from genomed.simulate.placement import Pattern
from genomed.store.ingestion import IngestOutcome, ingest_files
from genomed.store.service import VariantSpec, query_carriers, query_variant

ADMIN = "admin"
PRESCRIBER = "dr.martin"
BIOLOGIST = "bio.dupont"
SECOND_BIOLOGIST = "bio.bernard"
BIOINFORMATICIAN = "bix.leroy"
STEWARD = "steward.moreau"

# Synthetic identities (never real people): 15-digit, NIR-shaped numbers. The child's sex digit
# and birth date are taken from the published case and the demo's birth date (see _identity).
PARENTS = (
    (("1 82 11 69 456 123 45", "1982-11-23"), ("2 84 07 69 123 789 12", "1984-07-02")),
    (("1 79 02 38 185 004 61", "1979-02-17"), ("2 81 06 38 185 022 09", "1981-06-30")),
    (("1 88 09 13 055 310 27", "1988-09-05"), ("2 90 12 13 055 147 83", "1990-12-19")),
)
CHILD_NUMBERS = ("69 123 456 78", "38 185 311 40", "13 055 902 16")
CANCER = ("1 61 05 75 111 222 33", "1961-05-09", "male")

CANCER_VCF = "cancer/tumours/T001-COAD.grch38.vcf.gz"
ALL_SCOPES = ["diagnosis", "research", "national_sharing", "international_sharing", "case_matching",
              "secondary_findings"]
SOLVING_CLASSES = ("Pathogenic", "Likely pathogenic")
EXPORTS: tuple[tuple[ExportFormat, str], ...] = (("html", "html"), ("pdf", "pdf"), ("phenopacket", "phenopacket.json"),
                                                 ("fhir", "fhir.json"))
SHOWN = 3


@dataclass
class FamilyResult:
    """What the demo did with one family, from prescription to exports."""

    case_id: str
    inheritance: str
    gene: str
    case_reference: str
    gene_rank: int | None
    top: list[dict[str, Any]]
    outcome: str
    report_version: int
    report_status: str
    report_sha256: str | None
    exports: dict[str, Path]


@dataclass
class DemoSummary:
    """What the demo did, printed at its end."""

    lines: list[str] = field(default_factory=list)
    qc: IngestOutcome | None = None
    families: list[FamilyResult] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.lines.append(text)


def run_demo(home: Path, fresh: bool = False, say: Callable[[str], None] = print,
             families: int = len(DEMO_CASES)) -> DemoSummary:
    """Create a demo node in ``home`` and walk ``families`` published families (1-3) to signed reports."""
    if fresh and home.exists():
        shutil.rmtree(home)
    summary = DemoSummary()
    ctx = init_node(home, node_name="genomed demo — Lyon", country="FR", genome_build="GRCh38", admin=ADMIN)
    try:
        _journey(ctx, summary, say, families)
    finally:
        ctx.close()
    return summary


def _identity(number: int, family: DemoFamily) -> tuple[str, str, str]:
    """The child's synthetic national identifier, birth date and sex."""
    born = family.demo.birth_date
    code = "1" if family.child_sex == "male" else "2"
    return f"{code} {born[2:4]} {born[5:7]} {CHILD_NUMBERS[number]}", born, family.child_sex


@dataclass
class _Case:
    family: DemoFamily
    proband: str
    father: str
    mother: str
    reference: str = ""


def _staff(ctx: NodeContext, say: Callable[[str], None]) -> None:
    for name, roles, display in [
        (PRESCRIBER, ["prescriber"], "Dr Claire Martin, clinical geneticist"),
        (BIOLOGIST, ["biologist"], "Dr Paul Dupont, laboratory geneticist"),
        (SECOND_BIOLOGIST, ["biologist"], "Dr Anne Bernard, laboratory geneticist"),
        (BIOINFORMATICIAN, ["bioinformatician"], "Luc Leroy, bioinformatician"),
        (STEWARD, ["data_steward"], "Inès Moreau, data steward"),
    ]:
        add_user(ctx, ADMIN, name, roles, display)
    version, count, _ = indications.load_indications(ctx, ADMIN, indications.demo_indications_path())
    say(f"users: 6; indications catalogue {version}: {count} entries")


def _include_families(ctx: NodeContext, prepared: DemoFamilies, say: Callable[[str], None]) -> list[_Case]:
    cases = []
    ped = []
    for number, family in enumerate(prepared.families):
        national_id, born, sex = _identity(number, family)
        proband = patients.include_patient(ctx, PRESCRIBER, national_id=national_id, birth_date=born, sex=sex).pseudonym
        (f_id, f_born), (m_id, m_born) = PARENTS[number]
        father = patients.include_patient(ctx, PRESCRIBER, national_id=f_id, birth_date=f_born, sex="male").pseudonym
        mother = patients.include_patient(ctx, PRESCRIBER, national_id=m_id, birth_date=m_born,
                                          sex="female").pseudonym
        code = "1" if sex == "male" else "2"
        name = f"FAM-DEMO-{number + 1}"
        ped += [f"{name}\t{proband}\t{father}\t{mother}\t{code}\t2", f"{name}\t{father}\t0\t0\t1\t1",
                f"{name}\t{mother}\t0\t0\t2\t1"]
        cases.append(_Case(family, proband, father, mother))
        say(f"family {name} ({family.demo.inheritance}, from {family.case.case_id}): proband {proband}, "
            f"father {father}, mother {mother}")
    first = prepared.families[0]
    national_id, born, sex = _identity(0, first)
    try:
        patients.include_patient(ctx, PRESCRIBER, national_id=national_id, birth_date=born, sex=sex)
    except GenomedError as exc:
        say(f"second inclusion refused, as it should be: {exc}")
    families.import_pedigree(ctx, PRESCRIBER, "\n".join(ped) + "\n", "demo-families.ped")
    for case in cases:
        for person in (case.proband, case.father, case.mother):
            consents.give_consent(ctx, PRESCRIBER, pseudonym=person, scopes=ALL_SCOPES, form_version="PFMG-RD-v4.2")
    return cases


def _first_evidence(candidate: CandidateRecord, lines: int = 2) -> list[str]:
    return candidate.evidence[:lines]


def _top(outcome: InterpretationOutcome) -> list[dict[str, Any]]:
    return [{"rank": c.rank, "gene": c.gene, "acmg_class": c.acmg_class, "mode": c.mode,
             "evidence": _first_evidence(c), "variants": [v["variant"] for v in c.variants]}
            for c in outcome.candidates[:SHOWN]]


def _conclusion(top: CandidateRecord, solved: bool) -> str:
    """The biologist's conclusion, in words, from the top candidate."""
    disease = (top.details.get("phenotype") or {}).get("disease_name") or "the disorder associated with the gene"
    changes = " and ".join(" ".join(filter(None, (v.get("hgvs_c") or v["variant"], v.get("hgvs_p"))))
                           + f" ({v['zygosity']})" for v in top.variants)
    inheritance = (top.details.get("inheritance") or {}).get("words") or top.mode
    if solved:
        return (f"{top.gene} {changes}, {(top.acmg_class or '').lower()}, {inheritance}: consistent with "
                f"{disease}, which explains the patient's presentation. Genetic counselling is recommended for "
                "the family.")
    return (f"No pathogenic or likely pathogenic variant explains the presentation. The best candidate, {top.gene} "
            f"{changes}, is of uncertain significance and is reported for follow-up.")


def _interpret_and_report(ctx: NodeContext, case: _Case, sources: dict[str, Any], out: Path, genes: int,
                          say: Callable[[str], None]) -> FamilyResult:
    family = case.family
    outcome = interpret_case(ctx, BIOLOGIST, case_reference=case.reference, excluded=list(family.case.excluded),
                             **sources)
    counts = outcome.counts
    say(f"{case.reference} interpreted ({family.case.case_id}, {len(outcome.observed)} observed and "
        f"{len(outcome.excluded)} excluded HPO terms): {counts.get('variants', 0):,} calls, "
        f"{counts.get('consequence_pass', 0):,} with a damaging consequence, {outcome.ranked} genes ranked")
    for candidate in outcome.candidates[:SHOWN]:
        say(f"  #{candidate.rank} {candidate.gene:<10} {candidate.acmg_class or 'not classified':<24} "
            f"{candidate.mode}")
        for line in _first_evidence(candidate):
            say(f"      {line}")
    rank = outcome.rank_of(family.gene)
    first = "first" if rank == 1 else (f"at rank {rank}" if rank is not None else "not ranked")
    say(f"  published gene {family.gene}: {first}")
    top = outcome.candidates[0]
    solved = top.acmg_class in SOLVING_CLASSES
    chosen = "solved" if solved else "unsolved"
    draft_clinical_report(ctx, BIOLOGIST, case_reference=case.reference, conclusion=_conclusion(top, solved),
                          outcome=chosen, variants=[v["variant"] for v in top.variants],
                          limitations=[f"Demonstration: the trio's genomes are simulated over the exons of "
                                       f"{genes} genes, with the causal variant(s) of the published case "
                                       f"{family.case.case_id} placed in them."])
    report = sign_clinical_report(ctx, SECOND_BIOLOGIST, case_reference=case.reference)
    exports: dict[str, Path] = {}
    out.mkdir(parents=True, exist_ok=True)
    for fmt, suffix in EXPORTS:
        if fmt == "pdf" and find_chromium() is None:
            continue
        path = out / f"{case.reference}-report-v{report.version}.{suffix}"
        path.write_bytes(export_report(ctx, case_reference=case.reference, fmt=fmt))
        exports[fmt] = path
    say(f"  report v{report.version} drafted by {BIOLOGIST}, signed by {SECOND_BIOLOGIST} ({chosen}, "
        f"sha256 {(report.content_sha256 or '')[:16]}…); exports: {', '.join(str(p) for p in exports.values())}")
    return FamilyResult(family.case.case_id, family.demo.inheritance, family.gene, case.reference, rank,
                        _top(outcome), chosen, report.version, report.status, report.content_sha256, exports)


def _journey(ctx: NodeContext, summary: DemoSummary, say: Callable[[str], None], count: int) -> None:
    say(f"node {ctx.config.node_name} ({ctx.config.country}, {ctx.config.genome_build}) in {ctx.config.home}")
    prepared = prepare_families(ctx.config.home / "simulated", count)
    ctx.config.reference_fasta = str(prepared.reference)
    ctx.config.save()
    say(f"simulated {count} trio(s) over {len(prepared.manifest.genes)} MANE genes (exons), published variants "
        f"placed on a patched synthetic reference; ClinVar subset + {prepared.clinvar_added} published variants")
    _staff(ctx, say)
    rd_cases = _include_families(ctx, prepared, say)
    cancer = patients.include_patient(ctx, PRESCRIBER, national_id=CANCER[0], birth_date=CANCER[1],
                                      sex=CANCER[2]).pseudonym
    consents.give_consent(ctx, PRESCRIBER, pseudonym=cancer, scopes=["diagnosis", "research", "national_sharing"],
                          form_version="PFMG-CA-v3.1")

    for case in rd_cases:
        family = case.family
        prescribed = prescriptions.prescribe(
            ctx, PRESCRIBER, pseudonym=case.proband, indication_code=family.demo.indication, priority="routine",
            hpo_terms=list(family.case.observed), prior_tests=list(family.demo.prior_tests))
        case.reference = prescribed.reference
        say(f"prescribed {prescribed.reference} ({family.demo.indication}, {prescribed.state}) with "
            f"{len(family.case.observed)} published HPO terms")
    ca_case = prescriptions.prescribe(
        ctx, PRESCRIBER, pseudonym=cancer, indication_code="CA-CRC", priority="urgent",
        prior_tests=["Mismatch repair immunohistochemistry or MSI testing"])
    say(f"prescribed {ca_case.reference} (CA-CRC, {ca_case.state})")

    stored_rd = []
    for case in rd_cases:
        family = case.family
        child = samples.add_sample(ctx, PRESCRIBER, case_reference=case.reference, kind="germline",
                                   label=family.child)
        samples.add_sample(ctx, PRESCRIBER, case_reference=case.reference, kind="germline", relative=case.father,
                           label=family.father)
        samples.add_sample(ctx, PRESCRIBER, case_reference=case.reference, kind="germline", relative=case.mother,
                           label=family.mother)
        stored_rd.append(files.store_file(ctx, BIOINFORMATICIAN, sample_label=child.label, path=family.vcf))
    tumour = samples.add_sample(ctx, PRESCRIBER, case_reference=ca_case.reference, kind="tumour", tissue="colon",
                                tumour_cellularity=0.6)
    samples.add_sample(ctx, PRESCRIBER, case_reference=ca_case.reference, kind="normal")
    ca_file = files.store_file(ctx, BIOINFORMATICIAN, sample_label=tumour.label, path=data_file(CANCER_VCF))
    for stored in (*stored_rd, ca_file):
        say(f"stored {stored.original_name} encrypted as {stored.vault_id} ({stored.plaintext_size:,} bytes, "
            f"sha256 {stored.plaintext_sha256[:16]}…)")
    check = ctx.config.staging_dir / "demo-readback.vcf.gz"
    files.read_file(ctx, BIOLOGIST, vault_id=stored_rd[0].vault_id, destination=check)
    check.unlink()

    try:
        prescriptions.advance_case(ctx, BIOLOGIST, rd_cases[0].reference, CaseState.REPORTED)
    except IllegalTransitionError as exc:
        say(f"illegal transition refused: {exc}")
    for case, stored in zip(rd_cases, stored_rd, strict=True):
        outcome = ingest_files(ctx, BIOINFORMATICIAN, vault_ids=[stored.vault_id], reference=prepared.reference)
        say(f"ingested {stored.original_name} ({case.reference}): batch {outcome.batch_id}, {outcome.records:,} "
            f"records, QC {outcome.qc_status}")
        if summary.qc is None:
            summary.qc = outcome
    de_novo = next((p.causal.variant for case in rd_cases for p in case.family.placed
                    if p.pattern is Pattern.DE_NOVO), None)
    if de_novo is not None:
        spec = VariantSpec(de_novo.chrom, de_novo.pos, de_novo.ref, de_novo.alt)
        counts = query_variant(ctx, BIOLOGIST, spec)
        carriers = query_carriers(ctx, BIOLOGIST, spec)
        say(f"cohort lookup of the published de novo {spec.label}: AC {counts.ac}/AN {counts.an}, "
            f"carried by {', '.join(c.sample + ' ' + c.genotype for c in carriers)}")

    sources = knowledge(prepared)
    for case in rd_cases:
        summary.families.append(_interpret_and_report(ctx, case, sources, ctx.config.home / "reports",
                                                     len(prepared.manifest.genes), say))

    if de_novo is not None:
        share_demo(ctx, say, admin=ADMIN, steward=STEWARD, case_reference=rd_cases[0].reference,
                   variant=VariantSpec(de_novo.chrom, de_novo.pos, de_novo.ref, de_novo.alt))

    consents.withdraw_consent(ctx, STEWARD, pseudonym=cancer, scopes=["research"],
                              reason="patient request by letter")
    try:
        files.read_file(ctx, BIOLOGIST, vault_id=ca_file.vault_id, destination=check, purpose=Purpose.RESEARCH)
    except ConsentError as exc:
        say(f"research read refused after withdrawal: {exc}")

    checkpoint_audit(ctx, ADMIN)
    report = verify_audit(ctx, STEWARD)
    with ctx.transaction() as session:
        entries = session.scalar(select(func.count(AuditEntry.seq)))
    for listed in prescriptions.list_cases(ctx, PRESCRIBER):
        summary.add(f"case {listed.reference}  {listed.indication.code:<8} {listed.priority:<8} {listed.state:<10} "
                    f"patient {listed.patient.pseudonym}  samples {len(listed.samples)}")
    for result in summary.families:
        top = result.top[0]
        verdict = "published gene first" if result.gene_rank == 1 else f"published gene rank {result.gene_rank}"
        summary.add(f"{result.case_reference} {result.inheritance:<20} {result.case_id}: top {top['gene']} "
                    f"({top['acmg_class']}); {verdict}; report v{result.report_version} {result.report_status} "
                    f"({result.outcome})")
        for path in result.exports.values():
            summary.add(f"    {path}")
    in_vault = files.list_files(ctx, BIOLOGIST)
    summary.add(f"files in vault: {len(in_vault)} (Crypt4GH, node signing key {ctx.keys.signing_key_id[:12]}…)")
    state = "intact" if report.ok else f"BROKEN: {report.problem}"
    summary.add(f"audit trail: {entries} entries, {state} ({report.checkpoints_checked} signed checkpoints)")
