"""Interpreting a catalog case end to end, on SQLite and PostgreSQL.

A simulated family (population-genetic simulation over real MANE genes, with a synthetic reference
that agrees with the gene models) is ingested through the real path: vault, reader, variant store,
catalog. A de novo stop-gain is placed in SYNGAP1 of the child, chosen on the synthetic reference
so that the annotator itself finds the premature stop; the child's HPO terms are those of the
SYNGAP1 disease in the HPO release. The gene must come out on top, with its evidence, an ACMG class
built from the case (de novo, absent from the cohort) and the curators' overrides, and every
refusal (consent, state, unknown HPO term, pedigree contradictions) must name its reason.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from genomed.annotate.clinvar import ClinVar
from genomed.annotate.genetic_code import CODON_TABLE, reverse_complement
from genomed.annotate.mane import Transcript, load_mane
from genomed.annotate.model import Variant
from genomed.annotate.population import GnomadSites
from genomed.audit.models import AuditEntry
from genomed.catalog import analyses, consents, families, files, patients, prescriptions, reports, samples
from genomed.catalog.cases import CaseState
from genomed.catalog.models import Analysis, Candidate, ClassificationOverride, Prescription
from genomed.cli import main
from genomed.context import NodeContext
from genomed.data import data_file
from genomed.errors import AccessDeniedError, ConsentError, InputError, NotFoundError, StateError
from genomed.genome.reference import open_reference
from genomed.interpret import hpo
from genomed.interpret.evaluation.spike import genomic_of_offset
from genomed.interpret.filters import FilterConfig
from genomed.interpret.panels import PanelLibrary, load_panelapp
from genomed.interpret.prioritise import PrioritisationConfig
from genomed.interpret.service import interpret_case, list_candidates, override_criterion
from genomed.simulate import SimulationManifest, simulate_cohort
from genomed.store.ingestion import ingest_files
from oracle import by_variant, count_alleles
from test_catalog import ALL_SCOPES, CHILD, ID_HPO, ID_TESTS, staff, stored_file

GENE = "SYNGAP1"
DISEASE = "OMIM:612621"  # Intellectual developmental disorder, autosomal dominant 5 (SYNGAP1)
SF_GENES = ("LDLR", "MYBPC3", "KCNQ1", "PKP2", "SCN5A")  # ACMG SF v3.1, all reported when heterozygous
COMPETITORS = ("STXBP1", "DYRK1A", "ANKRD11", "SCN2A")  # other dominant intellectual-disability genes
COHORT = 8


@dataclass(frozen=True)
class Family:
    """The simulated files and what the test placed in them."""

    manifest: SimulationManifest
    vcf: Path
    cohort_vcf: Path
    reference: Path
    spike: Variant
    sf_variant: Variant
    sf_gene: str
    clinvar: Path
    panels: Path
    observed: list[str]


def _genes() -> list[str]:
    """The simulated genes: SYNGAP1, its phenotypic competitors, some ACMG SF genes, 30 random others."""
    select_ = [t for t in load_mane() if t.mane_status == "MANE Select" and t.chrom not in ("chrX", "chrY", "chrM")
               and t.cds_end - t.cds_start < 60_000]
    rng = np.random.default_rng(5)
    named = [GENE, *COMPETITORS, *SF_GENES]
    others = [g for g in rng.choice([t.gene_symbol for t in select_], 40, replace=False).tolist() if g not in named]
    return named + sorted(others)[:30]


def _mane(symbol: str) -> Transcript:
    return next(t for t in load_mane() if t.gene_symbol == symbol and t.mane_status == "MANE Select")


def _stop_gain(reference: Path, transcript: Transcript, taken: set[tuple[str, int]]) -> Variant:
    """The first SNV in the first 40% of the CDS that turns a codon of the synthetic reference into a stop."""
    genome = open_reference(reference, "GRCh38")
    plus = transcript.strand == "+"
    cds_length = sum(end - start for start, end in transcript.cds_exons())
    for first in range(60, int(cds_length * 0.4), 3):
        positions = [genomic_of_offset(transcript, first + i) for i in range(3)]
        bases = [genome.fetch(transcript.chrom, p, p + 1) for p in positions]
        codon = "".join(bases if plus else [reverse_complement(b) for b in bases])
        if CODON_TABLE.get(codon, "*") == "*":
            continue
        for i, pos0 in enumerate(positions):
            if (transcript.chrom, pos0 + 1) in taken:
                continue
            for base in "ACGT":
                mutated = codon[:i] + base + codon[i + 1:]
                if base != codon[i] and CODON_TABLE[mutated] == "*":
                    alt = base if plus else reverse_complement(base)
                    return Variant(transcript.chrom, pos0 + 1, bases[i], alt)
    raise AssertionError(f"no stop-gain SNV found in {transcript.gene_symbol}")


def _insert_record(source: Path, target: Path, record: str, variant: Variant) -> None:
    """The trio VCF with one more record, kept in coordinate order (written as plain VCF)."""
    lines = gzip.decompress(source.read_bytes()).decode().splitlines()
    contigs = [line.split("ID=")[1].split(",")[0] for line in lines if line.startswith("##contig")]
    order = {c: i for i, c in enumerate(contigs)}
    key = (order[variant.chrom], variant.pos)
    out, placed = [], False
    for line in lines:
        if not placed and not line.startswith("#"):
            chrom, pos = line.split("\t", 2)[:2]
            if (order[chrom], int(pos)) > key:
                out.append(record)
                placed = True
        out.append(line)
    if not placed:
        out.append(record)
    target.write_text("\n".join(out) + "\n")


def _child_variant_in(vcf: Path, transcript: Transcript) -> Variant | None:
    """A SNV the child carries heterozygous with good quality inside the gene's CDS, if any."""
    for line in gzip.decompress(vcf.read_bytes()).decode().splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        chrom, pos, ref, alt = fields[0], int(fields[1]), fields[3], fields[4]
        child = fields[9].split(":")
        inside = any(start < pos <= end for start, end in transcript.cds_exons())
        if chrom == transcript.chrom and inside and len(ref) == len(alt) == 1 and child[0] in ("0/1", "1/0") \
                and int(child[3]) >= 30:
            return Variant(chrom, pos, ref, alt)
    return None


