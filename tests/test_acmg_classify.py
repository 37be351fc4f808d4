"""Combining criteria (Tavtigian 2020 points, Richards 2015 rules), curator overrides, and a real ClinVar variant."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from genomed.annotate.clinvar import ClinVar
from genomed.annotate.mane import load_mane
from genomed.annotate.model import Variant, VariantAnnotation
from genomed.errors import InputError, NotFoundError
from genomed.interpret.acmg import (
    CATALOGUE,
    AcmgClass,
    AcmgConfig,
    CaseFacts,
    CriterionResult,
    GeneFacts,
    Override,
    Strength,
    VariantEvidence,
    apply_overrides,
    classify,
    combine,
    evaluate_criteria,
)
from test_acmg_criteria import AD_LOF, AR_LOF, clinvar, effect, evidence, freq, missense

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
CLINVAR_JSONL = DATA / "clinvar" / "clinvar-subset.GRCh38.jsonl"
P, LP, VUS, LB, B = (AcmgClass.PATHOGENIC, AcmgClass.LIKELY_PATHOGENIC, AcmgClass.VUS, AcmgClass.LIKELY_BENIGN,
                     AcmgClass.BENIGN)


def applied(label: str) -> CriterionResult:
    """An applied criterion from its label: ``PM2_Supporting``, ``BP4_VeryStrong``, ``PVS1``."""
    code, _, suffix = label.partition("_")
    info = CATALOGUE[code]
    strength = Strength.parse(suffix) if suffix else info.default_strength
    return CriterionResult(code, True, strength, info.direction, f"{label} applied: test.")


# --- the points scale and the 2015 rules -------------------------------------------------------------

@pytest.mark.parametrize(("labels", "points", "by_points", "by_rules"), [
    # Tavtigian et al. 2020 / ClinGen SVI worked combinations
    (["PVS1", "PM2_Supporting"], 9, LP, VUS),                 # SVI 2020: why PM2_Supporting needed the points
    (["PS2", "PM2_Supporting", "PP3"], 6, LP, LP),
    (["PVS1", "PS1"], 12, P, P),
    (["PVS1", "PM1"], 10, P, LP),                             # the 2015 rule Tavtigian 2018 found too weak
    (["PS1", "PS2"], 8, LP, P),                               # ... and the one found too strong
    (["PVS1", "PM3", "PM2_Supporting"], 11, P, P),
    (["PS1", "PM1", "PP1", "PP2", "PP3", "PP4"], 10, P, P),   # Pathogenic (iii)(c)
    (["PM1", "PM4", "PM5"], 6, LP, LP),                       # Likely pathogenic (iv)
    (["PM1", "PM5", "PP1", "PP3"], 6, LP, LP),                # Likely pathogenic (v)
    (["PM1", "PM2_Supporting", "PP3"], 4, VUS, VUS),
    (["PVS1_Strong", "PM2_Supporting"], 5, VUS, VUS),
    ([], 0, VUS, VUS),
    (["BA1"], 0, B, B),
    (["BA1", "PVS1", "PS2"], 12, B, B),                       # stand-alone: benign whatever else applies
    (["BS1", "BS2"], -8, B, B),
    (["BS1", "BP4"], -5, LB, LB),
    (["BP4", "BP7"], -2, LB, LB),
    (["BP4_Moderate"], -2, LB, LB),                           # counts as two Supporting in the 2015 rules
    (["BP4_VeryStrong"], -8, B, B),                           # counts as two Strong
    (["PVS1", "BS1"], 4, VUS, VUS),
    (["PS2", "PM2_Supporting", "PP3", "BS2"], 2, VUS, LP),    # points weigh; the 2015 rules ignore one BS
    (["PVS1", "PS1", "BS1", "BP4"], 7, LP, VUS),              # 2015: contradictory evidence
])
def test_points_and_2015_rules_on_worked_combinations(labels: list[str], points: int, by_points: AcmgClass,
                                                      by_rules: AcmgClass) -> None:
    result = combine(applied(label) for label in labels)
    assert result.points == points
    assert result.acmg_class is by_points
    assert result.rules_class_2015 is by_rules
    assert result.systems_agree is (by_points is by_rules)
    assert ("disagree" in result.explanation) is (by_points is not by_rules)
    assert result.explanation.startswith(by_points.value)


# --- end to end: evidence to class -------------------------------------------------------------------

def test_nonsense_absent_from_gnomad_in_a_haploinsufficient_gene_is_likely_pathogenic_by_points() -> None:
    result = classify(evidence("stop_gained", population=(), effect_fields={"nmd_escape": False}))
    assert result.codes == ("PVS1", "PM2_Supporting")
    assert (result.points, result.acmg_class, result.rules_class_2015) == (9, LP, VUS)
    assert "PVS1 +8, PM2_Supporting +1" in result.explanation


def test_confirmed_de_novo_missense_absent_and_predicted_damaging_is_likely_pathogenic() -> None:
    ev = missense(population=(), case=CaseFacts("heterozygous", de_novo="confirmed"),
                  scores={"REVEL": 0.70, "SpliceAI": 0.01})
    result = classify(ev)
    assert result.codes == ("PS2", "PM2_Supporting", "PP3")
    assert (result.points, result.acmg_class, result.rules_class_2015) == (6, LP, LP)
    assert "Likely pathogenic (iii)" in result.explanation


def test_common_variant_is_benign_even_with_pathogenic_evidence() -> None:
    ev = missense(population=[freq(0.12, an=150_000)], case=CaseFacts("heterozygous", de_novo="confirmed"))
    result = classify(ev)
    assert {"BA1", "BS1", "PS2"} <= set(result.codes)
    assert result.acmg_class is B and result.rules_class_2015 is B
    assert "stand-alone" in result.explanation


def test_recessive_null_variant_in_trans_is_pathogenic() -> None:
    ev = evidence("frameshift_variant", gene=AR_LOF, population=[freq(0.00001, an=1_000_000)],
                  case=CaseFacts("heterozygous", in_trans_with_pathogenic=True), effect_fields={"nmd_escape": False})
    result = classify(ev)
    assert result.codes == ("PVS1", "PM2_Supporting", "PM3")
    assert (result.points, result.acmg_class, result.rules_class_2015) == (11, P, P)


def test_synonymous_without_splice_effect_is_likely_benign() -> None:
    result = classify(evidence("synonymous_variant", scores={"SpliceAI": 0.02}))
    assert result.codes == ("BP4", "BP7")
    assert (result.points, result.acmg_class) == (-2, LB)


def test_classification_keeps_every_verdict_and_finds_one_by_code() -> None:
    result = classify(missense())
    assert len(result.criteria) == len(CATALOGUE)
    assert result.criterion("pm2").code == "PM2"
    with pytest.raises(NotFoundError):
        result.criterion("PP5")


# --- curator overrides -------------------------------------------------------------------------------

def test_override_applies_a_manual_criterion_and_the_class_is_recomputed() -> None:
    ev = missense(population=(), scores={"REVEL": 0.70})
    before = classify(ev)
    assert (before.points, before.acmg_class) == (2, VUS)
    ps3 = Override("PS3", True, None, "Functional assay (PMID 12345678) shows loss of activity", "Dr A. Curator")
    after = classify(ev, [ps3])
    assert (after.points, after.acmg_class) == (6, LP)
    verdict = after.criterion("PS3")
    assert verdict.applied and verdict.strength is Strength.STRONG and verdict.curator == "Dr A. Curator"
    assert verdict.reason == ("PS3 applied: overridden by Dr A. Curator: Functional assay (PMID 12345678) shows "
                              "loss of activity (automated: PS3 not applied).")
    assert verdict.automated is not None and not verdict.automated.applied
    assert "not assessed automatically" in verdict.automated.reason
    assert after.overrides == (verdict,)
    assert "Curator overrides: PS3 by Dr A. Curator." in after.explanation


def test_override_changes_strength_or_withdraws_and_keeps_the_automated_verdict() -> None:
    ev = evidence("stop_gained", population=(), effect_fields={"nmd_escape": False})
    down = classify(ev, [Override("PVS1", True, "strong", "truncated region not critical (domain map)", "Dr B")])
    assert down.criterion("PVS1").label == "PVS1_Strong"
    assert (down.points, down.acmg_class) == (5, VUS)
    assert down.criterion("PVS1").automated == classify(ev).criterion("PVS1")
    withdrawn = classify(ev, [Override("PM2", False, None, "low coverage at this site in gnomAD", "Dr B")])
    pm2 = withdrawn.criterion("PM2")
    assert not pm2.applied and pm2.reason.startswith("PM2 not applied: overridden by Dr B: low coverage")
    assert pm2.automated is not None and pm2.automated.applied
    assert withdrawn.points == 8


def test_overriding_twice_keeps_the_first_automated_verdict() -> None:
    first = apply_overrides(evaluate_criteria(missense(population=())),
                            [Override("PM2", True, "moderate", "VCEP rule for this gene", "Dr A")])
    second = apply_overrides(first, [Override("PM2", False, None, "reviewed: site poorly covered", "Dr C")])
    pm2 = next(c for c in second if c.code == "PM2")
    assert pm2.curator == "Dr C" and not pm2.applied
    assert pm2.automated is not None and pm2.automated.curator is None and pm2.automated.applied
    assert pm2.automated.strength is Strength.SUPPORTING


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Override("PS3", True, None, "", "Dr A"), "needs a comment"),
    (lambda: Override("PS3", True, None, "   ", "Dr A"), "needs a comment"),
    (lambda: Override("PS3", True, None, "assay", " "), "curator's name"),
    (lambda: Override("PP5", True, None, "lab X says pathogenic", "Dr A"), "deprecated"),
    (lambda: Override("BP6", True, None, "lab X says benign", "Dr A"), "deprecated"),
    (lambda: Override("PX9", True, None, "why", "Dr A"), "unknown ACMG/AMP criterion"),
    (lambda: Override("BA1", True, "strong", "why", "Dr A"), "stand-alone"),
    (lambda: Override("PM2", True, "stand_alone", "why", "Dr A"), "only BA1 is stand-alone"),
    (lambda: Override("PM2", True, "huge", "why", "Dr A"), "unknown evidence strength"),
    (lambda: classify(missense(), [Override("PS3", True, None, "a", "A"), Override("ps3", False, None, "b", "B")]),
     "two overrides of PS3"),
])
def test_bad_overrides_are_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        make()


# --- a real ClinVar variant, hand-built into evidence ------------------------------------------------

@pytest.fixture(scope="module")
def clinvar_subset() -> ClinVar:
    return ClinVar.from_jsonl(CLINVAR_JSONL, version="annonars test subset")


def test_real_clinvar_nonsense_wdr62_gln470ter(clinvar_subset: ClinVar) -> None:
    """VCV000000043, NM_001083961.2(WDR62):c.1408C>T (p.Gln470Ter), Pathogenic for primary microcephaly 2 (AR).

    The transcript facts come from the real MANE record of WDR62: exon 11 of 32, so the new stop is far
    from the last exon–exon junction and decay is predicted; 1,523 residues. The case facts are hand-built:
    homozygous, as in the consanguineous families of the record's citation (PMID 20729831).
    """
    record = next(a for a in clinvar_subset if a.accession == "VCV000000043")
    transcript = next(t for t in load_mane(chroms=["chr19"]) if t.gene_symbol == "WDR62")
    exon = next(i for i, (lo, hi) in enumerate(transcript.exons, 1) if lo < record.variant.pos <= hi)
    n_exons = len(transcript.exons)
    assert (exon, n_exons, transcript.refseq_id) == (11, 32, "NM_001083961.2")
    eff = effect("stop_gained", gene="WDR62", hgvs_c=record.hgvs_c, hgvs_p=record.hgvs_p, exon=(exon, n_exons),
                 protein_position=record.protein_position, protein_length=transcript.cds_length // 3 - 1,
                 nmd_escape=exon >= n_exons - 1)
    # Loss of function is the established mechanism of MCPH2 (biallelic truncating variants).
    gene = GeneFacts("WDR62", ("AR",), lof_mechanism=True)
    ev = VariantEvidence(VariantAnnotation(record.variant, (eff,)), gene=gene, case=CaseFacts("homozygous"),
                         clinvar=clinvar_subset.by_variant(record.variant),
                         clinvar_same_position=clinvar_subset.at_protein_position("WDR62", 470))
    result = classify(ev)
    assert result.codes == ("PVS1", "PM3_Supporting")
    assert "nonsense variant predicted to cause nonsense-mediated decay" in result.criterion("PVS1").reason
    assert (result.points, result.acmg_class) == (9, LP)
    # Segregation in the reported family is a curator's call: with PP1 the classification meets ClinVar's.
    pp1 = Override("PP1", True, None, "segregates with microcephaly in the family of PMID 20729831", "Dr A")
    curated = classify(ev, [pp1])
    assert curated.acmg_class.value == record.significance == "Pathogenic"
    assert curated.rules_class_2015 is P

    # From the subset's own counts, WDR62 has only two pathogenic truncating records: too few to establish
    # the mechanism by the default rule, and PVS1 says so.
    truncating = sum(1 for a in clinvar_subset
                     if a.gene_symbol == "WDR62" and a.pathogenic and a.hgvs_p and a.hgvs_p.endswith(("Ter", "fs")))
    counted = VariantEvidence(ev.annotation, gene=GeneFacts("WDR62", ("AR",), pathogenic_lof_variants=truncating),
                              case=ev.case)
    pvs1 = classify(counted).criterion("PVS1")
    assert truncating == 2 and not pvs1.applied and "only 2 pathogenic" in pvs1.reason


def test_real_clinvar_record_at_the_same_residue_gives_pm5_only_when_its_review_counts(
        clinvar_subset: ClinVar) -> None:
    """A hypothetical WDR62 c.672G>T (p.Trp224Cys) beside the real VCV000000042 p.Trp224Ser (0 stars)."""
    same_residue = clinvar_subset.at_protein_position("WDR62", 224)
    assert [a.accession for a in same_residue] == ["VCV000000042"] and same_residue[0].stars == 0
    eff = effect("missense_variant", gene="WDR62", hgvs_p="p.Trp224Cys", protein_position=224, protein_length=1523)
    ev = VariantEvidence(VariantAnnotation(Variant("chr19", 36067416, "G", "T"), (eff,)),
                         gene=GeneFacts("WDR62", ("AR",)), clinvar_same_position=same_residue)
    strict = classify(ev).criterion("PM5")
    assert not strict.applied and "VCV000000042" in strict.reason and "1-star" in strict.reason
    lenient = classify(ev, config=AcmgConfig(clinvar_min_stars=0)).criterion("PM5")
    assert lenient.applied and lenient.strength is Strength.MODERATE
    assert not classify(ev, config=AcmgConfig(clinvar_min_stars=0)).criterion("PS1").applied


def test_own_clinvar_record_is_shown_but_not_counted(clinvar_subset: ClinVar) -> None:
    """PP5 is retired: ClinVar's own Pathogenic call on the variant adds no points."""
    record = next(a for a in clinvar_subset if a.accession == "VCV000000006")  # FOXRED1 p.Asn430Ser
    eff = effect("missense_variant", gene="FOXRED1", hgvs_p=record.hgvs_p, protein_position=430)
    bare = VariantEvidence(VariantAnnotation(record.variant, (eff,)), gene=GeneFacts("FOXRED1", ("AR",)))
    with_record = VariantEvidence(bare.annotation, gene=bare.gene, clinvar=record,
                                  clinvar_same_position=clinvar_subset.at_protein_position("FOXRED1", 430))
    assert classify(bare).points == classify(with_record).points == 0
    assert not any(c.code in ("PP5", "BP6") for c in classify(with_record).criteria)


def test_dominant_gene_facts_fixture_is_what_the_tests_assume() -> None:
    assert AD_LOF.dominant and not AD_LOF.recessive and AR_LOF.recessive and not AR_LOF.dominant
    assert clinvar("p.Arg100Trp").protein_position == 100
