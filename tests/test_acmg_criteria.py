"""Each automated ACMG/AMP criterion at the edge where it turns on or off, with its reason.

The builders at the top (``effect``, ``evidence``, ``missense``) are reused by test_acmg_classify.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from genomed.annotate.mane import Transcript, load_mane
from genomed.annotate.model import (
    ClinVarAssertion,
    Impact,
    PopulationFrequency,
    TranscriptEffect,
    Variant,
    VariantAnnotation,
)
from genomed.errors import InputError
from genomed.interpret.acmg import (
    AcmgConfig,
    CaseFacts,
    CriterionResult,
    ExonSkipping,
    GeneFacts,
    Strength,
    VariantEvidence,
    evaluate_criteria,
    exon_skipping,
)

GNOMAD = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "population" / "gnomad-fixtures"

IMPACT = {
    "stop_gained": Impact.HIGH, "frameshift_variant": Impact.HIGH, "splice_donor_variant": Impact.HIGH,
    "splice_acceptor_variant": Impact.HIGH, "start_lost": Impact.HIGH, "stop_lost": Impact.HIGH,
    "transcript_ablation": Impact.HIGH, "missense_variant": Impact.MODERATE, "inframe_deletion": Impact.MODERATE,
    "inframe_insertion": Impact.MODERATE, "synonymous_variant": Impact.LOW, "splice_region_variant": Impact.LOW,
    "intron_variant": Impact.MODIFIER,
}
VARIANT = Variant("chr1", 1000, "C", "T")
AD_LOF = GeneFacts("GENE1", ("AD",), haploinsufficient=True)
AR_LOF = GeneFacts("GENE1", ("AR",), pathogenic_lof_variants=25)


def effect(*consequences: str, gene: str = "GENE1", **fields: Any) -> TranscriptEffect:
    """A MANE Select effect with the impact of its first consequence."""
    return TranscriptEffect("ENST00000000001", gene, "ENSG00000000001", consequences, IMPACT[consequences[0]],
                            **fields)


def evidence(*consequences: str, variant: Variant = VARIANT, gene: GeneFacts | None = AD_LOF,
             effect_fields: dict[str, Any] | None = None, **fields: Any) -> VariantEvidence:
    """Evidence for one variant with one effect on GENE1."""
    eff = effect(*consequences, **(effect_fields or {}))
    return VariantEvidence(VariantAnnotation(variant, (eff,)), gene=gene, **fields)


def missense(**fields: Any) -> VariantEvidence:
    """A missense change p.Arg100Trp on GENE1 (protein of 500 residues)."""
    effect_fields = {"hgvs_p": "p.Arg100Trp", "protein_position": 100, "protein_length": 500}
    effect_fields.update(fields.pop("effect_fields", {}))
    return evidence("missense_variant", effect_fields=effect_fields, **fields)


def verdict(ev: VariantEvidence, code: str, config: AcmgConfig | None = None) -> CriterionResult:
    results = evaluate_criteria(ev, config or AcmgConfig())
    return next(r for r in results if r.code == code)


def freq(af: float, an: int = 100_000, source: str = "gnomAD exomes v4.0", popmax: float | None = None,
         hom: int = 0) -> PopulationFrequency:
    return PopulationFrequency(source, round(af * an), an, homozygotes=hom, popmax_af=popmax)


def clinvar(hgvs_p: str, significance: str = "Pathogenic", stars: int = 2, pos: int = 2000,
            gene: str = "GENE1") -> ClinVarAssertion:
    return ClinVarAssertion(Variant("chr1", pos, "G", "A"), f"VCV{pos:09d}", significance, "reviewed", stars,
                            gene_symbol=gene, hgvs_p=hgvs_p, protein_position=int("".join(filter(str.isdigit,
                                                                                                  hgvs_p))))


# --- every criterion is reported, with a reason -----------------------------------------------------

def test_every_catalogue_criterion_is_reported_with_a_reason_and_none_is_deprecated() -> None:
    results = evaluate_criteria(missense())
    codes = [r.code for r in results]
    assert len(codes) == 26 and len(set(codes)) == 26
    assert "PP5" not in codes and "BP6" not in codes
    for r in results:
        assert r.reason.startswith(f"{r.label} applied:" if r.applied else f"{r.code} not applied:"), r.reason
        assert r.reason.endswith(".")
    manual = {r.code for r in results if "not assessed automatically" in r.reason}
    assert manual == {"PS3", "PS4", "PP1", "PP4", "BS3", "BS4", "BP2", "BP5"}


# --- PVS1 -------------------------------------------------------------------------------------------

def test_pvs1_nonsense_with_nmd_in_a_haploinsufficient_gene_is_very_strong() -> None:
    r = verdict(evidence("stop_gained", effect_fields={"nmd_escape": False}), "PVS1")
    assert r.applied and r.strength is Strength.VERY_STRONG and r.label == "PVS1"
    assert "nonsense-mediated decay" in r.reason and "haploinsufficient" in r.reason


@pytest.mark.parametrize(("position", "strength"), [
    (400, Strength.STRONG),      # removes 101/500 = 20.2 %
    (450, Strength.STRONG),      # 51/500 = 10.2 %
    (451, Strength.MODERATE),    # exactly 10 %: not more than 10 %
    (490, Strength.MODERATE),
])
def test_pvs1_nmd_escape_is_graded_by_the_removed_fraction_of_the_protein(position: int, strength: Strength) -> None:
    ev = evidence("frameshift_variant",
                  effect_fields={"nmd_escape": True, "protein_position": position, "protein_length": 500})
    r = verdict(ev, "PVS1")
    assert r.applied and r.strength is strength
    assert "escapes nonsense-mediated decay" in r.reason and "frameshift" in r.reason


def test_pvs1_last_exon_implies_nmd_escape_when_the_annotator_left_it_unset() -> None:
    ev = evidence("stop_gained", effect_fields={"exon": (12, 12), "protein_position": 495, "protein_length": 500})
    r = verdict(ev, "PVS1")
    assert r.strength is Strength.MODERATE and "escapes" in r.reason


def test_pvs1_escape_without_protein_positions_gets_the_floor() -> None:
    r = verdict(evidence("stop_gained", effect_fields={"nmd_escape": True}), "PVS1")
    assert r.applied and r.strength is Strength.MODERATE and "unknown" in r.reason


@pytest.mark.parametrize(("gene", "applied", "words"), [
    (GeneFacts("GENE1", ("AD",), lof_mechanism=False), False, "is not a curated disease mechanism"),
    (GeneFacts("GENE1", ("AR",), pathogenic_lof_variants=2), False, "only 2 pathogenic"),
    (GeneFacts("GENE1", ("AR",), pathogenic_lof_variants=3), True, "3 pathogenic loss-of-function"),
    (GeneFacts("GENE1", ("AD",)), False, "is not known"),
    (None, False, "no gene-level facts"),
])
def test_pvs1_requires_loss_of_function_to_be_a_known_mechanism(gene: GeneFacts | None, applied: bool,
                                                                  words: str) -> None:
    r = verdict(evidence("stop_gained", gene=gene, effect_fields={"nmd_escape": False}), "PVS1")
    assert r.applied is applied
    assert words in r.reason


def test_pvs1_is_not_applied_to_missense() -> None:
    r = verdict(missense(), "PVS1")
    assert not r.applied and "a missense variant is not a null variant" in r.reason


def test_pvs1_start_loss_is_moderate() -> None:
    r = verdict(evidence("start_lost"), "PVS1")
    assert r.applied and r.strength is Strength.MODERATE and r.label == "PVS1_Moderate"


@pytest.mark.parametrize(("skipping", "applied", "strength"), [
    (None, True, Strength.MODERATE),
    (ExonSkipping(3, 10, 101, in_frame=False, nmd_predicted=True, removed_fraction=0.8), True, Strength.VERY_STRONG),
    (ExonSkipping(9, 10, 101, in_frame=False, nmd_predicted=False, removed_fraction=0.15), True, Strength.STRONG),
    (ExonSkipping(3, 10, 102, in_frame=True, nmd_predicted=False, removed_fraction=0.15), True, Strength.STRONG),
    (ExonSkipping(3, 10, 102, in_frame=True, nmd_predicted=False, removed_fraction=0.05), True, Strength.MODERATE),
    (ExonSkipping(1, 10, 0, in_frame=True, nmd_predicted=False, removed_fraction=0.0), False, Strength.VERY_STRONG),
])
def test_pvs1_canonical_splice_follows_the_exon_skipping_branch(skipping: ExonSkipping | None, applied: bool,
                                                                 strength: Strength) -> None:
    ev = evidence("splice_donor_variant", effect_fields={"intron": (3, 9)}, exon_skipping=skipping)
    r = verdict(ev, "PVS1")
    assert (r.applied, r.strength) == (applied, strength)


def _coding_bases_oracle(t: Transcript, exon: tuple[int, int]) -> tuple[int, int]:
    """Slow and obvious: base sets for the exon's coding part and for the whole CDS."""
    cds = {b for lo, hi in t.exons for b in range(lo, hi) if t.cds_start <= b < t.cds_end}
    return len(cds & set(range(*exon))), len(cds)


