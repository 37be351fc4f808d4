"""Which of a proband's variants are worth a clinician's time: quality, frequency and consequence filters.

The thresholds are configurable per analysis and recorded in its provenance. Defaults follow
common practice for rare Mendelian disease (Exomiser, ACMG/ClinGen SVI): a dominant cause is rarer
than 0.1% in the population, a recessive one than 1% (carriers of recessive disease alleles are
common), and only consequences that can change a protein or its splicing are kept. Quality
filtering is deliberately lenient (GQ ≥ 20, DP ≥ 8): missing a causal variant costs more than
reviewing a doubtful one, and the report shows each call's quality.

Filters run on numpy arrays before annotation where they can (quality, frequency), so a genome's
five million variants shrink to a few thousand before any per-variant work.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from genomed.annotate.model import Impact, VariantAnnotation
from genomed.interpret.case_data import HET, HOM, CaseCalls

# Consequences kept although VEP rates them LOW or MODIFIER: they can disrupt splicing, or (without a
# reference FASTA, when codons cannot be read) they change the coding sequence in an unknown way.
SPLICE_LOW = frozenset({"splice_region_variant", "splice_donor_5th_base_variant", "splice_donor_region_variant",
                        "splice_polypyrimidine_tract_variant", "coding_sequence_variant"})


@dataclass(frozen=True)
class FilterConfig:
    """Thresholds of one analysis (all recorded in provenance)."""

    max_af_dominant: float = 0.001
    max_af_recessive: float = 0.01
    min_gq: int = 20
    min_dp: int = 8
    min_allele_balance: float = 0.15
    require_filter_pass: bool = False
    min_impact: Impact = Impact.MODERATE
    keep_consequences: frozenset[str] = field(default=SPLICE_LOW)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, for provenance."""
        out = asdict(self)
        out["min_impact"] = self.min_impact.name
        out["keep_consequences"] = sorted(self.keep_consequences)
        return out


def quality_mask(calls: CaseCalls, config: FilterConfig) -> npt.NDArray[np.bool_]:
    """Rows whose proband call is confident enough (unknown GQ/DP pass: not every caller reports them)."""
    gq, dp = calls.gq[:, 0], calls.dp[:, 0]
    ok = np.isin(calls.genotype[:, 0], (HET, HOM))
    ok &= (gq < 0) | (gq >= config.min_gq)
    ok &= (dp < 0) | (dp >= config.min_dp)
    het = calls.genotype[:, 0] == HET
    known = (calls.ad_alt >= 0) & (dp > 0)
    balance = np.where(known, calls.ad_alt / np.maximum(dp, 1), 1.0)
    ok &= ~(het & known & (balance < config.min_allele_balance))
    if config.require_filter_pass:
        ok &= calls.filter_pass
    return ok


def frequency_mask(max_af: npt.NDArray[np.float64], config: FilterConfig) -> npt.NDArray[np.bool_]:
    """Rows rare enough for at least the recessive threshold (dominant modes re-check the stricter one)."""
    return max_af <= config.max_af_recessive


def consequence_passes(annotation: VariantAnnotation, config: FilterConfig) -> bool:
    """Whether any transcript effect is damaging enough to keep the variant."""
    for effect in annotation.effects:
        if effect.impact >= config.min_impact or any(c in config.keep_consequences for c in effect.consequences):
            return True
    return False
