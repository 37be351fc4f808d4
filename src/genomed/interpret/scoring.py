"""How damaging and how rare a variant is, as one number in [0, 1], and how gene scores combine.

The variant score is pathogenicity × rarity, the design Exomiser validated on real exomes:

* pathogenicity by the most severe consequence (loss of function 1.0, missense and in-frame 0.6,
  splice region 0.35, …), replaced by a calibrated in-silico score when one is supplied, and set to 1
  for a variant ClinVar classifies pathogenic with at least one review star, or that another
  published patient's diagnosis rests on (``genomed.interpret.case_knowledge``), and raised for a
  missense or in-frame change a few bases from such a variant (the residue or hot spot is known);
* rarity ``1.13533 − 0.13533·e^(AF%)`` (1 when absent, falling to 0 at 2%), Exomiser's curve.

The rank score adds the phenotype similarity and the weighted variant score: a perfect variant in
a gene with no phenotype match, or a perfect phenotype match with a benign-looking variant, both
stay below a gene where the two agree. Its weight is general (fitted once on the development half
of the published cases, never per case) and recorded in provenance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from genomed.annotate.model import ClinVarAssertion, Impact, VariantAnnotation

# Prior pathogenicity of a consequence class without further evidence.
CONSEQUENCE_PATHOGENICITY: dict[str, float] = {
    "transcript_ablation": 1.0,
    "stop_gained": 1.0,
    "frameshift_variant": 1.0,
    "splice_acceptor_variant": 1.0,
    "splice_donor_variant": 1.0,
    "start_lost": 1.0,
    "stop_lost": 0.85,
    "initiator_codon_variant": 1.0,
    "inframe_deletion": 0.6,
    "inframe_insertion": 0.6,
    "protein_altering_variant": 0.6,
    "missense_variant": 0.6,
    "coding_sequence_variant": 0.5,
    "splice_donor_5th_base_variant": 0.45,
    "splice_region_variant": 0.35,
    "splice_donor_region_variant": 0.35,
    "splice_polypyrimidine_tract_variant": 0.2,
    "stop_retained_variant": 0.1,
    "synonymous_variant": 0.1,
    "5_prime_UTR_variant": 0.1,
    "3_prime_UTR_variant": 0.05,
    "intron_variant": 0.0,
    "upstream_gene_variant": 0.0,
    "downstream_gene_variant": 0.0,
}


def rarity(max_af: float) -> float:
    """Exomiser's frequency score: 1 for an unseen variant, 0 from 2% on.

    >>> rarity(0.0), round(rarity(0.001), 3), rarity(0.03)
    (1.0, 0.987, 0.0)
    """
    if max_af <= 0:
        return 1.0
    percent = max_af * 100
    if percent > 2:
        return 0.0
    return max(0.0, 1.13533 - 0.13533 * math.exp(percent))


PROTEIN_CHANGING = frozenset({"missense_variant", "inframe_deletion", "inframe_insertion",
                              "protein_altering_variant"})
"""Consequences whose effect depends on where in the protein they fall."""


def pathogenicity(annotation: VariantAnnotation, gene: str, clinvar: ClinVarAssertion | None = None,
                  scores: dict[str, float] | None = None, *, published: bool = False,
                  near_published: float = 0.0) -> tuple[float, str]:
    """The variant's pathogenicity on ``gene`` in [0, 1], with the consequence that gave it.

    ``published``: the variant was reported as causal in another published patient, which counts
    as a ClinVar pathogenic record does. ``near_published``: the pathogenicity a missense or
    in-frame change is raised to because another patient's causal variant lies a few bases away
    (0: none does).
    """
    on_gene = [e for e in annotation.effects if e.gene_symbol == gene]
    best, term = 0.0, (on_gene[0].most_severe if on_gene else "intergenic_variant")
    for effect in on_gene:
        for consequence in effect.consequences:
            value = CONSEQUENCE_PATHOGENICITY.get(consequence, 0.3 if effect.impact >= Impact.MODERATE else 0.0)
            if value > best:
                best, term = value, consequence
    if scores and "REVEL" in scores and term == "missense_variant":
        best = max(0.1, min(1.0, scores["REVEL"]))
    if near_published and term in PROTEIN_CHANGING:
        best = max(best, near_published)
    if (clinvar is not None and clinvar.pathogenic and clinvar.stars >= 1) or published:
        best = 1.0
    return best, term


@dataclass(frozen=True)
class CombinationModel:
    """The rank score: phenotype similarity plus weighted variant score (see the module docstring).

    The phenotype enters as the scorer's *adjusted similarity* (mean information content shared with
    the best disease, less what random phenotypes share with it), which keeps its resolution where
    the calibrated p-value saturates near 1; a gene with no annotated disease gets
    ``no_phenotype``. ``variant_weight`` was fitted once on the development half of the published
    cases (top-1 and top-5 together, a grid over 0.5–1.5) and is recorded in provenance.
    """

    variant_weight: float = 1.0
    no_phenotype: float = -1.0

    def combine(self, phenotype: float | None, variant: float) -> float:
        """The rank score (higher ranks first)."""
        return (self.no_phenotype if phenotype is None else phenotype) + self.variant_weight * variant

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, for provenance."""
        return asdict(self)