@pytest.fixture(scope="module")
def mane_chr19() -> dict[str, Transcript]:
    return {t.gene_symbol: t for t in load_mane(chroms=["chr19"])}


def test_exon_skipping_on_a_real_mane_transcript_agrees_with_a_base_counting_oracle(
        mane_chr19: dict[str, Transcript]) -> None:
    t = mane_chr19["WDR62"]  # + strand, 32 exons (NM_001083961.2)
    for intron in (1, 5, 10, 30, 31):
        for kind in ("splice_donor_variant", "splice_acceptor_variant"):
            eff = effect(kind, gene="WDR62", intron=(intron, len(t.exons) - 1))
            skip = exon_skipping(t, eff)
            number = intron if kind == "splice_donor_variant" else intron + 1
            coding, total = _coding_bases_oracle(t, t.exons[number - 1])
            assert skip.exon == number and skip.coding_bases == coding
            assert skip.in_frame is (coding % 3 == 0)
            if skip.in_frame:
                assert skip.removed_fraction == pytest.approx(coding / total, abs=1e-6)
            else:
                assert skip.nmd_predicted is (coding > 0 and number <= len(t.exons) - 2)


def test_exon_skipping_counts_exons_in_transcript_order_on_the_minus_strand(
        mane_chr19: dict[str, Transcript]) -> None:
    t = next(t for t in mane_chr19.values() if t.strand == "-" and len(t.exons) > 5 and t.cds_complete)
    skip = exon_skipping(t, effect("splice_donor_variant", intron=(1, len(t.exons) - 1)))
    first_in_transcript = t.exons[-1]  # highest coordinates come first on the minus strand
    assert skip.coding_bases == _coding_bases_oracle(t, first_in_transcript)[0]


