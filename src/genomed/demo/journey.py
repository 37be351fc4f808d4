"""A demonstration node, walked through the journey a real one sees (``genomed demo``).

Staff accounts with distinct roles; the indications catalogue; a rare-disease trio and a
colorectal cancer patient included under pseudonyms; consents; prescriptions checked for
eligibility; samples; real public GRCh38 VCFs stored encrypted; an analysis and a signed report; a
consent withdrawal that takes effect at once; and an audit trail that verifies. Every step goes
through the same service functions as the CLI, as a named user.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from genomed.access.purpose import Purpose
from genomed.audit.models import AuditEntry
from genomed.catalog import (
    analyses,
    consents,
    families,
    files,
    indications,
    patients,
    prescriptions,
    reports,
    samples,
)
from genomed.catalog.audit_access import checkpoint_audit, verify_audit
from genomed.catalog.cases import CaseState
from genomed.catalog.users import add_user
from genomed.context import NodeContext
from genomed.data import data_file
from genomed.errors import ConsentError, GenomedError, IllegalTransitionError
from genomed.node import init_node
from genomed.simulate.cohort import simulate_trios
from genomed.store.ingestion import IngestOutcome, ingest_files
from genomed.store.service import VariantSpec, query_carriers, query_variant

ADMIN = "admin"
PRESCRIBER = "dr.martin"
BIOLOGIST = "bio.dupont"
SECOND_BIOLOGIST = "bio.bernard"
BIOINFORMATICIAN = "bix.leroy"
STEWARD = "steward.moreau"

# Synthetic identities (never real people): 15-digit, NIR-shaped numbers.
PROBAND = ("2 15 03 69 123 456 78", "2015-03-14", "female")
MOTHER = ("2 84 07 69 123 789 12", "1984-07-02", "female")
FATHER = ("1 82 11 69 456 123 45", "1982-11-23", "male")
CANCER = ("1 61 05 75 111 222 33", "1961-05-09", "male")

CANCER_VCF = "cancer/tumours/T001-COAD.grch38.vcf.gz"


@dataclass
class DemoSummary:
    """What the demo did, printed at its end."""

    lines: list[str] = field(default_factory=list)
    qc: IngestOutcome | None = None

    def add(self, text: str) -> None:
        self.lines.append(text)


def _first_de_novo(truth: Path) -> VariantSpec | None:
    """The first de novo mutation the simulator recorded, as a variant to look up."""
    for family in json.loads(truth.read_text()).get("families", []):
        for item in family.get("de_novo", []):
            return VariantSpec(item["chrom"], int(item["pos"]), item["ref"], item["alt"])
    return None


def run_demo(home: Path, fresh: bool = False, say: Callable[[str], None] = print) -> DemoSummary:
    """Create a demo node in ``home`` and walk it from inclusion to a signed report."""
    if fresh and home.exists():
        shutil.rmtree(home)
    summary = DemoSummary()
    ctx = init_node(home, node_name="genomed demo — Lyon", country="FR", genome_build="GRCh38", admin=ADMIN)
    try:
        _journey(ctx, summary, say)
    finally:
        ctx.close()
    return summary


def _simulate_family(ctx: NodeContext) -> tuple[Path, dict[str, str], str]:
    """A trio sequenced by the 'laboratory': population-genetic simulation over 300 whole MANE genes.

    Returns the trio VCF, the roles of its sample columns, and the child's sex.
    """
    out = ctx.config.home / "simulated"
    manifest = simulate_trios(out, families=1, n_genes=300, mode="genes", seed=2026)
    trio = manifest.trios[0]
    return (out / "trios" / f"{trio['family_id']}.vcf.gz",
            {"child": trio["child"], "father": trio["father"], "mother": trio["mother"]}, trio["child_sex"])


def _journey(ctx: NodeContext, summary: DemoSummary, say: Callable[[str], None]) -> None:
    say(f"node {ctx.config.node_name} ({ctx.config.country}, {ctx.config.genome_build}) in {ctx.config.home}")
    trio_vcf, columns, child_sex = _simulate_family(ctx)
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

    proband, mother, father, cancer = (
        patients.include_patient(ctx, PRESCRIBER, national_id=i, birth_date=d, sex=s).pseudonym
        for i, d, s in ((*PROBAND[:2], child_sex), MOTHER, FATHER, CANCER)
    )
    try:
        patients.include_patient(ctx, PRESCRIBER, national_id=PROBAND[0], birth_date=PROBAND[1], sex=child_sex)
    except GenomedError as exc:
        say(f"second inclusion refused, as it should be: {exc}")
    child_code = "1" if child_sex == "male" else "2"
    ped = (f"FAM-DEMO-1\t{proband}\t{father}\t{mother}\t{child_code}\t2\n"
           f"FAM-DEMO-1\t{father}\t0\t0\t1\t1\nFAM-DEMO-1\t{mother}\t0\t0\t2\t1\n")
    families.import_pedigree(ctx, PRESCRIBER, ped, "demo-family.ped")
    say(f"trio included: proband {proband}, father {father}, mother {mother}; cancer patient {cancer}")

    all_scopes = ["diagnosis", "research", "national_sharing", "international_sharing", "case_matching",
                  "secondary_findings"]
    for person in (proband, mother, father):
        consents.give_consent(ctx, PRESCRIBER, pseudonym=person, scopes=all_scopes, form_version="PFMG-RD-v4.2")
    consents.give_consent(ctx, PRESCRIBER, pseudonym=cancer, scopes=["diagnosis", "research", "national_sharing"],
                          form_version="PFMG-CA-v3.1")

    rd_case = prescriptions.prescribe(
        ctx, PRESCRIBER, pseudonym=proband, indication_code="RD-ID", priority="routine",
        hpo_terms=["HP:0001249", "HP:0001263", "HP:0001250"],
        prior_tests=["Chromosomal microarray", "FMR1 repeat analysis"])
    ca_case = prescriptions.prescribe(
        ctx, PRESCRIBER, pseudonym=cancer, indication_code="CA-CRC", priority="urgent",
        prior_tests=["Mismatch repair immunohistochemistry or MSI testing"])
    say(f"prescribed {rd_case.reference} (RD-ID, {rd_case.state}) and {ca_case.reference} (CA-CRC, {ca_case.state})")

    rd_sample = samples.add_sample(ctx, PRESCRIBER, case_reference=rd_case.reference, kind="germline",
                                   label=columns["child"])
    for parent, role in ((father, "father"), (mother, "mother")):
        samples.add_sample(ctx, PRESCRIBER, case_reference=rd_case.reference, kind="germline", relative=parent,
                           label=columns[role])
    tumour = samples.add_sample(ctx, PRESCRIBER, case_reference=ca_case.reference, kind="tumour", tissue="colon",
                                tumour_cellularity=0.6)
    samples.add_sample(ctx, PRESCRIBER, case_reference=ca_case.reference, kind="normal")

    rd_file = files.store_file(ctx, BIOINFORMATICIAN, sample_label=rd_sample.label, path=trio_vcf)
    ca_file = files.store_file(ctx, BIOINFORMATICIAN, sample_label=tumour.label, path=data_file(CANCER_VCF))
    for stored in (rd_file, ca_file):
        say(f"stored {stored.original_name} encrypted as {stored.vault_id} ({stored.plaintext_size:,} bytes, "
            f"sha256 {stored.plaintext_sha256[:16]}…)")
    check = ctx.config.staging_dir / "demo-readback.vcf.gz"
    files.read_file(ctx, BIOLOGIST, vault_id=rd_file.vault_id, destination=check)
    check.unlink()

    try:
        prescriptions.advance_case(ctx, BIOLOGIST, rd_case.reference, CaseState.REPORTED)
    except IllegalTransitionError as exc:
        say(f"illegal transition refused: {exc}")
    outcome = ingest_files(ctx, BIOINFORMATICIAN, vault_ids=[rd_file.vault_id],
                           reference=trio_vcf.parent.parent / "reference.fa")
    say(f"ingested the trio VCF into the variant store: batch {outcome.batch_id}, {outcome.records:,} records, "
        f"QC {outcome.qc_status}")
    summary.qc = outcome
    de_novo = _first_de_novo(trio_vcf.parent / "de_novo_truth.json")
    if de_novo is not None:
        counts = query_variant(ctx, BIOLOGIST, de_novo)
        carriers = query_carriers(ctx, BIOLOGIST, de_novo)
        say(f"cohort lookup of the simulated de novo {de_novo.label}: AC {counts.ac}/AN {counts.an}, "
            f"carried by {', '.join(c.sample + ' ' + c.genotype for c in carriers)}")
    analyses.record_analysis(ctx, BIOLOGIST, case_reference=rd_case.reference, kind="interpretation",
                             pipeline="genomed-interpret")
    reports.draft_report(ctx, BIOLOGIST, case_reference=rd_case.reference,
                         conclusion="No pathogenic variant found in the genes of the intellectual disability panel.")
    reports.sign_report(ctx, SECOND_BIOLOGIST, case_reference=rd_case.reference)

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
    for case in prescriptions.list_cases(ctx, PRESCRIBER):
        summary.add(f"case {case.reference}  {case.indication.code:<8} {case.priority:<8} {case.state:<10} "
                    f"patient {case.patient.pseudonym}  samples {len(case.samples)}")
    in_vault = files.list_files(ctx, BIOLOGIST)
    summary.add(f"files in vault: {len(in_vault)} (Crypt4GH, node signing key {ctx.keys.signing_key_id[:12]}…)")
    state = "intact" if report.ok else f"BROKEN: {report.problem}"
    summary.add(f"audit trail: {entries} entries, {state} ({report.checkpoints_checked} signed checkpoints)")