def _clinvar_jsonl(path: Path, sf: tuple[str, Variant], syngap: Transcript) -> Path:
    """The real ClinVar subset, plus stand-ins for records the real release has and the subset lacks.

    The stand-ins: three pathogenic SYNGAP1 nonsense variants (the real release has hundreds; they
    make loss of function a known mechanism, for PVS1), and the child's inherited variant in an ACMG
    SF gene recorded pathogenic with two stars (a secondary finding to report).
    """
    lines = data_file("clinvar/clinvar-subset.GRCh38.jsonl").read_text().splitlines()

    def record(accession: str, name: str, variant: Variant, significance: str, status: str) -> str:
        return json.dumps({
            "accession": {"accession": accession, "version": 1}, "name": name,
            "classifications": {"germlineClassification": {"reviewStatus": status, "description": significance}},
            "sequenceLocation": {"assembly": "GRCh38", "chr": variant.chrom.removeprefix("chr"),
                                 "positionVcf": variant.pos, "referenceAlleleVcf": variant.ref,
                                 "alternateAlleleVcf": variant.alt}})

    multiple = "AGGREGATE_GERMLINE_REVIEW_STATUS_CRITERIA_PROVIDED_MULTIPLE_SUBMITTERS_NO_CONFLICTS"
    cds = syngap.cds_exons()
    for n, codon in enumerate((150, 300, 450)):
        pos0 = genomic_of_offset(syngap, 3 * codon)
        assert any(s <= pos0 < e for s, e in cds)
        lines.append(record(f"VCV90000000{n}", f"{syngap.refseq_id}(SYNGAP1):c.{3 * codon + 1}C>T "
                                               f"(p.Gln{codon + 1}Ter)",
                            Variant(syngap.chrom, pos0 + 1, "C", "T"), "Pathogenic", multiple))
    gene, variant = sf
    lines.append(record("VCV900000010", f"NM_000000.1({gene}):c.100A>G (p.Lys34Glu)", variant, "Pathogenic",
                        multiple))
    path.write_text("\n".join(lines) + "\n")
    return path