def test_exon_skipping_refuses_an_intron_count_that_does_not_fit(mane_chr19: dict[str, Transcript]) -> None:
    with pytest.raises(InputError, match="does not fit"):
        exon_skipping(mane_chr19["WDR62"], effect("splice_donor_variant", intron=(3, 9)))


# --- PS1 / PM5 --------------------------------------------------------------------------------------

def test_ps1_same_amino_acid_change_from_another_nucleotide_change() -> None:
    r = verdict(missense(clinvar_same_position=(clinvar("p.Arg100Trp"),)), "PS1")
    assert r.applied and r.strength is Strength.STRONG and "VCV000002000" in r.reason


def test_ps1_likely_pathogenic_only_is_moderate_and_zero_stars_do_not_count() -> None:
    lp = verdict(missense(clinvar_same_position=(clinvar("p.Arg100Trp", "Likely pathogenic"),)), "PS1")
    assert lp.applied and lp.strength is Strength.MODERATE
    zero = verdict(missense(clinvar_same_position=(clinvar("p.Arg100Trp", stars=0),)), "PS1")
    assert not zero.applied and "below the 1-star" in zero.reason
    loose = verdict(missense(clinvar_same_position=(clinvar("p.Arg100Trp", stars=0),)), "PS1",
                    AcmgConfig(clinvar_min_stars=0))
    assert loose.applied


