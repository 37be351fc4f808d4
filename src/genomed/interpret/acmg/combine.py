"""From criteria to a class: the Bayesian points of Tavtigian et al. 2020 and the 2015 combining rules.

The points system (Hum Mutat 41:1734) is the class genomed reports: Supporting 1, Moderate 2, Strong
4, Very Strong 8 points, benign evidence negative; Pathogenic ≥ 10, Likely pathogenic 6–9, VUS 0–5,
Likely benign −1 to −6, Benign ≤ −7; BA1 is stand-alone and gives Benign by itself. It weighs
criteria at the strength they were applied at (PVS1_Strong, PM2_Supporting, BP4_Moderate), which
the 2015 rules of Richards et al. (Genet Med 17:405) cannot express. The 2015 rules are computed
alongside because curators and external laboratories still quote them; when the two disagree (the
best-known case: PVS1 + PM2_Supporting is Likely pathogenic by points, VUS by the rules once PM2 is
downgraded) the explanation says so.

For the 2015 rules a criterion counts at its applied strength; a benign Very Strong counts as two
Strong and a benign Moderate as two Supporting (the 2015 framework has neither level, and these are
their weights on the points scale).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from genomed.interpret.acmg.result import CriterionResult
from genomed.interpret.acmg.strength import Direction, Strength


class AcmgClass(StrEnum):
    """The five ACMG/AMP classes, worded as ClinVar and reports write them."""

    PATHOGENIC = "Pathogenic"
    LIKELY_PATHOGENIC = "Likely pathogenic"
    VUS = "Uncertain significance"
    LIKELY_BENIGN = "Likely benign"
    BENIGN = "Benign"


def total_points(criteria: Iterable[CriterionResult]) -> int:
    """Sum of the signed points of the applied criteria (BA1 is not on the scale)."""
    return sum(c.points for c in criteria)


def points_class(points: int, stand_alone_benign: bool = False) -> AcmgClass:
    """The Tavtigian 2020 class for a points total.

    >>> [points_class(p).value for p in (10, 9, 6, 5, 0, -1, -6, -7)]
    ['Pathogenic', 'Likely pathogenic', 'Likely pathogenic', 'Uncertain significance', 'Uncertain significance', \
'Likely benign', 'Likely benign', 'Benign']
    >>> points_class(12, stand_alone_benign=True).value
    'Benign'
    """
    if stand_alone_benign:
        return AcmgClass.BENIGN
    if points >= 10:
        return AcmgClass.PATHOGENIC
    if points >= 6:
        return AcmgClass.LIKELY_PATHOGENIC
    if points >= 0:
        return AcmgClass.VUS
    if points >= -6:
        return AcmgClass.LIKELY_BENIGN
    return AcmgClass.BENIGN


@dataclass(frozen=True, slots=True)
class _Counts:
    pvs: int = 0
    ps: int = 0
    pm: int = 0
    pp: int = 0
    ba: int = 0
    bs: int = 0
    bp: int = 0


def _count(criteria: Iterable[CriterionResult]) -> _Counts:
    tally = {"pvs": 0, "ps": 0, "pm": 0, "pp": 0, "ba": 0, "bs": 0, "bp": 0}
    pathogenic = {Strength.VERY_STRONG: "pvs", Strength.STRONG: "ps", Strength.MODERATE: "pm",
                  Strength.SUPPORTING: "pp"}
    benign = {Strength.STAND_ALONE: ("ba", 1), Strength.VERY_STRONG: ("bs", 2), Strength.STRONG: ("bs", 1),
              Strength.MODERATE: ("bp", 2), Strength.SUPPORTING: ("bp", 1)}
    for c in criteria:
        if not c.applied:
            continue
        if c.direction is Direction.PATHOGENIC:
            if c.strength in pathogenic:
                tally[pathogenic[c.strength]] += 1
        else:
            key, weight = benign[c.strength]
            tally[key] += weight
    return _Counts(**tally)


def _pathogenic_rule(n: _Counts) -> tuple[AcmgClass, str] | None:
    if n.pvs >= 2:
        return AcmgClass.PATHOGENIC, "two Very Strong criteria"
    if n.pvs >= 1:
        if n.ps >= 1:
            return AcmgClass.PATHOGENIC, "Pathogenic (i)(a): Very Strong and ≥1 Strong"
        if n.pm >= 2:
            return AcmgClass.PATHOGENIC, "Pathogenic (i)(b): Very Strong and ≥2 Moderate"
        if n.pm >= 1 and n.pp >= 1:
            return AcmgClass.PATHOGENIC, "Pathogenic (i)(c): Very Strong, Moderate and Supporting"
        if n.pp >= 2:
            return AcmgClass.PATHOGENIC, "Pathogenic (i)(d): Very Strong and ≥2 Supporting"
    if n.ps >= 2:
        return AcmgClass.PATHOGENIC, "Pathogenic (ii): ≥2 Strong"
    if n.ps >= 1:
        if n.pm >= 3:
            return AcmgClass.PATHOGENIC, "Pathogenic (iii)(a): Strong and ≥3 Moderate"
        if n.pm >= 2 and n.pp >= 2:
            return AcmgClass.PATHOGENIC, "Pathogenic (iii)(b): Strong, 2 Moderate and ≥2 Supporting"
        if n.pm >= 1 and n.pp >= 4:
            return AcmgClass.PATHOGENIC, "Pathogenic (iii)(c): Strong, Moderate and ≥4 Supporting"
    if n.pvs >= 1 and n.pm >= 1:
        return AcmgClass.LIKELY_PATHOGENIC, "Likely pathogenic (i): Very Strong and Moderate"
    if n.ps >= 1 and n.pm >= 1:
        return AcmgClass.LIKELY_PATHOGENIC, "Likely pathogenic (ii): Strong and 1–2 Moderate"
    if n.ps >= 1 and n.pp >= 2:
        return AcmgClass.LIKELY_PATHOGENIC, "Likely pathogenic (iii): Strong and ≥2 Supporting"
    if n.pm >= 3:
        return AcmgClass.LIKELY_PATHOGENIC, "Likely pathogenic (iv): ≥3 Moderate"
    if n.pm >= 2 and n.pp >= 2:
        return AcmgClass.LIKELY_PATHOGENIC, "Likely pathogenic (v): 2 Moderate and ≥2 Supporting"
    if n.pm >= 1 and n.pp >= 4:
        return AcmgClass.LIKELY_PATHOGENIC, "Likely pathogenic (vi): Moderate and ≥4 Supporting"
    return None


def _benign_rule(n: _Counts) -> tuple[AcmgClass, str] | None:
    if n.bs >= 2:
        return AcmgClass.BENIGN, "Benign (ii): ≥2 Strong"
    if n.bs >= 1 and n.bp >= 1:
        return AcmgClass.LIKELY_BENIGN, "Likely benign (i): Strong and Supporting"
    if n.bp >= 2:
        return AcmgClass.LIKELY_BENIGN, "Likely benign (ii): ≥2 Supporting"
    return None


def rules_2015(criteria: Iterable[CriterionResult]) -> tuple[AcmgClass, str]:
    """The class by the 2015 combining rules, with the rule that gave it.

    BA1 gives Benign by itself; pathogenic and benign rules met together give VUS ("contradictory").

    >>> from genomed.interpret.acmg.result import CriterionResult as R
    >>> p = Direction.PATHOGENIC
    >>> rules_2015([R("PVS1", True, Strength.VERY_STRONG, p, ""), R("PM2", True, Strength.SUPPORTING, p, "")])
    (<AcmgClass.VUS: 'Uncertain significance'>, 'no combination of the 2015 rules is met')
    """
    counts = _count(criteria)
    if counts.ba:
        return AcmgClass.BENIGN, "Benign (i): BA1 stand-alone"
    pathogenic, benign = _pathogenic_rule(counts), _benign_rule(counts)
    if pathogenic and benign:
        return AcmgClass.VUS, f"contradictory evidence: {pathogenic[1]} and {benign[1]}"
    if pathogenic:
        return pathogenic
    if benign:
        return benign
    return AcmgClass.VUS, "no combination of the 2015 rules is met"


@dataclass(frozen=True, slots=True)
class Classification:
    """The class of a variant with every criterion's verdict, the points, and the 2015 rules' class.

    ``acmg_class`` is the points-system class (the one to report); ``rules_class_2015`` is given for
    comparison and ``explanation`` says how both were reached and where they disagree.
    """

    acmg_class: AcmgClass
    points: int
    criteria: tuple[CriterionResult, ...]
    rules_class_2015: AcmgClass
    explanation: str

    @property
    def applied(self) -> tuple[CriterionResult, ...]:
        """The criteria that apply, in catalogue order."""
        return tuple(c for c in self.criteria if c.applied)

    @property
    def codes(self) -> tuple[str, ...]:
        """Labels of the applied criteria (``PVS1``, ``PM2_Supporting`` …), as reports list them."""
        return tuple(c.label for c in self.applied)

    @property
    def systems_agree(self) -> bool:
        """Whether the points system and the 2015 rules give the same class."""
        return self.acmg_class is self.rules_class_2015

    @property
    def overrides(self) -> tuple[CriterionResult, ...]:
        """The criteria a curator changed."""
        return tuple(c for c in self.criteria if c.overridden)

    def criterion(self, code: str) -> CriterionResult:
        """One criterion's verdict by code."""
        from genomed.errors import NotFoundError

        for c in self.criteria:
            if c.code == code.upper():
                return c
        raise NotFoundError(f"criterion {code} was not evaluated")


