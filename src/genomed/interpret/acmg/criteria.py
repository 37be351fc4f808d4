"""The automated ACMG/AMP criteria: one function per criterion, each a verdict with its reason.

Each function reads :class:`VariantEvidence` and the thresholds of :class:`AcmgConfig` and returns a
:class:`CriterionResult`, applied or not, with a sentence a clinician can verify. Criteria that need
judgement or data the evidence record does not carry (functional studies PS3/BS3, case-control
PS4, segregation PP1/BS4, phenotype specificity PP4, BP2, BP5) are reported as "not assessed
automatically" so that they are visible and a curator can apply them with an override.

The rules that stop double counting (PP3 not with PVS1, Walker et al. 2023; PM5 not with PS1;
PP3 + PM1 capped at Strong, Pejaver et al. 2022; BA1 exemptions, Ghosh et al. 2018) are applied
here, in :func:`evaluate_criteria`, where the order of evaluation makes them explicit.
"""

from __future__ import annotations

from collections.abc import Callable

from genomed.annotate.model import ClinVarAssertion, Impact, PopulationFrequency
from genomed.interpret.acmg.config import (
    CADD_BENIGN,
    CADD_PATHOGENIC,
    DEFAULT_CONFIG,
    REVEL_BENIGN,
    REVEL_PATHOGENIC,
    AcmgConfig,
)
from genomed.interpret.acmg.evidence import VariantEvidence
from genomed.interpret.acmg.protein import ProteinChange
from genomed.interpret.acmg.pvs1 import NULL_CONSEQUENCES, evaluate_pvs1, lof_mechanism
from genomed.interpret.acmg.result import CATALOGUE, CriterionResult
from genomed.interpret.acmg.strength import Strength

MISSENSE = "missense_variant"
INFRAME = frozenset({"inframe_insertion", "inframe_deletion", "protein_altering_variant"})
SPLICE_REGION = frozenset({"splice_region_variant", "splice_donor_5th_base_variant", "splice_donor_region_variant",
                           "splice_polypyrimidine_tract_variant"})

# Criteria left to curators, with what they need.
_MANUAL = {
    "PS3": "needs well-established functional studies showing a damaging effect",
    "PS4": "needs case-control or proband-count data",
    "PP1": "needs segregation data from the family",
    "PP4": "needs a judgement that the phenotype is highly specific for the gene's disease",
    "BS3": "needs well-established functional studies showing no damaging effect",
    "BS4": "needs segregation data showing affected relatives without the variant",
    "BP2": "needs phasing with a pathogenic variant in a dominant gene, or in cis in any gene",
    "BP5": "needs an alternate molecular diagnosis in the case",
}


def _result(code: str, applied: bool, text: str, strength: Strength | None = None) -> CriterionResult:
    """A verdict with the conventional sentence start ("PM2_Supporting applied: …" / "PM2 not applied: …")."""
    info = CATALOGUE[code]
    strength = strength or info.default_strength
    verdict = CriterionResult(code, applied, strength, info.direction, "")
    head = f"{verdict.label} applied" if applied else f"{code} not applied"
    return CriterionResult(code, applied, strength, info.direction, f"{head}: {text}.")


def _pct(af: float) -> str:
    """A frequency as a percentage with three significant digits.

    >>> _pct(0.003), _pct(0.0000181), _pct(0.0)
    ('0.3%', '0.00181%', '0%')
    """
    return f"{af * 100:.3g}%"


def _consequences(evidence: VariantEvidence) -> frozenset[str]:
    effect = evidence.effect
    return frozenset(effect.consequences) if effect else frozenset()


def _is_missense(evidence: VariantEvidence) -> bool:
    return MISSENSE in _consequences(evidence)


def _highest(population: tuple[PopulationFrequency, ...], min_an: int = 1) -> PopulationFrequency | None:
    covered = [p for p in population if p.an >= min_an]
    return max(covered, key=lambda p: p.max_af) if covered else None


def _population(evidence: VariantEvidence) -> tuple[PopulationFrequency, ...] | None:
    return None if evidence.population is None else tuple(evidence.population)


