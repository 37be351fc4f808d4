"""PVS1, the loss-of-function criterion, by the ClinGen SVI decision tree (Abou Tayoun et al. 2018).

The tree asks, in order: is loss of function a known mechanism for the gene? (if not, PVS1 does not
apply at all); what kind of null variant is it? then grades it:

- nonsense or frameshift predicted to trigger nonsense-mediated decay (NMD) → PVS1 (Very Strong);
- nonsense or frameshift escaping NMD (new stop in the last exon or in the last 50 nucleotides of
  the penultimate exon) → PVS1_Strong if it removes more than 10 % of the protein, else
  PVS1_Moderate (the tree's "role of the region unknown" branch: whether the lost region is
  critical to function is a curator's call, made with an override);
- canonical ±1/2 splice site → graded by the exon skipping it causes: out of frame with NMD →
  PVS1; otherwise Strong/Moderate by the fraction of protein removed. Without an exon-skipping
  prediction it gets the floor the tree guarantees (Moderate by default);
- start loss → PVS1_Moderate (the tree's Supporting applies when no pathogenic variant is known
  upstream of the next in-frame methionine; a curator downgrades with an override).
"""

from __future__ import annotations

from genomed.annotate.mane import Transcript
from genomed.annotate.model import TranscriptEffect
from genomed.errors import InputError
from genomed.interpret.acmg.config import AcmgConfig
from genomed.interpret.acmg.evidence import ExonSkipping, GeneFacts, VariantEvidence
from genomed.interpret.acmg.result import CriterionResult
from genomed.interpret.acmg.strength import Direction, Strength

TRUNCATING = frozenset({"stop_gained", "frameshift_variant"})
CANONICAL_SPLICE = frozenset({"splice_donor_variant", "splice_acceptor_variant"})
START_LOST = frozenset({"start_lost"})
WHOLE_GENE = frozenset({"transcript_ablation"})
NULL_CONSEQUENCES = TRUNCATING | CANONICAL_SPLICE | START_LOST | WHOLE_GENE


def lof_mechanism(gene: GeneFacts | None, config: AcmgConfig) -> tuple[bool | None, str]:
    """Whether loss of function is a known disease mechanism for the gene, and the words why.

    >>> from genomed.interpret.acmg.config import DEFAULT_CONFIG
    >>> lof_mechanism(GeneFacts("WDR62", ("AR",), pathogenic_lof_variants=40), DEFAULT_CONFIG)
    (True, 'WDR62 has 40 pathogenic loss-of-function variants in ClinVar')
    """
    if gene is None:
        return None, "no gene-level facts were supplied to say whether loss of function causes disease"
    if gene.lof_mechanism is not None:
        verb = "is" if gene.lof_mechanism else "is not"
        return gene.lof_mechanism, f"loss of function {verb} a curated disease mechanism for {gene.symbol}"
    if gene.haploinsufficient:
        return True, f"{gene.symbol} is haploinsufficient"
    count = gene.pathogenic_lof_variants
    if count is not None:
        if count >= config.lof_mechanism_min_pathogenic_lof:
            return True, f"{gene.symbol} has {count} pathogenic loss-of-function variants in ClinVar"
        return False, (f"{gene.symbol} has only {count} pathogenic loss-of-function variant(s) in ClinVar "
                       f"(at least {config.lof_mechanism_min_pathogenic_lof} establish the mechanism) "
                       "and no haploinsufficiency curation")
    return None, f"whether loss of function causes disease in {gene.symbol} is not known"


def removed_fraction(effect: TranscriptEffect) -> float | None:
    """Fraction of the protein lost or altered from the first changed residue to the end.

    >>> from genomed.annotate.model import Impact
    >>> e = TranscriptEffect("T", "G", "G1", ("stop_gained",), Impact.HIGH, protein_position=451,
    ...                      protein_length=500)
    >>> removed_fraction(e)
    0.1
    """
    position, length = effect.protein_position, effect.protein_length
    if position is None or length is None or length <= 0:
        return None
    if not 1 <= position <= length + 1:
        raise InputError(f"{effect.transcript_id}: protein position {position} is outside a protein of "
                         f"{length} residues")
    return (length - position + 1) / length


def exon_skipping(transcript: Transcript, effect: TranscriptEffect) -> ExonSkipping:
    """What skipping the exon next to a canonical splice variant does to a (MANE) transcript.

    A donor variant in intron *i* (transcript order) skips exon *i*, an acceptor variant exon
    *i+1*. Skipping is in frame when the exon's coding length is a multiple of 3. An out-of-frame
    skip is predicted to trigger NMD unless the frameshift starts in the last two exons (the new
    stop then falls in the last exon or near its junction — an approximation: the exact stop needs
    the sequence). The removed fraction is the exon's share of the coding sequence when in frame,
    and everything from the exon to the stop codon when out of frame.

    >>> from genomed.annotate.model import Impact
    >>> t = Transcript("chr1", 0, 1000, "+", ((0, 100), (200, 300), (400, 500), (600, 1000)), 50, 700,
    ...                "G", "ENSG1", "ENST1", "NM_1", "ENSP1", "MANE Select")
    >>> e = TranscriptEffect("ENST1", "G", "ENSG1", ("splice_donor_variant",), Impact.HIGH, intron=(2, 3))
    >>> exon_skipping(t, e)
    ExonSkipping(exon=2, exon_count=4, coding_bases=100, in_frame=False, nmd_predicted=True, removed_fraction=0.857143)
    """
    consequences = set(effect.consequences)
    if effect.intron is None or not consequences & CANONICAL_SPLICE:
        raise InputError(f"{effect.transcript_id}: exon skipping needs a canonical splice variant with its intron")
    exons = transcript.exons if transcript.strand == "+" else tuple(reversed(transcript.exons))
    intron, intron_count = effect.intron
    if intron_count != len(exons) - 1 or not 1 <= intron <= intron_count:
        raise InputError(f"{effect.transcript_id}: intron {intron}/{intron_count} does not fit transcript "
                         f"{transcript.ensembl_id} with {len(exons)} exons")
    if not transcript.coding:
        raise InputError(f"transcript {transcript.ensembl_id} is non-coding: exon skipping has no protein effect")
    number = intron if "splice_donor_variant" in consequences else intron + 1
    start, end = exons[number - 1]
    coding = max(0, min(end, transcript.cds_end) - max(start, transcript.cds_start))
    cds_length = transcript.cds_length
    in_frame = coding % 3 == 0
    if in_frame:
        removed = coding / cds_length
    else:
        # coding bases from the skipped exon to the stop codon, in transcript direction
        if transcript.strand == "+":
            downstream = sum(hi - lo for lo, hi in transcript.cds_exons() if hi > start)
        else:
            downstream = sum(hi - lo for lo, hi in transcript.cds_exons() if lo < end)
        removed = downstream / cds_length
    nmd = not in_frame and coding > 0 and number <= len(exons) - 2
    return ExonSkipping(exon=number, exon_count=len(exons), coding_bases=coding, in_frame=in_frame,
                        nmd_predicted=nmd, removed_fraction=round(removed, 6))