def combine(criteria: Iterable[CriterionResult]) -> Classification:
    """Classify from verdicts already made (automated, overridden or reloaded from storage)."""
    results = tuple(criteria)
    points = total_points(results)
    applied = [c for c in results if c.applied]
    ba1 = any(c.applied and c.strength is Strength.STAND_ALONE for c in results)
    acmg = points_class(points, stand_alone_benign=ba1)
    rules_class, rule = rules_2015(results)
    parts: list[str] = []
    if applied:
        listed = ", ".join(f"{c.label} {'stand-alone' if c.strength is Strength.STAND_ALONE else f'{c.points:+d}'}"
                           for c in applied)
        parts.append(f"{acmg.value}: {points:+d} points ({listed}) on the Bayesian points scale of Tavtigian et al. "
                     "2020 (Pathogenic ≥10, Likely pathogenic 6 to 9, VUS 0 to 5, Likely benign −1 to −6, "
                     "Benign ≤−7).")
    else:
        parts.append(f"{acmg.value}: no criterion applies (0 points).")
    if ba1:
        parts.append("BA1 is stand-alone evidence: the variant is Benign whatever the other criteria say.")
    directions = {c.direction for c in applied if c.strength is not Strength.STAND_ALONE}
    if len(directions) == 2:
        parts.append("Pathogenic and benign evidence are both present; the points system weighs one against the "
                     "other.")
    parts.append(f"The 2015 ACMG/AMP combining rules give {rules_class.value} ({rule}).")
    if rules_class is not acmg:
        parts.append(f"The two systems disagree ({acmg.value} by points, {rules_class.value} by the 2015 rules): the "
                     "points system counts each criterion at its applied strength, which the 2015 rules only "
                     "partly express; a curator should review.")
    overridden = [c for c in results if c.overridden]
    if overridden:
        parts.append("Curator overrides: " + "; ".join(f"{c.code} by {c.curator}" for c in overridden) + ".")
    return Classification(acmg_class=acmg, points=points, criteria=results, rules_class_2015=rules_class,
                          explanation=" ".join(parts))
