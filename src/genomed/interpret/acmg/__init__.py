"""ACMG/AMP germline variant classification: criteria, points, overrides (pure logic, no database).

:func:`classify` takes the evidence gathered for one variant (:class:`VariantEvidence`), evaluates
every criterion it can automate with the ClinGen SVI refinements (PVS1 decision tree, PM2 at
Supporting, calibrated PP3/BP4, BA1 exceptions), applies a curator's :class:`Override` s and
combines the verdicts with the Bayesian points of Tavtigian et al. 2020, reporting the 2015
combining rules alongside.
"""

from genomed.interpret.acmg.classify import Override, apply_overrides, classify
from genomed.interpret.acmg.combine import AcmgClass, Classification, combine, points_class, rules_2015
from genomed.interpret.acmg.config import DEFAULT_CONFIG, AcmgConfig
from genomed.interpret.acmg.criteria import evaluate_criteria
from genomed.interpret.acmg.evidence import CaseFacts, ExonSkipping, GeneFacts, VariantEvidence
from genomed.interpret.acmg.pvs1 import exon_skipping
from genomed.interpret.acmg.result import CATALOGUE, CriterionResult
from genomed.interpret.acmg.strength import Direction, Strength

__all__ = [
    "CATALOGUE", "DEFAULT_CONFIG", "AcmgClass", "AcmgConfig", "CaseFacts", "Classification", "CriterionResult",
    "Direction", "ExonSkipping", "GeneFacts", "Override", "Strength", "VariantEvidence", "apply_overrides",
    "classify", "combine", "evaluate_criteria", "exon_skipping", "points_class", "rules_2015",
]
