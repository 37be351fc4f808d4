"""``genomed demo``: published families carried from prescription to a signed, exported report.

The fast test runs the CLI with one family (the de novo POGZ case) and then reads the node it left
behind: the published gene must rank first with the published protein change found by the
annotator itself, the report must be signed by a second biologist and its exports must validate.
The placement helpers (Mendelian genotypes, patched reference, ordered VCF) are checked on small
files, for every inheritance pattern the full demo uses.
"""

from __future__ import annotations

import doctest
import gzip
import json
from pathlib import Path

import pysam
import pytest

from genomed.annotate.model import Variant
from genomed.catalog.audit_access import verify_audit
from genomed.catalog.prescriptions import list_cases
from genomed.cli import main
from genomed.demo import journey
from genomed.demo.families import DEMO_CASES, published_cases
from genomed.errors import InputError
from genomed.interpret.service import list_candidates
from genomed.node import open_node
from genomed.report.content import Outcome, ReportStatus
from genomed.report.pdf import find_chromium
from genomed.report.phenopacket import validate_phenopacket_json
from genomed.report.service import report_content
from genomed.simulate import placement
from genomed.simulate.placement import (
    Pattern,
    Placement,
    patch_fasta,
    place_variants,
    seed_for_child_sexes,
    trio_child_sexes,
    trio_genotypes,
)


def test_doctests() -> None:
    assert doctest.testmod(placement).failed == 0


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo") / "node"
    assert main(["demo", "--home", str(home), "--fresh", "--families", "1"]) == 0
    return home