# --- pathogenic ---------------------------------------------------------------------------------------

def _clinvar_matches(evidence: VariantEvidence, config: AcmgConfig,
                     keep: Callable[[ProteinChange, ProteinChange], bool]
                     ) -> tuple[ProteinChange | None, list[ClinVarAssertion], list[ClinVarAssertion]]:
    """Our substitution, and the ClinVar pathogenic records it matches, with and without enough stars."""
    effect = evidence.effect
    ours = ProteinChange.of_effect(effect) if effect else None
    if ours is None or not ours.missense or evidence.clinvar_same_position is None:
        return ours, [], []
    gene = evidence.gene_symbol
    good: list[ClinVarAssertion] = []
    low: list[ClinVarAssertion] = []
    for record in evidence.clinvar_same_position:
        theirs = ProteinChange.parse(record.hgvs_p)
        if theirs is None or record.variant == evidence.annotation.variant or not record.pathogenic:
            continue
        if gene and record.gene_symbol and record.gene_symbol != gene:
            continue
        if theirs.position != ours.position or theirs.ref != ours.ref or not keep(ours, theirs):
            continue
        (good if record.stars >= config.clinvar_min_stars else low).append(record)
    return ours, good, low


def _list(records: list[ClinVarAssertion]) -> str:
    return ", ".join(f"{r.accession} ({r.hgvs_p}, {r.significance}, {r.stars}★)" for r in records)


def _fully_pathogenic(record: ClinVarAssertion) -> bool:
    return record.significance.strip().lower().startswith("pathogenic")


