"""Classify a variant: automated criteria, a curator's overrides, then the combination.

A curator may apply a criterion the machine cannot judge (PS3 from a functional study, PP1 from a
pedigree), withdraw one it applied wrongly, or change its strength. Every override must say why and
who: the comment and the curator's name are mandatory, the reason of the overridden verdict starts
"overridden by <curator>: <comment>", and the automated verdict stays attached
(:attr:`CriterionResult.automated`) so a report and the audit trail show both. The classification
is recomputed from the overridden verdicts; other criteria are not re-evaluated (an override of
PVS1 does not bring back a PP3 that PVS1 suppressed — the curator overrides PP3 too if it should
count).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from genomed.errors import InputError
from genomed.interpret.acmg.combine import Classification, combine
from genomed.interpret.acmg.config import DEFAULT_CONFIG, AcmgConfig
from genomed.interpret.acmg.criteria import evaluate_criteria
from genomed.interpret.acmg.evidence import VariantEvidence
from genomed.interpret.acmg.result import CriterionResult, check_strength, criterion_info
from genomed.interpret.acmg.strength import Strength


@dataclass(frozen=True, slots=True)
class Override:
    """A curator's decision on one criterion: applied or not, optionally at another strength.

    ``strength`` None keeps the criterion's own strength; a string ("moderate", "Supporting") is read as
    a :class:`Strength` (as stored overrides come back from a database), and is a :class:`Strength`
    after construction. Validation happens on construction, so an override that could not be applied
    is refused before it is stored.

    >>> Override("pm2", True, "moderate", "gene-specific VCEP rule", "Dr A").strength
    <Strength.MODERATE: 'moderate'>
    """

    code: str
    applied: bool
    strength: Strength | str | None
    comment: str
    curator: str

    def __post_init__(self) -> None:
        info = criterion_info(self.code)
        object.__setattr__(self, "code", info.code)
        if not self.comment or not self.comment.strip():
            raise InputError(f"an override of {info.code} needs a comment saying why")
        if not self.curator or not self.curator.strip():
            raise InputError(f"an override of {info.code} needs the curator's name")
        if self.strength is not None:
            strength = Strength.parse(self.strength)
            check_strength(info.code, strength)
            object.__setattr__(self, "strength", strength)


def apply_overrides(criteria: Iterable[CriterionResult], overrides: Iterable[Override]) -> tuple[CriterionResult, ...]:
    """The verdicts with each override applied, the automated verdict kept on the overridden one."""
    by_code: dict[str, Override] = {}
    for item in overrides:
        if item.code in by_code:
            raise InputError(f"two overrides of {item.code}: a criterion takes one decision")
        by_code[item.code] = item
    results = tuple(criteria)
    known = {c.code for c in results}
    missing = sorted(set(by_code) - known)
    if missing:
        raise InputError(f"override of {', '.join(missing)}, which was not evaluated")
    out: list[CriterionResult] = []
    for result in results:
        override = by_code.get(result.code)
        if override is None:
            out.append(result)
            continue
        automated = result.automated or result
        strength = Strength.parse(override.strength) if override.strength is not None else result.strength
        check_strength(result.code, strength)
        draft = CriterionResult(result.code, override.applied, strength, result.direction, "")
        head = f"{draft.label} applied" if override.applied else f"{result.code} not applied"
        was = f"{automated.label} {'applied' if automated.applied else 'not applied'}"
        comment = override.comment.strip().rstrip(".")
        reason = f"{head}: overridden by {override.curator.strip()}: {comment} (automated: {was})."
        out.append(CriterionResult(result.code, override.applied, strength, result.direction, reason,
                                   automated=automated, curator=override.curator.strip()))
    return tuple(out)


def classify(evidence: VariantEvidence, overrides: Iterable[Override] = (),
             config: AcmgConfig = DEFAULT_CONFIG) -> Classification:
    """The ACMG/AMP classification of one variant: every criterion, overrides, points and 2015 rules."""
    return combine(apply_overrides(evaluate_criteria(evidence, config), overrides))