def test_ps1_ignores_the_variant_itself_another_gene_and_benign_records() -> None:
    same = ClinVarAssertion(VARIANT, "VCV1", "Pathogenic", "reviewed", 3, gene_symbol="GENE1",
                            hgvs_p="p.Arg100Trp", protein_position=100)
    records = (same, clinvar("p.Arg100Trp", gene="OTHER"), clinvar("p.Arg100Trp", "Benign", pos=3000))
    r = verdict(missense(clinvar=same, clinvar_same_position=records), "PS1")
    assert not r.applied and "no pathogenic ClinVar variant" in r.reason
    assert not verdict(missense(), "PS1").applied  # not searched
    assert "not searched" in verdict(missense(), "PS1").reason


def test_pm5_other_missense_at_the_same_residue() -> None:
    r = verdict(missense(clinvar_same_position=(clinvar("p.Arg100Gln"),)), "PM5")
    assert r.applied and r.strength is Strength.MODERATE and "Arg100" in r.reason
    lp = verdict(missense(clinvar_same_position=(clinvar("p.Arg100Gln", "Likely pathogenic"),)), "PM5")
    assert lp.applied and lp.strength is Strength.SUPPORTING


def test_pm5_does_not_count_a_nonsense_change_or_what_ps1_already_counts() -> None:
    nonsense = verdict(missense(clinvar_same_position=(clinvar("p.Arg100Ter"),)), "PM5")
    assert not nonsense.applied
    both = missense(clinvar_same_position=(clinvar("p.Arg100Trp"), clinvar("p.Arg100Gln", pos=3000)))
    assert verdict(both, "PS1").applied
    pm5 = verdict(both, "PM5")
    assert not pm5.applied and "PS1 already counts" in pm5.reason


# --- PS2 / PM6 --------------------------------------------------------------------------------------

def test_de_novo_confirmed_is_ps2_assumed_is_pm6() -> None:
    confirmed = missense(case=CaseFacts("heterozygous", de_novo="confirmed"))
    assert verdict(confirmed, "PS2").applied and not verdict(confirmed, "PM6").applied
    assumed = missense(case=CaseFacts("heterozygous", de_novo="assumed"))
    assert verdict(assumed, "PM6").applied and not verdict(assumed, "PS2").applied
    assert not verdict(missense(), "PS2").applied


def test_de_novo_does_not_count_in_a_recessive_gene_except_hemizygous_x_linked() -> None:
    ar = missense(gene=AR_LOF, case=CaseFacts("heterozygous", de_novo="confirmed"))
    r = verdict(ar, "PS2")
    assert not r.applied and "recessive" in r.reason
    xlr = missense(gene=GeneFacts("GENE1", ("XLR",)), case=CaseFacts("hemizygous", de_novo="confirmed"))
    assert verdict(xlr, "PS2").applied


# --- PM1 ---------------------------------------------------------------------------------------------

def test_pm1_hotspot_and_its_cap_with_a_strong_pp3() -> None:
    assert verdict(missense(hotspot=True, scores={"REVEL": 0.7}), "PM1").strength is Strength.MODERATE
    assert verdict(missense(hotspot=True, scores={"REVEL": 0.8}), "PM1").applied  # PP3_Moderate + PM1 = 4
    capped = verdict(missense(hotspot=True, scores={"REVEL": 0.95}), "PM1")
    assert not capped.applied and "Strong cap" in capped.reason
    assert not verdict(missense(hotspot=False), "PM1").applied
    assert "no hotspot" in verdict(missense(), "PM1").reason