def evaluate_pvs1(evidence: VariantEvidence, config: AcmgConfig) -> CriterionResult:
    """PVS1 at the strength the decision tree gives, or not applied with the branch that stopped it."""
    effect = evidence.effect
    if effect is None:
        return _no("the variant changes no transcript")
    consequences = set(effect.consequences)
    null = consequences & NULL_CONSEQUENCES
    if not null:
        return _no(f"a {effect.most_severe.replace('_', ' ')} is not a null variant (nonsense, frameshift, "
                   "canonical ±1/2 splice site, start loss or whole-gene deletion)")
    mechanism, why = lof_mechanism(evidence.gene, config)
    if not mechanism:
        return _no(f"{why}, and the decision tree requires it to be established")
    gene = evidence.gene.symbol if evidence.gene else effect.gene_symbol
    if null & WHOLE_GENE:
        return _yes(Strength.VERY_STRONG, f"the whole transcript is deleted and {why}")
    if null & TRUNCATING:
        return _truncating(effect, why, config)
    if null & CANONICAL_SPLICE:
        return _splice(evidence.exon_skipping, gene, why, config)
    return _yes(config.pvs1_start_lost,
                f"the start codon is lost and {why}; the SVI tree gives Moderate when pathogenic variants "
                "are known upstream of the next in-frame methionine (Supporting otherwise: a curator may "
                "downgrade)")


def _truncating(effect: TranscriptEffect, why: str, config: AcmgConfig) -> CriterionResult:
    kind = "frameshift" if "frameshift_variant" in effect.consequences else "nonsense"
    escape = effect.nmd_escape
    if escape is None and effect.exon is not None and effect.exon[0] == effect.exon[1]:
        escape = True
    if escape is False:
        return _yes(Strength.VERY_STRONG, f"{kind} variant predicted to cause nonsense-mediated decay, and {why}")
    fraction = removed_fraction(effect)
    where = ("escapes nonsense-mediated decay (new stop in the last exon or the last 50 nucleotides of the "
             "penultimate exon)" if escape else "has no nonsense-mediated decay prediction")
    if fraction is None:
        return _yes(Strength.MODERATE, f"{kind} variant that {where} and whose removed share of the protein "
                                       f"is unknown, graded at the tree's floor; {why}")
    limit = config.pvs1_removed_fraction
    strength = Strength.STRONG if fraction > limit else Strength.MODERATE
    compare = "more" if fraction > limit else "no more"
    return _yes(strength, f"{kind} variant that {where}; it removes or alters {fraction:.1%} of the protein, "
                          f"{compare} than {limit:.0%}; {why}")


def _splice(skipping: ExonSkipping | None, gene: str, why: str, config: AcmgConfig) -> CriterionResult:
    if skipping is None:
        return _yes(config.pvs1_splice_unknown_frame,
                    f"canonical ±1/2 splice variant with no exon-skipping prediction, graded at the tree's floor "
                    f"({config.pvs1_splice_unknown_frame.label}); {why}")
    exon = f"exon {skipping.exon}/{skipping.exon_count} of {gene}"
    if skipping.coding_bases == 0:
        return _no(f"skipping {exon} removes no coding sequence")
    limit = config.pvs1_removed_fraction
    if not skipping.in_frame and skipping.nmd_predicted:
        return _yes(Strength.VERY_STRONG, f"canonical splice variant; skipping {exon} shifts the reading frame "
                                          f"and is predicted to cause nonsense-mediated decay; {why}")
    frame = "keeps the reading frame" if skipping.in_frame else "shifts the reading frame without predicted decay"
    strength = Strength.STRONG if skipping.removed_fraction > limit else Strength.MODERATE
    compare = "more" if skipping.removed_fraction > limit else "no more"
    return _yes(strength, f"canonical splice variant; skipping {exon} {frame} and removes or alters "
                          f"{skipping.removed_fraction:.1%} of the protein, {compare} than {limit:.0%}; {why}")


def _yes(strength: Strength, text: str) -> CriterionResult:
    label = "PVS1" if strength is Strength.VERY_STRONG else f"PVS1_{strength.label}"
    return CriterionResult("PVS1", True, strength, Direction.PATHOGENIC, f"{label} applied: {text}.")


def _no(text: str) -> CriterionResult:
    return CriterionResult("PVS1", False, Strength.VERY_STRONG, Direction.PATHOGENIC, f"PVS1 not applied: {text}.")