def _panel_json(path: Path, genes: list[str]) -> Path:
    """An intellectual-disability panel in PanelApp's API JSON, two versions (the newer adds genes)."""
    def panel(version: str, symbols: list[str]) -> str:
        return json.dumps({"id": 285, "name": "Intellectual disability", "version": version, "genes": [
            {"entity_type": "gene", "entity_name": s, "confidence_level": "3",
             "mode_of_inheritance": "MONOALLELIC, autosomal or pseudoautosomal, imprinted status unknown",
             "gene_data": {"gene_symbol": s, "hgnc_id": None}} for s in symbols]})

    path.write_text(panel("3.0", genes[:2]) + "\n" + panel("3.1", genes) + "\n")
    return path


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Family:
    out = tmp_path_factory.mktemp("family")
    manifest = simulate_cohort(out / "sim", COHORT, genes=_genes(), trios=1, seed=11, min_de_novo=1)
    trio = manifest.trios[0]
    original = manifest.path(f"trio:{trio['family_id']}")
    reference = manifest.path("reference")
    taken = {(line.split("\t")[0], int(line.split("\t")[1]))
             for line in gzip.decompress(original.read_bytes()).decode().splitlines() if not line.startswith("#")}
    syngap = _mane(GENE)
    spike = _stop_gain(reference, syngap, taken)
    vcf = out / f"{trio['family_id']}-spiked.vcf"
    record = "\t".join([spike.chrom, str(spike.pos), ".", spike.ref, spike.alt, "120", "PASS", "AC=1;AN=6;DP=96",
                        "GT:AD:DP:GQ", "0/1:16,15:31:99", "0/0:33,0:33:99", "0/0:32,0:32:99"])
    _insert_record(original, vcf, record, spike)
    sf = next((g, v) for g in SF_GENES if (v := _child_variant_in(original, _mane(g))) is not None)
    disease = hpo.disease(DISEASE)
    release = hpo.load_release()
    terms = sorted(t for t in disease.terms if hpo.PHENOTYPIC_ABNORMALITY in release.ancestors(t))
    return Family(manifest=manifest, vcf=vcf, cohort_vcf=manifest.path("cohort_vcf"), reference=reference,
                  spike=spike, sf_variant=sf[1], sf_gene=sf[0],
                  clinvar=_clinvar_jsonl(out / "clinvar.jsonl", sf, syngap),
                  panels=_panel_json(out / "panels.jsonl", [GENE, *COMPETITORS]), observed=terms[:6])


@dataclass(frozen=True)
class Case:
    reference: str
    child: str
    father: str
    mother: str
    sibling: str


def _include(ctx: NodeContext, national_id: str, birth: str, sex: str) -> str:
    return patients.include_patient(ctx, "presc", national_id=national_id, birth_date=birth, sex=sex).pseudonym


def ingested_family(ctx: NodeContext, family: Family) -> Case:
    """Staff, a cohort of other patients and the trio (plus an unsequenced sibling), all ingested."""
    staff(ctx)
    ctx.config.reference_fasta = str(family.reference)
    ctx.config.save()  # the CLI opens the node from its home
    for i, (label, sex) in enumerate(family.manifest.samples):
        pseudonym = _include(ctx, f"1{i:02d}0101{i:05d}77", "1980-01-01", sex)
        consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=["diagnosis"], form_version="v4")
        case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID",
                                       hpo_terms=ID_HPO, prior_tests=ID_TESTS,
                                       justification="adult relative screened at the multidisciplinary meeting")
        samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline", label=label)
    cohort_file = files.store_file(ctx, "bix", sample_label=family.manifest.samples[0][0], path=family.cohort_vcf)
    ingest_files(ctx, "bix", vault_ids=[cohort_file.vault_id])

    trio = family.manifest.trios[0]
    child = _include(ctx, CHILD["national_id"], CHILD["birth_date"], trio["child_sex"])
    father = _include(ctx, "182116945612345", "1982-11-23", "male")
    mother = _include(ctx, "284076912378912", "1984-07-02", "female")
    sibling = _include(ctx, "213036912345699", "2013-03-01", "female")
    code = "1" if trio["child_sex"] == "male" else "2"
    families.import_pedigree(ctx, "presc", f"FAMX {child} {father} {mother} {code} 2\nFAMX {father} 0 0 1 1\n"
                                           f"FAMX {mother} 0 0 2 1\nFAMX {sibling} {father} {mother} 2 1\n", "f.ped")
    consents.give_consent(ctx, "presc", pseudonym=child, scopes=ALL_SCOPES, form_version="v4")
    for relative in (father, mother, sibling):
        consents.give_consent(ctx, "presc", pseudonym=relative, scopes=["diagnosis"], form_version="v4")
    case = prescriptions.prescribe(ctx, "presc", pseudonym=child, indication_code="RD-ID",
                                   hpo_terms=family.observed, prior_tests=ID_TESTS)
    samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline", label=trio["child"])
    samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline", label=trio["father"],
                       relative=father)
    samples.add_sample(ctx, "presc", case_reference=case.reference, kind="germline", label=trio["mother"],
                       relative=mother)
    stored = files.store_file(ctx, "bix", sample_label=trio["child"], path=family.vcf)
    ingest_files(ctx, "bix", vault_ids=[stored.vault_id])
    return Case(case.reference, child, father, mother, sibling)