# --- PM2 ---------------------------------------------------------------------------------------------

def _gnomad_row(name: str, pos: int) -> PopulationFrequency:
    """One real gnomAD row read from the fixture VCF (AC, AN, nhomalt, AF_popmax/AF_grpmax)."""
    path = GNOMAD / name
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if int(fields[1]) != pos:
                continue
            info = dict(item.split("=", 1) for item in fields[7].split(";") if "=" in item)
            popmax = info.get("AF_popmax") or info.get("AF_grpmax")
            return PopulationFrequency(f"gnomAD {name.removesuffix('.vcf')}", int(info["AC"]), int(info["AN"]),
                                       homozygotes=int(info.get("nhomalt", 0)),
                                       popmax_af=float(popmax) if popmax else None)
    raise AssertionError(f"no row at {pos} in {name}")


def test_pm2_is_supporting_and_distinguishes_absent_from_not_looked_up() -> None:
    absent = verdict(missense(population=()), "PM2")
    assert absent.applied and absent.strength is Strength.SUPPORTING and absent.label == "PM2_Supporting"
    unknown = verdict(missense(), "PM2")
    assert not unknown.applied and "not looked up" in unknown.reason
    uncovered = verdict(missense(population=[PopulationFrequency("gnomAD genomes v4.0", 0, 0)]), "PM2")
    assert not uncovered.applied and "not covered" in uncovered.reason


def test_pm2_on_a_real_gnomad_row_depends_on_the_gene_inheritance() -> None:
    # chr1-138654-C-T, gnomAD exomes v2.1: AC 2 / AN 54,902, popmax (amr) 0.0184 %
    row = _gnomad_row("gnomad-exomes-grch38-v2.1.vcf", 138654)
    assert row.ac == 2 and row.popmax_af == pytest.approx(1.83655e-4)
    dominant = verdict(missense(population=[row]), "PM2")
    assert not dominant.applied
    assert dominant.reason == ("PM2 not applied: seen in gnomAD gnomad-exomes-grch38-v2.1 at 0.0184%, above the "
                               "0.002% ceiling for a dominant gene.")
    recessive = verdict(missense(gene=AR_LOF, population=[row]), "PM2")
    assert recessive.applied and "at or below the 0.07% ceiling for a recessive gene" in recessive.reason


# --- PM3 / PM4 ---------------------------------------------------------------------------------------

def test_pm3_in_trans_is_moderate_homozygous_is_supporting_and_dominant_genes_are_excluded() -> None:
    in_trans = verdict(missense(gene=AR_LOF, case=CaseFacts("heterozygous", in_trans_with_pathogenic=True)), "PM3")
    assert in_trans.applied and in_trans.strength is Strength.MODERATE
    hom = verdict(missense(gene=AR_LOF, case=CaseFacts("homozygous")), "PM3")
    assert hom.applied and hom.label == "PM3_Supporting"
    dominant = verdict(missense(case=CaseFacts("heterozygous", in_trans_with_pathogenic=True)), "PM3")
    assert not dominant.applied and "not recessive" in dominant.reason


@pytest.mark.parametrize(("consequence", "repeat", "pm4", "bp3"), [
    ("inframe_deletion", False, True, False),
    ("inframe_deletion", None, True, False),
    ("inframe_insertion", True, False, True),
    ("stop_lost", True, True, False),
    ("missense_variant", False, False, False),
])
def test_pm4_and_bp3_split_in_frame_changes_by_repeat_region(consequence: str, repeat: bool | None, pm4: bool,
                                                               bp3: bool) -> None:
    ev = evidence(consequence, repeat_region=repeat)
    assert verdict(ev, "PM4").applied is pm4
    assert verdict(ev, "BP3").applied is bp3


# --- PP2 / BP1 ---------------------------------------------------------------------------------------