def evaluate_ps1(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """PS1: the same amino-acid change as a pathogenic ClinVar variant with a different nucleotide change.

    Strong for a Pathogenic record, Moderate when the best is Likely pathogenic (ClinGen SVI).
    """
    if not _is_missense(evidence):
        return _result("PS1", False, "the variant is not a missense change")
    if evidence.clinvar_same_position is None:
        return _result("PS1", False, "ClinVar was not searched at this residue")
    ours, good, low = _clinvar_matches(evidence, config, lambda a, b: a.alt == b.alt)
    if ours is None:
        return _result("PS1", False, "the protein change of the variant is not known")
    if good:
        strength = Strength.STRONG if any(_fully_pathogenic(r) for r in good) else Strength.MODERATE
        return _result("PS1", True, f"{ours.hgvs} is the same amino-acid change as {_list(good)} in ClinVar, "
                                    "from a different nucleotide change", strength)
    if low:
        return _result("PS1", False, f"{ours.hgvs} matches {_list(low)}, but below the "
                                     f"{config.clinvar_min_stars}-star review status required")
    return _result("PS1", False, f"no pathogenic ClinVar variant gives the same change {ours.hgvs}")


def evaluate_pm5(evidence: VariantEvidence, config: AcmgConfig, ps1: CriterionResult) -> CriterionResult:
    """PM5: another missense change at this residue is pathogenic in ClinVar (Supporting if only likely)."""
    if not _is_missense(evidence):
        return _result("PM5", False, "the variant is not a missense change")
    if evidence.clinvar_same_position is None:
        return _result("PM5", False, "ClinVar was not searched at this residue")
    ours, good, low = _clinvar_matches(evidence, config, lambda a, b: b.missense and a.alt != b.alt)
    if ours is None:
        return _result("PM5", False, "the protein change of the variant is not known")
    if good and ps1.applied:
        return _result("PM5", False, f"{_list(good)} at the same residue, but PS1 already counts ClinVar evidence "
                                     "at this residue")
    if good:
        strength = Strength.MODERATE if any(_fully_pathogenic(r) for r in good) else Strength.SUPPORTING
        return _result("PM5", True, f"a different missense change at {ours.ref}{ours.position} is pathogenic in "
                                    f"ClinVar: {_list(good)}", strength)
    if low:
        return _result("PM5", False, f"{_list(low)} at the same residue, but below the "
                                     f"{config.clinvar_min_stars}-star review status required")
    return _result("PM5", False, f"no other pathogenic missense change at {ours.ref}{ours.position} in ClinVar")


def _de_novo_fits(evidence: VariantEvidence) -> tuple[bool, str]:
    gene = evidence.gene
    if gene is None or not gene.inheritance:
        return True, ""
    hemizygous_xlr = "XLR" in gene.inheritance and evidence.case.zygosity == "hemizygous"
    if gene.dominant or hemizygous_xlr:
        return True, ""
    return False, (f"{gene.symbol}'s diseases are {gene.inheritance_text}: a de novo heterozygous variant does "
                   "not explain a recessive disorder")


def evaluate_ps2(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """PS2: de novo with both parents tested and maternity and paternity confirmed."""
    status = evidence.case.de_novo
    if status != "confirmed":
        text = ("de novo status is only assumed (parental relationships not confirmed; see PM6)" if status
                else "the variant is not known to be de novo")
        return _result("PS2", False, text)
    fits, why = _de_novo_fits(evidence)
    if not fits:
        return _result("PS2", False, why)
    return _result("PS2", True, "confirmed de novo (both parents tested, maternity and paternity confirmed) in a "
                                "patient with the disease")


def evaluate_pm6(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """PM6: assumed de novo, parental relationships not confirmed."""
    status = evidence.case.de_novo
    if status != "assumed":
        text = "de novo status is confirmed (PS2 counts it)" if status else "the variant is not known to be de novo"
        return _result("PM6", False, text)
    fits, why = _de_novo_fits(evidence)
    if not fits:
        return _result("PM6", False, why)
    return _result("PM6", True, "absent from both parents, without confirmation of maternity and paternity")


def evaluate_pm1(evidence: VariantEvidence, config: AcmgConfig, pp3: CriterionResult) -> CriterionResult:
    """PM1: missense in a hotspot or critical domain; PP3 + PM1 together never exceed Strong (Pejaver 2022)."""
    if evidence.hotspot is None:
        return _result("PM1", False, "no hotspot or functional-domain data was supplied")
    if not _is_missense(evidence):
        return _result("PM1", False, "the variant is not a missense change")
    if not evidence.hotspot:
        return _result("PM1", False, "the residue is not in a known mutational hotspot or critical domain")
    room = Strength.STRONG.points - (pp3.strength.points if pp3.applied else 0)
    if room <= 0:
        return _result("PM1", False, f"the residue is in a hotspot, but {pp3.label} already reaches the Strong cap "
                                     "that PP3 and PM1 share (Pejaver et al. 2022)")
    strength = Strength.MODERATE if room >= Strength.MODERATE.points else Strength.SUPPORTING
    capped = "" if strength is Strength.MODERATE else f", reduced so that {pp3.label} + PM1 stay within Strong"
    return _result("PM1", True, f"missense in a mutational hotspot or critical functional domain without benign "
                                f"variation{capped}", strength)


def evaluate_pm2(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """PM2 at Supporting strength (ClinGen SVI 2020): absent, or rarer than the gene's ceiling."""
    population = _population(evidence)
    if population is None:
        return _result("PM2", False, "population frequencies were not looked up", Strength.SUPPORTING)
    gene = evidence.gene
    recessive_only = gene is not None and gene.recessive and not gene.dominant
    limit = config.pm2_max_af_recessive if recessive_only else config.pm2_max_af_dominant
    if recessive_only:
        kind = "recessive gene"
    else:
        kind = "dominant gene" if gene is not None and gene.inheritance else "gene of unknown inheritance"
    if population and all(p.an == 0 for p in population):
        names = ", ".join(p.source for p in population)
        return _result("PM2", False, f"the site is not covered in {names}, so absence cannot be judged",
                       Strength.SUPPORTING)
    top = _highest(population)
    if top is None or top.ac == 0:
        searched = ", ".join(p.source for p in population) or "the population databases searched"
        return _result("PM2", True, f"absent from {searched}", Strength.SUPPORTING)
    if top.max_af <= limit:
        return _result("PM2", True, f"seen in {top.source} at {_pct(top.max_af)}, at or below the {_pct(limit)} "
                                    f"ceiling for a {kind}", Strength.SUPPORTING)
    return _result("PM2", False, f"seen in {top.source} at {_pct(top.max_af)}, above the {_pct(limit)} ceiling "
                                 f"for a {kind}", Strength.SUPPORTING)


def evaluate_pm3(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """PM3 for recessive disorders: in trans with a pathogenic variant (Moderate), or homozygous (Supporting).

    One proband in trans with a pathogenic variant is 1 point of the ClinGen SVI PM3 scale (Moderate);
    a homozygous occurrence is 0.5 point (Supporting).
    """
    gene, case = evidence.gene, evidence.case
    if gene is not None and gene.inheritance and not gene.recessive:
        return _result("PM3", False, f"{gene.symbol}'s diseases are {gene.inheritance_text}, not recessive")
    if case.in_trans_with_pathogenic:
        return _result("PM3", True, "detected in trans with a pathogenic variant in this recessive gene")
    if case.zygosity == "homozygous":
        return _result("PM3", True, "homozygous in the patient (a homozygous occurrence counts at Supporting "
                                    "strength in ClinGen's PM3 scale)", Strength.SUPPORTING)
    if case.in_trans_with_pathogenic is False:
        return _result("PM3", False, "not in trans with a pathogenic variant")
    return _result("PM3", False, "no phase information with a pathogenic variant in this case")


def evaluate_pm4(evidence: VariantEvidence, config: AcmgConfig, pvs1: CriterionResult) -> CriterionResult:
    """PM4: in-frame deletion or insertion outside a repeat, or stop loss."""
    consequences = _consequences(evidence)
    if pvs1.applied:
        return _result("PM4", False, "PVS1 already counts the variant's effect on the protein")
    if "stop_lost" in consequences:
        return _result("PM4", True, "the stop codon is lost and the protein is extended")
    if not consequences & INFRAME:
        return _result("PM4", False, "the variant neither changes the protein length in frame nor loses the stop")
    if evidence.repeat_region:
        return _result("PM4", False, "the in-frame change lies in a repeat region (see BP3)")
    where = ("outside repeat regions" if evidence.repeat_region is False
             else "and no repeat annotation was supplied for the region")
    return _result("PM4", True, f"in-frame change of protein length {where}")


def evaluate_pp2(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """PP2: missense in a gene where missense is a common cause of disease and benign missense is rare."""
    gene = evidence.gene
    if not _is_missense(evidence):
        return _result("PP2", False, "the variant is not a missense change")
    if gene is None or gene.pathogenic_missense_variants is None or gene.benign_missense_variants is None:
        return _result("PP2", False, "the gene's counts of pathogenic and benign missense variants are not known")
    path, benign = gene.pathogenic_missense_variants, gene.benign_missense_variants
    fraction = benign / (path + benign) if path + benign else 1.0
    if path >= config.pp2_min_pathogenic_missense and fraction <= config.pp2_max_benign_missense_fraction:
        return _result("PP2", True, f"{gene.symbol} has {path} pathogenic and {benign} benign missense variants "
                                    f"({fraction:.0%} benign)")
    return _result("PP2", False, f"{gene.symbol} has {path} pathogenic and {benign} benign missense variants; PP2 "
                                 f"needs at least {config.pp2_min_pathogenic_missense} pathogenic and at most "
                                 f"{config.pp2_max_benign_missense_fraction:.0%} benign")


def _calibrated(score: float, table: tuple[tuple[float, Strength], ...], pathogenic: bool) -> Strength | None:
    for threshold, strength in table:
        if (score >= threshold) if pathogenic else (score <= threshold):
            return strength
    return None


def _predictor(config: AcmgConfig) -> tuple[str, tuple[tuple[float, Strength], ...],
                                            tuple[tuple[float, Strength], ...]]:
    if config.missense_predictor == "cadd":
        return "CADD", CADD_PATHOGENIC, CADD_BENIGN
    return "REVEL", REVEL_PATHOGENIC, REVEL_BENIGN


def evaluate_pp3(evidence: VariantEvidence, config: AcmgConfig, pvs1: CriterionResult) -> CriterionResult:
    """PP3 from the calibrated missense predictor (missense only) or SpliceAI ≥ 0.2, whichever is stronger."""
    if pvs1.applied:
        return _result("PP3", False, "PVS1 already counts the predicted loss of function (no double counting)")
    effect = evidence.effect
    if effect is not None and effect.impact is Impact.HIGH and set(effect.consequences) & NULL_CONSEQUENCES:
        return _result("PP3", False, "predictors are not calibrated for null variants")
    name, path_table, _ = _predictor(config)
    found: list[tuple[Strength, str]] = []
    missed: list[str] = []
    score = evidence.score(name)
    if _is_missense(evidence):
        if score is None:
            missed.append(f"no {name} score")
        else:
            strength = _calibrated(score, path_table, pathogenic=True)
            if strength:
                found.append((strength, f"{name} {score:g} is in the calibrated {strength.label} interval"))
            else:
                missed.append(f"{name} {score:g} is below the {path_table[-1][0]:g} supporting threshold")
    splice = evidence.score("spliceai")
    if splice is None:
        missed.append("no SpliceAI score")
    elif splice >= config.spliceai_pathogenic:
        found.append((Strength.SUPPORTING, f"SpliceAI {splice:g} predicts a splicing change "
                                           f"(≥{config.spliceai_pathogenic:g})"))
    else:
        missed.append(f"SpliceAI {splice:g} is below {config.spliceai_pathogenic:g}")
    if found:
        strength, text = max(found, key=lambda item: item[0].points)
        return _result("PP3", True, text + " (Pejaver et al. 2022; Walker et al. 2023)", strength)
    return _result("PP3", False, "; ".join(missed))


# --- benign -------------------------------------------------------------------------------------------

def _ba1_exempt(evidence: VariantEvidence, config: AcmgConfig) -> str | None:
    effect = evidence.effect
    if effect is None or effect.hgvs_c is None:
        return None
    hgvs_c = effect.hgvs_c.split(":")[-1]
    if (effect.gene_symbol, hgvs_c) in config.ba1_exceptions:
        return f"{effect.gene_symbol} {hgvs_c}"
    return None


def evaluate_ba1(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """BA1: above 5 % in a population of at least 2,000 alleles, unless on ClinGen's exception list."""
    population = _population(evidence)
    if population is None:
        return _result("BA1", False, "population frequencies were not looked up")
    top = _highest(population, config.ba1_min_an)
    if top is None:
        return _result("BA1", False, f"absent from, or fewer than {config.ba1_min_an} alleles in, the populations "
                                     "searched")
    if top.max_af <= config.ba1_af:
        return _result("BA1", False, f"highest frequency {_pct(top.max_af)} in {top.source}, not above "
                                     f"{_pct(config.ba1_af)}")
    exempt = _ba1_exempt(evidence, config)
    if exempt:
        return _result("BA1", False, f"{_pct(top.max_af)} in {top.source}, but {exempt} is on ClinGen's BA1 "
                                     "exception list (common and pathogenic, Ghosh et al. 2018)")
    return _result("BA1", True, f"{_pct(top.max_af)} in {top.source}, above {_pct(config.ba1_af)}")


def evaluate_bs1(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """BS1: more frequent than the disorder allows (1 % recessive, 0.1 % dominant by default).

    With unknown or mixed inheritance the recessive (higher) threshold is used: the criterion must
    not call a variant benign only because its gene's inheritance was not recorded.
    """
    population = _population(evidence)
    if population is None:
        return _result("BS1", False, "population frequencies were not looked up")
    gene = evidence.gene
    dominant_only = gene is not None and gene.dominant and not gene.recessive
    limit = config.bs1_af_dominant if dominant_only else config.bs1_af_recessive
    kind = "dominant" if dominant_only else ("recessive" if gene and gene.inheritance else "unknown-inheritance")
    top = _highest(population)
    if top is None or top.ac == 0:
        return _result("BS1", False, "absent from the populations searched")
    exempt = _ba1_exempt(evidence, config)
    if exempt and top.max_af > limit:
        return _result("BS1", False, f"{_pct(top.max_af)} in {top.source}, but {exempt} is a known common "
                                     "pathogenic variant (ClinGen BA1 exception list)")
    if top.max_af > limit:
        return _result("BS1", True, f"{_pct(top.max_af)} in {top.source}, above the {_pct(limit)} expected for a "
                                    f"{kind} disorder")
    return _result("BS1", False, f"{_pct(top.max_af)} in {top.source}, not above the {_pct(limit)} threshold "
                                 f"for a {kind} disorder")


def evaluate_bs2(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """BS2: healthy adults carry the genotype a fully penetrant disorder would make affected."""
    gene, case = evidence.gene, evidence.case
    if gene is not None and gene.incomplete_penetrance:
        return _result("BS2", False, f"{gene.symbol}'s disorder has incomplete penetrance")
    hom, het = case.healthy_adult_homozygotes, case.healthy_adult_heterozygotes
    if hom is None and het is None:
        return _result("BS2", False, "no counts of healthy adult carriers were supplied")
    if hom is not None and hom >= config.bs2_min_homozygotes:
        return _result("BS2", True, f"homozygous in {hom} healthy adults (at least {config.bs2_min_homozygotes} "
                                    "needed), incompatible with a fully penetrant disorder")
    dominant_only = gene is not None and gene.dominant and not gene.recessive
    if het is not None and het >= config.bs2_min_heterozygotes:
        if dominant_only:
            return _result("BS2", True, f"heterozygous in {het} healthy adults, incompatible with a fully penetrant "
                                        "dominant disorder")
        return _result("BS2", False, f"heterozygous in {het} healthy adults, which only argues against a dominant "
                                     f"disorder, and {gene.symbol if gene else 'the gene'} is "
                                     f"{gene.inheritance_text if gene else 'of unknown inheritance'}")
    return _result("BS2", False, f"healthy adult carriers ({hom or 0} homozygous, {het or 0} heterozygous) are "
                                 f"below the {config.bs2_min_homozygotes} homozygotes / "
                                 f"{config.bs2_min_heterozygotes} heterozygotes needed")


def evaluate_bp1(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """BP1: missense in a gene whose disease is caused by truncating variants (almost never missense)."""
    if not _is_missense(evidence):
        return _result("BP1", False, "the variant is not a missense change")
    gene = evidence.gene
    mechanism, _ = lof_mechanism(gene, config)
    if gene is None or not mechanism or gene.pathogenic_lof_variants is None \
            or gene.pathogenic_missense_variants is None:
        return _result("BP1", False, "the gene's spectrum of pathogenic truncating and missense variants is not known")
    lof, missense = gene.pathogenic_lof_variants, gene.pathogenic_missense_variants
    fraction = missense / (lof + missense) if lof + missense else 1.0
    if fraction <= config.bp1_max_pathogenic_missense_fraction:
        return _result("BP1", True, f"{gene.symbol}'s disease is caused by truncating variants: {lof} pathogenic "
                                    f"loss-of-function against {missense} missense ({fraction:.1%})")
    return _result("BP1", False, f"{missense} of {lof + missense} pathogenic variants in {gene.symbol} are missense "
                                 f"({fraction:.1%}, above {config.bp1_max_pathogenic_missense_fraction:.0%})")


def evaluate_bp3(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """BP3: in-frame indel in a repeat region without known function."""
    if not _consequences(evidence) & INFRAME:
        return _result("BP3", False, "the variant is not an in-frame insertion or deletion")
    if evidence.repeat_region:
        return _result("BP3", True, "in-frame change in a repetitive region without known function")
    if evidence.repeat_region is None:
        return _result("BP3", False, "no repeat annotation was supplied for the region")
    return _result("BP3", False, "the in-frame change is outside repeat regions (see PM4)")


def evaluate_bp4(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """BP4 from the calibrated missense predictor and SpliceAI ≤ 0.1 (Pejaver 2022, Walker 2023).

    A missense variant needs both a benign predictor interval and no predicted splicing change (when a
    SpliceAI score is missing, the missense interval is used and the reason says so); other
    non-null variants need SpliceAI ≤ 0.1.
    """
    effect = evidence.effect
    if effect is not None and set(effect.consequences) & NULL_CONSEQUENCES:
        return _result("BP4", False, "predictors are not calibrated for null variants")
    name, _, benign_table = _predictor(config)
    splice = evidence.score("spliceai")
    splice_ok = splice is not None and splice <= config.spliceai_benign
    if _is_missense(evidence):
        score = evidence.score(name)
        if score is None:
            return _result("BP4", False, f"no {name} score for this missense variant")
        strength = _calibrated(score, benign_table, pathogenic=False)
        if strength is None:
            return _result("BP4", False, f"{name} {score:g} is above the {benign_table[-1][0]:g} benign threshold")
        if splice is not None and not splice_ok:
            return _result("BP4", False, f"{name} {score:g} is benign, but SpliceAI {splice:g} does not exclude a "
                                         "splicing change")
        note = f", SpliceAI {splice:g}" if splice is not None else " (no SpliceAI score: splicing not assessed)"
        return _result("BP4", True, f"{name} {score:g} is in the calibrated benign {strength.label} interval{note}",
                       strength)
    if splice is None:
        return _result("BP4", False, "no SpliceAI score for this non-missense variant")
    if splice_ok:
        return _result("BP4", True, f"SpliceAI {splice:g} predicts no splicing change (≤{config.spliceai_benign:g})")
    return _result("BP4", False, f"SpliceAI {splice:g} is above {config.spliceai_benign:g}")


def evaluate_bp7(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """BP7: synonymous with no predicted splicing change (SpliceAI ≤ 0.1, or no splice region at all)."""
    consequences = _consequences(evidence)
    if "synonymous_variant" not in consequences:
        return _result("BP7", False, "the variant is not synonymous")
    splice = evidence.score("spliceai")
    in_region = bool(consequences & SPLICE_REGION)
    if splice is not None and splice > config.spliceai_benign:
        return _result("BP7", False, f"synonymous, but SpliceAI {splice:g} predicts a possible splicing change")
    if splice is None and in_region:
        return _result("BP7", False, "synonymous in a splice region without a SpliceAI score")
    how = (f"SpliceAI {splice:g} ≤ {config.spliceai_benign:g}" if splice is not None
           else "outside any splice region (no SpliceAI score)")
    return _result("BP7", True, f"synonymous with no predicted splicing change ({how})")


def _manual(code: str) -> CriterionResult:
    return _result(code, False, f"not assessed automatically: {_MANUAL[code]}; a curator applies it with an override")


def evaluate_criteria(evidence: VariantEvidence, config: AcmgConfig = DEFAULT_CONFIG) -> tuple[CriterionResult, ...]:
    """Every criterion of the catalogue, in catalogue order, applied or not, each with its reason."""
    pvs1 = evaluate_pvs1(evidence, config)
    ps1 = evaluate_ps1(evidence, config)
    pp3 = evaluate_pp3(evidence, config, pvs1)
    results = {
        "PVS1": pvs1,
        "PS1": ps1,
        "PS2": evaluate_ps2(evidence, config),
        "PM1": evaluate_pm1(evidence, config, pp3),
        "PM2": evaluate_pm2(evidence, config),
        "PM3": evaluate_pm3(evidence, config),
        "PM4": evaluate_pm4(evidence, config, pvs1),
        "PM5": evaluate_pm5(evidence, config, ps1),
        "PM6": evaluate_pm6(evidence, config),
        "PP2": evaluate_pp2(evidence, config),
        "PP3": pp3,
        "BA1": evaluate_ba1(evidence, config),
        "BS1": evaluate_bs1(evidence, config),
        "BS2": evaluate_bs2(evidence, config),
        "BP1": evaluate_bp1(evidence, config),
        "BP3": evaluate_bp3(evidence, config),
        "BP4": evaluate_bp4(evidence, config),
        "BP7": evaluate_bp7(evidence, config),
    }
    for code in _MANUAL:
        results[code] = _manual(code)
    return tuple(results[code] for code in CATALOGUE)
