"""One criterion's verdict, and the catalogue of the ACMG/AMP criteria this package knows.

Every criterion is reported whether it applies or not, each with a sentence a clinician can check
("PM2 not applied: seen in gnomAD exomes v4.0 at 0.3 %, above the 0.002 % ceiling for a dominant
gene"). A curator's override replaces the verdict but keeps the automated one attached, so a
report or an audit can always show what the machine said and who changed it.

PP5 and BP6 (a reputable source's classification) are not in the catalogue: ClinGen SVI retired
them in 2018 (Biesecker & Harrison, Genet Med 20:1687) because they count the same evidence twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from genomed.errors import InputError
from genomed.interpret.acmg.strength import Direction, Strength


@dataclass(frozen=True, slots=True)
class CriterionInfo:
    """What a criterion is: its default strength, direction and the words of Richards et al. 2015."""

    code: str
    direction: Direction
    default_strength: Strength
    meaning: str
    automated: bool


_P, _B = Direction.PATHOGENIC, Direction.BENIGN
_VS, _S, _M, _SP, _SA = (Strength.VERY_STRONG, Strength.STRONG, Strength.MODERATE, Strength.SUPPORTING,
                         Strength.STAND_ALONE)

CATALOGUE: dict[str, CriterionInfo] = {info.code: info for info in (
    CriterionInfo("PVS1", _P, _VS, "null variant in a gene where loss of function causes disease", True),
    CriterionInfo("PS1", _P, _S, "same amino-acid change as an established pathogenic variant", True),
    CriterionInfo("PS2", _P, _S, "de novo, maternity and paternity confirmed", True),
    CriterionInfo("PS3", _P, _S, "well-established functional studies show a damaging effect", False),
    CriterionInfo("PS4", _P, _S, "prevalence in affected individuals significantly above controls", False),
    CriterionInfo("PM1", _P, _M, "in a mutational hotspot or critical functional domain without benign variation",
                  True),
    CriterionInfo("PM2", _P, _M, "absent from controls, or extremely rare for a recessive disorder", True),
    CriterionInfo("PM3", _P, _M, "for recessive disorders, detected in trans with a pathogenic variant", True),
    CriterionInfo("PM4", _P, _M, "protein length change: in-frame indel in a non-repeat region, or stop loss", True),
    CriterionInfo("PM5", _P, _M, "novel missense change at a residue where another missense change is pathogenic",
                  True),
    CriterionInfo("PM6", _P, _M, "assumed de novo, without confirmation of maternity and paternity", True),
    CriterionInfo("PP1", _P, _SP, "co-segregation with disease in multiple affected family members", False),
    CriterionInfo("PP2", _P, _SP, "missense in a gene with a low rate of benign missense variation", True),
    CriterionInfo("PP3", _P, _SP, "computational evidence supports a deleterious effect", True),
    CriterionInfo("PP4", _P, _SP, "patient's phenotype or family history highly specific for the gene's disease",
                  False),
    CriterionInfo("BA1", _B, _SA, "allele frequency above 5 % in a large population", True),
    CriterionInfo("BS1", _B, _S, "allele frequency greater than expected for the disorder", True),
    CriterionInfo("BS2", _B, _S, "observed in healthy adults with a genotype full penetrance would make affected",
                  True),
    CriterionInfo("BS3", _B, _S, "well-established functional studies show no damaging effect", False),
    CriterionInfo("BS4", _B, _S, "lack of segregation in affected family members", False),
    CriterionInfo("BP1", _B, _SP, "missense in a gene where truncating variants cause disease", True),
    CriterionInfo("BP2", _B, _SP, "in trans with a pathogenic variant for a dominant disorder, or in cis", False),
    CriterionInfo("BP3", _B, _SP, "in-frame indel in a repetitive region without known function", True),
    CriterionInfo("BP4", _B, _SP, "computational evidence suggests no impact", True),
    CriterionInfo("BP5", _B, _SP, "found in a case with an alternate molecular basis for disease", False),
    CriterionInfo("BP7", _B, _SP, "synonymous with no predicted splice impact", True),
)}

DEPRECATED = frozenset({"PP5", "BP6"})

# Strengths a criterion may be given. ClinGen allows any criterion to move up or down the scale
# (except to "stand-alone", which only BA1 is), so the check is only about direction and BA1.
_PATHOGENIC_STRENGTHS = frozenset({_VS, _S, _M, _SP})
_BENIGN_STRENGTHS = frozenset({_VS, _S, _M, _SP})


def criterion_info(code: str) -> CriterionInfo:
    """The catalogue entry of a code, or an :class:`InputError` that says why it is not there.

    >>> criterion_info("pm2").default_strength
    <Strength.MODERATE: 'moderate'>
    """
    key = code.strip().upper()
    if key in DEPRECATED:
        raise InputError(f"{key} is deprecated (ClinGen SVI 2018): a reputable source's classification is not "
                         "evidence by itself; cite the evidence behind it under the criteria it supports")
    try:
        return CATALOGUE[key]
    except KeyError:
        raise InputError(f"unknown ACMG/AMP criterion {code!r}") from None


def check_strength(code: str, strength: Strength) -> None:
    """Refuse a strength a criterion cannot carry (stand-alone is BA1's alone, and BA1 has only that)."""
    info = criterion_info(code)
    if info.code == "BA1":
        if strength is not Strength.STAND_ALONE:
            raise InputError(f"BA1 is stand-alone evidence; it cannot be applied at {strength.value} strength")
        return
    allowed = _PATHOGENIC_STRENGTHS if info.direction is Direction.PATHOGENIC else _BENIGN_STRENGTHS
    if strength not in allowed:
        raise InputError(f"{info.code} cannot be applied at {strength.value} strength (only BA1 is stand-alone)")


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """The verdict on one criterion, applied or not, with the reason in a clinician's words.

    ``strength`` is the strength it applies at (or would apply at, when not applied). ``automated``
    holds the machine's verdict when a curator overrode it (then ``curator`` names them).

    >>> r = CriterionResult("PM2", True, Strength.SUPPORTING, Direction.PATHOGENIC, "PM2_Supporting applied: absent")
    >>> r.label, r.points
    ('PM2_Supporting', 1)
    """

    code: str
    applied: bool
    strength: Strength
    direction: Direction
    reason: str
    automated: CriterionResult | None = None
    curator: str | None = None

    @property
    def label(self) -> str:
        """The code with its strength when that is not the criterion's default (``PVS1_Strong``)."""
        info = CATALOGUE.get(self.code)
        if info is None or info.default_strength is self.strength:
            return self.code
        return f"{self.code}_{self.strength.label}"

    @property
    def points(self) -> int:
        """Signed Tavtigian points this verdict contributes (0 when not applied, and for BA1)."""
        if not self.applied:
            return 0
        return self.strength.points if self.direction is Direction.PATHOGENIC else -self.strength.points

    @property
    def overridden(self) -> bool:
        """Whether a curator changed this verdict."""
        return self.automated is not None