def test_pp2_and_bp1_read_the_gene_missense_spectrum() -> None:
    missense_gene = GeneFacts("GENE1", ("AD",), pathogenic_missense_variants=40, benign_missense_variants=2,
                              pathogenic_lof_variants=1)
    assert verdict(missense(gene=missense_gene), "PP2").applied
    assert not verdict(missense(gene=missense_gene), "BP1").applied
    truncating_gene = GeneFacts("GENE1", ("AD",), pathogenic_lof_variants=200, pathogenic_missense_variants=4,
                                benign_missense_variants=60)
    bp1 = verdict(missense(gene=truncating_gene), "BP1")
    assert bp1.applied and "200 pathogenic loss-of-function against 4 missense" in bp1.reason
    assert not verdict(missense(gene=truncating_gene), "PP2").applied
    assert not verdict(evidence("synonymous_variant", gene=truncating_gene), "BP1").applied


# --- PP3 / BP4 ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("revel", "pp3", "bp4"), [
    (0.932, Strength.STRONG, None), (0.931, Strength.MODERATE, None), (0.773, Strength.MODERATE, None),
    (0.772, Strength.SUPPORTING, None), (0.644, Strength.SUPPORTING, None), (0.643, None, None),
    (0.291, None, None), (0.290, None, Strength.SUPPORTING), (0.183, None, Strength.MODERATE),
    (0.016, None, Strength.STRONG), (0.003, None, Strength.VERY_STRONG), (0.0, None, Strength.VERY_STRONG),
])
def test_revel_calibrated_intervals_of_pejaver_2022(revel: float, pp3: Strength | None,
                                                    bp4: Strength | None) -> None:
    ev = missense(scores={"REVEL": revel, "SpliceAI": 0.0})
    got_pp3, got_bp4 = verdict(ev, "PP3"), verdict(ev, "BP4")
    assert (got_pp3.strength if got_pp3.applied else None) == pp3
    assert (got_bp4.strength if got_bp4.applied else None) == bp4


def test_cadd_can_be_the_chosen_missense_predictor() -> None:
    config = AcmgConfig(missense_predictor="cadd")
    assert verdict(missense(scores={"CADD": 28.1}), "PP3", config).strength is Strength.MODERATE
    assert verdict(missense(scores={"CADD": 17.0}), "BP4", config).strength is Strength.MODERATE
    assert not verdict(missense(scores={"REVEL": 0.99}), "PP3", config).applied


def test_spliceai_gives_pp3_or_bp4_and_blocks_a_benign_missense_call() -> None:
    splice = verdict(evidence("synonymous_variant", scores={"SpliceAI": 0.2}), "PP3")
    assert splice.applied and splice.strength is Strength.SUPPORTING and "SpliceAI 0.2" in splice.reason
    quiet = evidence("intron_variant", scores={"SpliceAI": 0.1})
    assert verdict(quiet, "BP4").applied and not verdict(quiet, "PP3").applied
    mixed = missense(scores={"REVEL": 0.1, "SpliceAI": 0.5})
    assert verdict(mixed, "PP3").applied and not verdict(mixed, "BP4").applied
    assert "does not exclude a splicing change" in verdict(mixed, "BP4").reason


def test_pp3_is_not_added_to_pvs1() -> None:
    ev = evidence("splice_donor_variant", scores={"SpliceAI": 0.9})
    assert verdict(ev, "PVS1").applied
    r = verdict(ev, "PP3")
    assert not r.applied and "double counting" in r.reason


# --- BA1 / BS1 / BS2 ---------------------------------------------------------------------------------

def test_ba1_needs_more_than_5_percent_in_at_least_2000_alleles() -> None:
    assert verdict(missense(population=[freq(0.051, an=10_000)]), "BA1").applied
    assert not verdict(missense(population=[freq(0.05, an=10_000)]), "BA1").applied
    small = verdict(missense(population=[freq(0.2, an=1_000)]), "BA1")
    assert not small.applied and "2000 alleles" in small.reason
    popmax = verdict(missense(population=[freq(0.01, popmax=0.08)]), "BA1")
    assert popmax.applied and "8%" in popmax.reason