def knowledge(family: Family) -> dict[str, object]:
    return {"clinvar": ClinVar.load(family.clinvar),
            "gnomad": GnomadSites(data_file("population/gnomad-fixtures/gnomad-exomes-grch38-v4.0.vcf")),
            "panel_library": PanelLibrary([*load_panelapp(family.panels)])}


def audit_entries(ctx: NodeContext, action: str) -> list[AuditEntry]:
    with ctx.transaction() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_a_de_novo_stop_gain_in_the_phenotype_gene_ranks_first(node: NodeContext, family: Family,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    case = ingested_family(node, family)
    sources = knowledge(family)
    outcome = interpret_case(node, "bio", case_reference=case.reference, **sources)  # type: ignore[arg-type]

    assert outcome.rank_of(GENE) is not None and outcome.rank_of(GENE) <= 3, [c.gene for c in outcome.candidates]
    top = next(c for c in outcome.candidates if c.gene == GENE)
    variant = next(v for v in top.variants if v["variant"] == family.spike.name)
    assert variant["consequence"] == "stop_gained" and variant["zygosity"] == "heterozygous"
    assert variant["hgvs_p"] and "Ter" in variant["hgvs_p"]
    assert variant["de_novo"] and top.mode == "AD"
    assert variant["frequencies"]["looked_up"] and variant["frequencies"]["max_af"] == 0
    acmg = variant["acmg"]
    applied = set(acmg["applied"])
    # Parentage confirmed by the ingest's Mendelian check: de novo counts as confirmed (PS2), not assumed.
    assert {"PVS1", "PS2", "PM2_Supporting"} <= applied and acmg["points"] == 13
    assert top.acmg_class == acmg["class"] == "Pathogenic"
    assert any("de novo" in line for line in top.evidence)
    assert top.details["phenotype"]["disease_id"] in {d.id for d in hpo.gene_diseases(GENE)}

    # Who was analysed, and what was said about who was not.
    assert [m["role"] for m in outcome.members] == ["proband", "father", "mother"]
    assert any(case.sibling in w and "no germline sample" in w for w in outcome.warnings)

    # Secondary findings: consented, so the pathogenic variant in an ACMG SF gene is reported.
    assert outcome.secondary_findings_sought
    assert [(f.gene, f.variant) for f in outcome.secondary_findings] == [(family.sf_gene, family.sf_variant.name)]

    # What the catalog holds: the analysis with its provenance, the candidates, the audit, the state.
    with node.transaction() as session:
        analysis = session.get(Analysis, outcome.analysis_id)
        assert analysis is not None and analysis.kind == "interpretation"
        releases = analysis.provenance["knowledge"]
        assert {"HPO", "ClinVar", "MANE"} <= set(releases) and any(k.startswith("gnomAD") for k in releases)
        assert any(k.startswith("genomed cohort") for k in releases)
        assert analysis.parameters["filters"]["max_af_dominant"] == 0.001
        assert analysis.parameters["observed"] == family.observed
        assert session.scalar(select(func.count(Candidate.id)).where(Candidate.analysis_id == analysis.id)) == \
            len(outcome.candidates)
        prescription = session.scalar(select(Prescription).where(Prescription.reference == case.reference))
        assert prescription is not None and prescription.state == CaseState.INTERPRETED.value
    assert not list(node.config.staging_dir.glob("interpret-*"))
    entry = audit_entries(node, "case.interpret")[-1]
    assert entry.actor == "bio" and entry.object_id == case.reference

    # A curator's override: refused without a comment, then stored, audited and applied to the class.
    with pytest.raises(InputError, match="needs a comment"):
        override_criterion(node, "bio", case_reference=case.reference, variant=family.spike.name, criterion="PVS1",
                           applied=False, comment="  ")
    with pytest.raises(AccessDeniedError):
        override_criterion(node, "bix", case_reference=case.reference, variant=family.spike.name, criterion="PVS1",
                           applied=False, comment="bioinformaticians do not curate")
    done = override_criterion(node, "bio", case_reference=case.reference, variant=family.spike.name,
                              criterion="pvs1", applied=True, strength="strong",
                              comment="last-exon rule reviewed: truncation removes the SH3-binding domain only")
    assert (done.previous_class, done.criterion) == ("Pathogenic", "PVS1")
    assert done.new_class == "Likely pathogenic"  # PVS1_Strong 4 + PS2 4 + PM2_Supporting 1 = 9 points
    done = override_criterion(node, "bio", case_reference=case.reference, variant=family.spike.name,
                              criterion="PVS1", applied=False, comment="curator: mechanism disputed for this exon")
    assert done.new_class == "Uncertain significance"  # PS2 4 + PM2_Supporting 1 = 5 points
    audited = audit_entries(node, "acmg.override")
    assert len(audited) == 2 and all(e.actor == "bio" for e in audited)
    assert json.loads(audited[-1].details)["new_class"] == done.new_class
    with node.transaction() as session:
        assert session.scalar(select(func.count(ClassificationOverride.id))) == 2
    with pytest.raises(InputError, match="not a candidate variant"):
        override_criterion(node, "bio", case_reference=case.reference, variant="chr1-1000-A-G", criterion="PM2",
                           applied=False, comment="typo")

    # Both parents withdraw their diagnosis consent: their genotypes are no longer read, the case is
    # analysed as a singleton (so every private heterozygous variant is a dominant candidate), and the
    # phenotype still puts SYNGAP1 on top. Frequency filters opened wide so that variants the rest of
    # the cohort carries compete too: their cohort counts leave the family out (checked by the oracle).
    for parent in (case.father, case.mother):
        consents.withdraw_consent(node, "steward", pseudonym=parent, scopes=["diagnosis"], reason="letter")
    wide = PrioritisationConfig(filters=FilterConfig(max_af_dominant=0.3, max_af_recessive=0.3))
    alone = interpret_case(node, "bio", case_reference=case.reference, config=wide, top=50,
                           **sources)  # type: ignore[arg-type]
    assert [m["role"] for m in alone.members] == ["proband"]
    assert sum("no diagnosis consent in force" in w for w in alone.warnings) == 2
    assert alone.ranked >= 10 and alone.rank_of(GENE) is not None and alone.rank_of(GENE) <= 3, alone.ranked
    lone = next(v for c in alone.candidates if c.gene == GENE for v in c.variants if v["variant"] == family.spike.name)
    assert not ({"PS2", "PM6"} & set(lone["acmg"]["applied"])) and not lone["de_novo"]
    truth = by_variant(count_alleles(family.cohort_vcf))
    compared = 0
    for candidate in alone.candidates:
        for v in candidate.variants:
            cohort = [f for f in v["frequencies"]["sources"] if f["source"].startswith("genomed cohort")]
            key = (v["chrom"], v["pos"], v["ref"], v["alt"])
            if cohort and key in truth:
                assert (cohort[0]["ac"], cohort[0]["an"]) == truth[key][:2], key
                compared += 1
    assert compared >= 1
    for parent in (case.father, case.mother):
        consents.give_consent(node, "presc", pseudonym=parent, scopes=["diagnosis"], form_version="v5")

    # A panel version that does not exist is named; an existing one is pinned.
    with pytest.raises(NotFoundError, match="no version 9.9.*3.0, 3.1"):
        interpret_case(node, "bio", case_reference=case.reference, panel="285@9.9", **sources)  # type: ignore[arg-type]

    # Re-run through the CLI, after the patient withdrew the secondary-findings consent: the override
    # applies, the panel is pinned at its newest version, and no secondary finding is sought.
    consents.withdraw_consent(node, "steward", pseudonym=case.child, scopes=["secondary_findings"],
                              reason="patient request by letter")
    home = node.config.home
    code = main(["--home", str(home), "--user", "bio", "case", "interpret", case.reference, "--panel", "285",
                 "--clinvar", str(family.clinvar), "--panels", str(family.panels)])
    assert code == 0
    with node.transaction() as session:
        prescription = session.scalar(select(Prescription).where(Prescription.reference == case.reference))
        assert prescription is not None and (prescription.panel_id, prescription.panel_version) == ("285", "3.1")
    stored = list_candidates(node, "bio", case_reference=case.reference)
    assert stored.analysis_id != outcome.analysis_id and stored.candidates[0].gene == GENE
    assert {c.gene for c in stored.candidates} <= {GENE, *COMPETITORS}
    assert stored.candidates[0].acmg_class == done.new_class
    pvs1 = next(c for c in stored.candidates[0].variants[0]["acmg"]["criteria"] if c["code"] == "PVS1")
    assert not pvs1["applied"] and pvs1["curator"] == "bio" and pvs1["automated"]["applied"]
    assert stored.secondary_findings["sought"] is False
    assert "did not consent" in stored.secondary_findings["note"]
    out = capsys.readouterr().out
    assert GENE in out and "did not consent" in out

    # The CLI reads the stored candidates and records an override as the biologist.
    assert main(["--home", str(home), "--user", "bio", "case", "candidates", case.reference]) == 0
    out = capsys.readouterr().out
    assert GENE in out and family.spike.name in out
    assert main(["--home", str(home), "--user", "bio", "case", "override", case.reference, family.spike.name, "PM2",
                 "--not-applied", "--comment", "seen in our unpublished local controls"]) == 0
    assert "PM2 not applied" in capsys.readouterr().out
    assert len(audit_entries(node, "acmg.override")) == 3

    # Once reported, a new run is a reanalysis and moves the case to reanalysed.
    reports.draft_report(node, "bio", case_reference=case.reference, conclusion="SYNGAP1 de novo stop-gain.")
    reports.sign_report(node, "bio2", case_reference=case.reference)
    again = interpret_case(node, "bix", case_reference=case.reference, **sources)  # type: ignore[arg-type]
    assert (again.kind, again.state) == ("reanalysis", CaseState.REANALYSED.value)
    assert again.panel is not None and again.panel.endswith("v3.1") and again.candidates[0].gene == GENE


def _analysed_case(ctx: NodeContext, tmp_path: Path) -> tuple[str, str]:
    """A consented child's case moved to analysed without a real ingest (cheap: for the refusals)."""
    staff(ctx)
    pseudonym = _include(ctx, CHILD["national_id"], CHILD["birth_date"], CHILD["sex"])
    consents.give_consent(ctx, "presc", pseudonym=pseudonym, scopes=ALL_SCOPES, form_version="v4")
    case = prescriptions.prescribe(ctx, "presc", pseudonym=pseudonym, indication_code="RD-ID", hpo_terms=ID_HPO,
                                   prior_tests=ID_TESTS)
    stored_file(ctx, case, tmp_path / "calls.vcf", "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\t"
                                                   "INFO\n")
    analyses.record_analysis(ctx, "bix", case_reference=case.reference, kind="ingest", pipeline="test")
    return case.reference, pseudonym


def test_refusals_name_their_reason(node: NodeContext, tmp_path: Path) -> None:
    reference, pseudonym = _analysed_case(node, tmp_path)
    with pytest.raises(InputError, match="unknown observed term.*HP:9999999"):
        interpret_case(node, "bio", case_reference=reference, observed=["HP:0001249", "HP:9999999"])
    with pytest.raises(InputError, match="both observed and excluded: HP:0001249"):
        interpret_case(node, "bio", case_reference=reference, excluded=["HP:0001249"])
    with pytest.raises(AccessDeniedError, match="interpret_case"):
        interpret_case(node, "res", case_reference=reference)
    with pytest.raises(NotFoundError, match="no case"):
        interpret_case(node, "bio", case_reference="FR-2026-999999")
    consents.withdraw_consent(node, "steward", pseudonym=pseudonym, scopes=["diagnosis"], reason="letter")
    with pytest.raises(ConsentError, match="diagnosis consent.*withdrawn"):
        interpret_case(node, "bio", case_reference=reference)
    with node.transaction() as session:
        assert session.scalar(select(func.count(Analysis.id)).where(Analysis.kind == "interpretation")) == 0


def test_a_case_not_yet_analysed_is_refused(node: NodeContext) -> None:
    staff(node)
    pseudonym = _include(node, CHILD["national_id"], CHILD["birth_date"], CHILD["sex"])
    consents.give_consent(node, "presc", pseudonym=pseudonym, scopes=["diagnosis"], form_version="v4")
    case = prescriptions.prescribe(node, "presc", pseudonym=pseudonym, indication_code="RD-ID", hpo_terms=ID_HPO,
                                   prior_tests=ID_TESTS)
    with pytest.raises(StateError, match="is consented: interpretation needs an analysed case"):
        interpret_case(node, "bio", case_reference=case.reference)


def test_a_father_recorded_female_is_an_error_not_a_silent_drop(node: NodeContext, tmp_path: Path) -> None:
    reference, child = _analysed_case(node, tmp_path)
    father = _include(node, "284076912378912", "1984-07-02", "female")
    families.import_pedigree(node, "presc", f"F1 {child} {father} 0 2 2\nF1 {father} 0 0 0 1\n", "f.ped")
    with pytest.raises(InputError, match=f"{father} is the father .* recorded female"):
        interpret_case(node, "bio", case_reference=reference)