def test_the_demo_carries_a_published_de_novo_case_to_a_signed_report(demo_home: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    published = published_cases([DEMO_CASES[0].case_id])[DEMO_CASES[0].case_id]
    causal = published.causal[0]
    ctx = open_node(demo_home)
    try:
        rd = [c for c in list_cases(ctx, journey.PRESCRIBER) if c.indication.code.startswith("RD-")]
        assert len(rd) == 1
        reference = rd[0].reference
        assert rd[0].state == "reported"
        assert sorted(rd[0].hpo_terms) == sorted(published.observed)

        stored = list_candidates(ctx, journey.BIOLOGIST, case_reference=reference)
        top = stored.candidates[0]
        assert top.gene == causal.gene == "POGZ"
        variant = next(v for v in top.variants if v["variant"] == causal.variant.name)
        # The annotator found the published change on the patched synthetic reference by itself.
        assert variant["hgvs_c"] == causal.hgvs_c and variant["hgvs_p"] == causal.hgvs_p
        assert variant["zygosity"] == "heterozygous" and variant["de_novo"]
        assert top.acmg_class == "Pathogenic" and "PVS1" in variant["acmg"]["applied"]
        assert stored.parameters["excluded"] == list(published.excluded)

        content = report_content(ctx, case_reference=reference)
        assert content.status is ReportStatus.SIGNED
        assert content.drafted_by.startswith("Dr Paul Dupont") and content.signed_by is not None \
            and content.signed_by.startswith("Dr Anne Bernard")
        assert content.conclusion.outcome is Outcome.SOLVED
        assert [(v.gene_symbol, v.hgvs_c) for v in content.variants] == [("POGZ", causal.hgvs_c)]
        assert {t.id for t in content.observed_phenotypes} <= set(published.observed)
        assert verify_audit(ctx, journey.STEWARD).ok
    finally:
        ctx.close()

    reports = demo_home / "reports"
    packet_path = reports / f"{reference}-report-v1.phenopacket.json"
    packet = validate_phenopacket_json(packet_path.read_text())
    genomic = packet.interpretations[0].diagnosis.genomic_interpretations[0]
    assert genomic.variant_interpretation.variation_descriptor.vcf_record.pos == causal.variant.pos
    assert packet.interpretations[0].progress_status == packet.interpretations[0].SOLVED
    observed = {f["type"]["id"] for f in json.loads(packet_path.read_text())["phenotypicFeatures"]
                if not f.get("excluded")}
    assert observed and observed <= set(published.observed)
    fhir = json.loads((reports / f"{reference}-report-v1.fhir.json").read_text())
    assert fhir["resourceType"] == "Bundle"
    assert "POGZ" in (reports / f"{reference}-report-v1.html").read_text()
    pdf = reports / f"{reference}-report-v1.pdf"
    assert pdf.is_file() == (find_chromium() is not None)
    if pdf.is_file():
        assert pdf.read_bytes().startswith(b"%PDF")


def test_the_report_shows_the_excluded_terms_the_interpretation_used(demo_home: Path) -> None:
    published = published_cases([DEMO_CASES[0].case_id])[DEMO_CASES[0].case_id]
    ctx = open_node(demo_home)
    try:
        reference = next(c.reference for c in list_cases(ctx, journey.PRESCRIBER) if c.indication.code == "RD-ID")
        content = report_content(ctx, case_reference=reference)
    finally:
        ctx.close()
    assert {t.id for t in content.excluded_phenotypes} <= set(published.excluded)
    assert len(content.excluded_phenotypes) >= len(published.excluded) - 5  # obsolete terms may be replaced
    packet = json.loads((demo_home / "reports" / f"{reference}-report-v1.phenopacket.json").read_text())
    assert any(f.get("excluded") for f in packet["phenotypicFeatures"])


def test_the_demo_trio_carries_the_published_variant_de_novo_on_an_agreeing_reference(demo_home: Path) -> None:
    causal = published_cases([DEMO_CASES[0].case_id])[DEMO_CASES[0].case_id].causal[0]
    v = causal.variant
    simulated = demo_home / "simulated"
    manifest = json.loads((simulated / "simulation" / "manifest.json").read_text())
    assert [t["child_sex"] for t in manifest["trios"]] == trio_child_sexes(manifest["seed"], 1) == ["female"]
    with pysam.FastaFile(str(simulated / "reference.fa")) as fasta:
        record = next(n for n in fasta.references if n.startswith(f"{v.chrom}:")
                      and int(n.split(":")[1].split("-")[0]) <= v.pos <= int(n.split("-")[1]))
        start = int(record.split(":")[1].split("-")[0])
        assert fasta.fetch(record, v.pos - start, v.pos - start + len(v.ref)) == v.ref
    with pysam.VariantFile(str(simulated / "FAM001.vcf.gz")) as vcf:
        found = [r for r in vcf.fetch(v.chrom, v.pos - 1, v.pos) if r.pos == v.pos]
        assert len(found) == 1 and found[0].alts == (v.alt,)
        genotypes = [found[0].samples[s]["GT"] for s in ("FAM001-P", "FAM001-F", "FAM001-M")]
        assert genotypes == [(0, 1), (0, 0), (0, 0)]


def test_the_demo_cases_are_the_inheritance_patterns_they_claim() -> None:
    cases = published_cases([d.case_id for d in DEMO_CASES])
    de_novo, recessive, x_linked = (cases[d.case_id] for d in DEMO_CASES)
    assert [c.zygosity for c in de_novo.causal] == ["heterozygous"]
    assert len(recessive.genes) == 1 and (
        [c.zygosity for c in recessive.causal] in (["homozygous"], ["heterozygous", "heterozygous"]))
    assert x_linked.sex == "male" and [c.zygosity for c in x_linked.causal] == ["hemizygous"]
    assert all(c.variant.chrom == "chrX" for c in x_linked.causal)
    assert all(c.excluded for c in cases.values()), "each case shows excluded terms too"


# ------------------------------------------------------------------------------------- placement helpers

def _tiny_vcf(path: Path) -> Path:
    header = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=248956422>", "##contig=<ID=chrX,length=156040895>",
              '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
              '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
              '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
              '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP\tF\tM"]
    rows = [("chr1", 105, "AC", "A"), ("chr1", 150, "G", "T"), ("chrX", 120, "C", "T")]
    body = ["\t".join([c, str(p), ".", r, a, "50", "PASS", ".", "GT:AD:DP:GQ", "0/1:10,10:20:99",
                      "0/0:20,0:20:99", "0/1:10,10:20:99"]) for c, p, r, a in rows]
    path.write_text("\n".join(header + body) + "\n")
    return path


def test_placements_are_mendelian_ordered_and_clear_stale_records(tmp_path: Path) -> None:
    hom = Placement(Variant("chr1", 130, "C", "T"), trio_genotypes(Pattern.HOMOZYGOUS, "female"))
    paternal = Placement(Variant("chr1", 106, "C", "G"), trio_genotypes(Pattern.PATERNAL, "female"))
    maternal = Placement(Variant("chr1", 200, "T", "A"), trio_genotypes(Pattern.MATERNAL, "female"))
    hemi = Placement(Variant("chrX", 110, "G", "A"), trio_genotypes(Pattern.HEMIZYGOUS, "male"))
    out = place_variants(_tiny_vcf(tmp_path / "trio.vcf"), tmp_path / "placed.vcf.gz",
                         [maternal, hemi, hom, paternal], cleared=[("chr1", 149)])
    assert out == tmp_path / "placed.vcf.gz" and Path(f"{out}.tbi").is_file()
    with pysam.VariantFile(str(out)) as vcf:
        records = [(r.chrom, r.pos, tuple(r.samples[s]["GT"] for s in ("P", "F", "M"))) for r in vcf]
    # chr1:105 AC>A covers the placed chr1:106 and chr1:150 sits on a cleared base: both dropped.
    assert records == [("chr1", 106, ((0, 1), (0, 1), (0, 0))), ("chr1", 130, ((1, 1), (0, 1), (0, 1))),
                       ("chr1", 200, ((0, 1), (0, 0), (0, 1))), ("chrX", 110, ((1,), (0,), (0, 1))),
                       ("chrX", 120, ((0, 1), (0, 0), (0, 1)))]
    line = next(x for x in gzip.decompress(out.read_bytes()).decode().splitlines() if x.startswith("chrX\t110"))
    assert line.split("\t")[7] == "AC=2;AN=4;DP=96" and line.split("\t")[9] == "1:0,32:32:99"

    with pytest.raises(InputError, match="needs a male child"):
        trio_genotypes(Pattern.HEMIZYGOUS, "female")
    with pytest.raises(InputError, match="2 genotypes for 3 samples"):
        place_variants(tmp_path / "trio.vcf", tmp_path / "x.vcf.gz", [Placement(hom.variant, ("0/1", "0/0"))])
    with pytest.raises(InputError, match="declares no contig chr2"):
        place_variants(tmp_path / "trio.vcf", tmp_path / "x.vcf.gz",
                       [Placement(Variant("chr2", 5, "A", "G"), hom.genotypes)])
    with pytest.raises(InputError, match=r"name it \.vcf\.gz"):
        place_variants(tmp_path / "trio.vcf", tmp_path / "x.vcf", [hom])


def test_a_patched_reference_holds_the_new_bases_and_refuses_positions_it_lacks(tmp_path: Path) -> None:
    source = tmp_path / "ref.fa"
    source.write_text(">chr1:101-160\n" + "A" * 60 + "\n>chrX:1001-1010\nCCCCCCCCCC\n")
    target = patch_fasta(source, tmp_path / "patched.fa", {("chr1", 100): "g", ("chr1", 159): "T", ("chrX", 1004): "G"},
                         line_width=25)
    with pysam.FastaFile(str(target)) as fasta:
        assert fasta.fetch("chr1:101-160") == "G" + "A" * 58 + "T"
        assert fasta.fetch("chrX:1001-1010") == "CCCCGCCCCC"
    with pytest.raises(InputError, match="outside every region of ref.fa: chr1:161"):
        patch_fasta(source, tmp_path / "bad.fa", {("chr1", 160): "G"})
    assert not (tmp_path / "bad.fa").exists()
    with pytest.raises(InputError, match="must be A, C, G or T: chr1:101=N"):
        patch_fasta(source, tmp_path / "bad.fa", {("chr1", 100): "N"})


def test_seeds_are_chosen_for_the_children_the_cases_need() -> None:
    seed = seed_for_child_sexes(["female", "female", "male"], 2026)
    assert seed >= 2026 and trio_child_sexes(seed, 3) == ["female", "female", "male"]
    with pytest.raises(InputError, match="'male' or 'female', got unknown"):
        seed_for_child_sexes(["unknown"])
    with pytest.raises(InputError, match="no child sexes"):
        seed_for_child_sexes([])


@pytest.mark.slow
def test_all_demo_families_put_the_published_gene_first(tmp_path: Path) -> None:
    summary = journey.run_demo(tmp_path / "node", say=lambda line: None)
    assert [f.gene for f in summary.families] == ["POGZ", "GTPBP2", "FGD1"]
    assert all(f.gene_rank == 1 and f.outcome == "solved" and f.report_status == "signed" for f in summary.families)
    assert all(f.exports["phenopacket"].is_file() for f in summary.families)


def test_the_demo_shares_under_the_guard_and_revokes_at_once(demo_home: Path) -> None:
    """The sharing chapter left its traces: documents loaded, a case offered, and the access grant's life audited."""
    from sqlalchemy import select

    from genomed.audit.models import AuditEntry
    from genomed.share.models import AccessRequest, BeaconDocument, MatchCase

    ctx = open_node(demo_home)
    try:
        with ctx.transaction() as session:
            individuals = session.scalars(select(BeaconDocument.id).where(BeaconDocument.entry_type == "individual"))
            assert len(list(individuals)) == 2504
            (case,) = session.scalars(select(MatchCase)).all()
            assert case.patient_id is not None and case.withdrawn_at is None
            (grant,) = session.scalars(select(AccessRequest)).all()
            assert grant.status == "revoked" and grant.revoked_at is not None
            answers = [json.loads(entry.details) for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.action == "beacon.query", AuditEntry.object_type == "g_variants"))]
            # public: suppressed below the minimum count; the researcher: records, then counts once revoked
            assert [(a["tier"], a["returned"], a["exists"]) for a in answers] == [
                ("public", "count", False), ("controlled", "record", True), ("registered", "count", False)], answers
    finally:
        ctx.close()