def test_ba1_and_bs1_spare_the_clingen_exceptions() -> None:
    hfe = GeneFacts("HFE", ("AR",), lof_mechanism=False)
    ev = VariantEvidence(
        VariantAnnotation(Variant("chr6", 26092913, "G", "A"),
                          (effect("missense_variant", gene="HFE", hgvs_c="NM_000410.4:c.845G>A",
                                  hgvs_p="p.Cys282Tyr"),)),
        gene=hfe, population=[freq(0.06, an=100_000)])
    ba1, bs1 = verdict(ev, "BA1"), verdict(ev, "BS1")
    assert not ba1.applied and "exception list" in ba1.reason
    assert not bs1.applied and "HFE c.845G>A" in bs1.reason


def test_bs1_threshold_follows_inheritance() -> None:
    assert verdict(missense(population=[freq(0.002)]), "BS1").applied  # dominant: > 0.1 %
    assert not verdict(missense(gene=AR_LOF, population=[freq(0.002)]), "BS1").applied  # recessive: ≤ 1 %
    assert verdict(missense(gene=AR_LOF, population=[freq(0.02)]), "BS1").applied
    unknown = verdict(missense(gene=GeneFacts("GENE1"), population=[freq(0.002)]), "BS1")
    assert not unknown.applied and "unknown-inheritance" in unknown.reason


def test_bs2_homozygous_healthy_adults_or_heterozygous_for_dominant() -> None:
    assert verdict(missense(gene=AR_LOF, case=CaseFacts(healthy_adult_homozygotes=2)), "BS2").applied
    assert not verdict(missense(gene=AR_LOF, case=CaseFacts(healthy_adult_homozygotes=1)), "BS2").applied
    assert verdict(missense(case=CaseFacts(healthy_adult_heterozygotes=3)), "BS2").applied
    het_ar = verdict(missense(gene=AR_LOF, case=CaseFacts(healthy_adult_heterozygotes=30)), "BS2")
    assert not het_ar.applied and "only argues against a dominant" in het_ar.reason
    penetrance = GeneFacts("GENE1", ("AD",), incomplete_penetrance=True)
    assert not verdict(missense(gene=penetrance, case=CaseFacts(healthy_adult_heterozygotes=30)), "BS2").applied


# --- BP7 ---------------------------------------------------------------------------------------------

def test_bp7_synonymous_without_splice_impact() -> None:
    assert verdict(evidence("synonymous_variant"), "BP7").applied
    assert verdict(evidence("synonymous_variant", "splice_region_variant", scores={"SpliceAI": 0.05}), "BP7").applied
    assert not verdict(evidence("synonymous_variant", "splice_region_variant"), "BP7").applied
    assert not verdict(evidence("synonymous_variant", scores={"SpliceAI": 0.3}), "BP7").applied
    assert not verdict(missense(), "BP7").applied


# --- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("build", "message"), [
    (lambda: GeneFacts("GENE1", ("autosomal dominant",)), "unknown mode"),
    (lambda: CaseFacts("het"), "unknown zygosity"),
    (lambda: CaseFacts(de_novo="yes"), "unknown de novo status"),
    (lambda: missense(scores={"REVEL": 1.5}), "outside its range"),
    (lambda: missense(scores={"PolyPhen": 0.9}), "unknown in-silico score"),
    (lambda: missense(gene=GeneFacts("OTHER", ("AD",))), "no transcript effect on OTHER"),
    (lambda: missense(clinvar=clinvar("p.Arg100Trp")), "not for the variant classified"),
    (lambda: AcmgConfig(missense_predictor="sift"), "use 'revel' or 'cadd'"),
    (lambda: AcmgConfig(bs1_af_dominant=0.2), "PM2 ≤ BS1 ≤ BA1"),
    (lambda: verdict(evidence("stop_gained", effect_fields={"nmd_escape": True, "protein_position": 900,
                                                            "protein_length": 500}), "PVS1"),
     "outside a protein of 500"),
])
def test_bad_evidence_is_refused_with_a_clear_message(build: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        build()
