"""Thresholds of the automated ACMG/AMP criteria, in one frozen place with their sources.

A laboratory validates its classifier against its own cases and may tune a threshold (a disease
with a known carrier frequency, a gene-specific VCEP specification); every number lives here, with
the publication it comes from, so that a classification can record exactly which settings made it.

Sources:

- Richards et al. 2015, Genet Med 17:405 — the criteria and the 2015 combining rules.
- Abou Tayoun et al. 2018, Hum Mutat 39:1517 — the PVS1 decision tree (ClinGen SVI).
- ClinGen SVI 2020 recommendation for PM2 — PM2 only at Supporting strength.
- Ghosh et al. 2018, Hum Mutat 39:1525 — BA1 at 5 % in a continental population with ≥2,000
  alleles, and the list of variants exempt from it.
- Oza et al. 2018, Hum Mutat 39:1593 (ClinGen Hearing Loss VCEP) — the PM2 frequency ceilings
  (0.002 % dominant, 0.07 % recessive) that many later expert panels reused.
- Pejaver et al. 2022, Am J Hum Genet 109:2163 — calibrated REVEL and CADD intervals for PP3/BP4.
- Walker et al. 2023, Am J Hum Genet 110:1046 (ClinGen SVI splicing) — SpliceAI ≥0.2 for PP3,
  ≤0.1 for BP4/BP7.
- Tavtigian et al. 2020, Hum Mutat 41:1734 — the points scale used to combine criteria.
"""

from __future__ import annotations

from dataclasses import dataclass

from genomed.interpret.acmg.strength import Strength

# Pejaver et al. 2022, Table 2: (threshold, strength), the most stringent first. Pathogenic
# intervals are "score ≥ threshold", benign intervals "score ≤ threshold". REVEL reaches no Very
# Strong pathogenic interval; CADD (PHRED) reaches neither Strong nor Very Strong.
REVEL_PATHOGENIC: tuple[tuple[float, Strength], ...] = (
    (0.932, Strength.STRONG), (0.773, Strength.MODERATE), (0.644, Strength.SUPPORTING),
)
REVEL_BENIGN: tuple[tuple[float, Strength], ...] = (
    (0.003, Strength.VERY_STRONG), (0.016, Strength.STRONG), (0.183, Strength.MODERATE),
    (0.290, Strength.SUPPORTING),
)
CADD_PATHOGENIC: tuple[tuple[float, Strength], ...] = ((28.1, Strength.MODERATE), (25.3, Strength.SUPPORTING))
CADD_BENIGN: tuple[tuple[float, Strength], ...] = ((17.3, Strength.MODERATE), (22.7, Strength.SUPPORTING))

# Ghosh et al. 2018, Table 2: common variants that still cause disease, exempt from BA1. Keyed by
# gene and HGVS c. (on the MANE/RefSeq transcript, without the accession).
BA1_EXCEPTIONS: frozenset[tuple[str, str]] = frozenset({
    ("ACAD9", "c.-44_-41dup"), ("ACAD9", "c.-44_-41dupTAAT"),
    ("GJB2", "c.-23+1G>A"), ("GJB2", "c.109G>A"),
    ("HFE", "c.187C>G"), ("HFE", "c.845G>A"),
    ("MEFV", "c.1105C>T"), ("MEFV", "c.1223G>A"),
    ("PIBF1", "c.1214G>A"),
    ("BTD", "c.1330G>C"),
})


@dataclass(frozen=True, slots=True)
class AcmgConfig:
    """Every threshold the automated criteria use; the defaults follow ClinGen SVI guidance.

    Frequencies are fractions (0.05 = 5 %). ``missense_predictor`` names the one missense tool whose
    calibrated intervals PP3/BP4 use ("revel" or "cadd"): Pejaver et al. ask for one tool chosen in
    advance, not a vote of several.

    >>> AcmgConfig().ba1_af, AcmgConfig().pm2_max_af_dominant
    (0.05, 2e-05)
    """

    # BA1 / BS1 / PM2 (population frequency)
    ba1_af: float = 0.05
    ba1_min_an: int = 2000
    ba1_exceptions: frozenset[tuple[str, str]] = BA1_EXCEPTIONS
    bs1_af_recessive: float = 0.01
    bs1_af_dominant: float = 0.001
    pm2_max_af_dominant: float = 0.00002
    pm2_max_af_recessive: float = 0.0007
    # BS2: how many healthy adults must carry the genotype that full penetrance forbids.
    bs2_min_homozygotes: int = 2
    bs2_min_heterozygotes: int = 2
    # PVS1
    lof_mechanism_min_pathogenic_lof: int = 3
    pvs1_removed_fraction: float = 0.10
    pvs1_start_lost: Strength = Strength.MODERATE
    pvs1_splice_unknown_frame: Strength = Strength.MODERATE
    # PS1 / PM5 (ClinVar)
    clinvar_min_stars: int = 1
    # PP3 / BP4 / BP7
    missense_predictor: str = "revel"
    spliceai_pathogenic: float = 0.2
    spliceai_benign: float = 0.1
    # PP2 / BP1 (gene-level missense spectrum; local heuristics, there is no consensus number)
    pp2_min_pathogenic_missense: int = 10
    pp2_max_benign_missense_fraction: float = 0.10
    bp1_max_pathogenic_missense_fraction: float = 0.05

    def __post_init__(self) -> None:
        from genomed.errors import InputError

        for name in ("ba1_af", "bs1_af_recessive", "bs1_af_dominant", "pm2_max_af_dominant", "pm2_max_af_recessive",
                     "pvs1_removed_fraction", "spliceai_pathogenic", "spliceai_benign",
                     "pp2_max_benign_missense_fraction", "bp1_max_pathogenic_missense_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"ACMG setting {name}={value} is not a fraction between 0 and 1")
        if self.missense_predictor not in ("revel", "cadd"):
            raise InputError(f"ACMG setting missense_predictor={self.missense_predictor!r}: use 'revel' or 'cadd'")
        if self.spliceai_benign >= self.spliceai_pathogenic:
            raise InputError("ACMG settings: spliceai_benign must be below spliceai_pathogenic")
        if not self.pm2_max_af_dominant <= self.bs1_af_dominant <= self.ba1_af:
            raise InputError("ACMG settings: dominant thresholds must rise PM2 ≤ BS1 ≤ BA1")
        if not self.pm2_max_af_recessive <= self.bs1_af_recessive <= self.ba1_af:
            raise InputError("ACMG settings: recessive thresholds must rise PM2 ≤ BS1 ≤ BA1")


DEFAULT_CONFIG = AcmgConfig()
