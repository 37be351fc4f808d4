"""Eligibility of a prescription against its indication's criteria (a pure function).

Only the year of birth is stored, so an age is known to within one year: the check passes when
either possible age fits, and the reason says so. Criteria a computer cannot check (clinical
judgement written in ``criteria``) are for the prescriber; those it can check are checked here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_HPO = re.compile(r"^HP:\d{7}$")


@dataclass(frozen=True)
class EligibilityResult:
    """Whether a prescription meets the criteria, with every check's outcome in words."""

    eligible: bool
    failures: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "failures": self.failures, "passed": self.passed}


def check_eligibility(criteria: dict[str, Any], *, birth_year: int, current_year: int, hpo_terms: list[str],
                      prior_tests: list[str]) -> EligibilityResult:
    """Check age, prior tests and phenotype description against an indication's criteria.

    >>> r = check_eligibility({"min_age_years": 0, "max_age_years": 17, "required_prior_tests": ["Array CGH"],
    ...                        "min_hpo_terms": 1}, birth_year=2015, current_year=2026,
    ...                       hpo_terms=["HP:0001249"], prior_tests=["array cgh"])
    >>> r.eligible, r.failures
    (True, [])
    >>> check_eligibility({"max_age_years": 17}, birth_year=1980, current_year=2026, hpo_terms=[],
    ...                   prior_tests=[]).failures
    ['age 45–46 years is above the maximum of 17']
    """
    failures: list[str] = []
    passed: list[str] = []
    youngest, oldest = current_year - birth_year - 1, current_year - birth_year
    youngest = max(youngest, 0)
    age_text = f"{youngest}–{oldest} years" if youngest != oldest else f"{oldest} years"
    min_age, max_age = criteria.get("min_age_years"), criteria.get("max_age_years")
    if min_age is not None and oldest < min_age:
        failures.append(f"age {age_text} is below the minimum of {min_age}")
    elif max_age is not None and youngest > max_age:
        failures.append(f"age {age_text} is above the maximum of {max_age}")
    elif min_age is not None or max_age is not None:
        passed.append(f"age {age_text} within the indication's range")
    attested = {t.strip().casefold() for t in prior_tests}
    for test in criteria.get("required_prior_tests", []):
        if test.casefold() in attested:
            passed.append(f"prior test done: {test}")
        else:
            failures.append(f"required prior test not attested: {test}")
    malformed = [t for t in hpo_terms if not _HPO.match(t)]
    if malformed:
        failures.append(f"not HPO identifiers: {', '.join(malformed)}")
    needed = int(criteria.get("min_hpo_terms", 0))
    distinct = len({t for t in hpo_terms if _HPO.match(t)})
    if distinct < needed:
        failures.append(f"{distinct} HPO term(s) given; the indication needs at least {needed}")
    elif needed:
        passed.append(f"{distinct} HPO term(s) describe the phenotype (≥ {needed} needed)")
    return EligibilityResult(eligible=not failures, failures=failures, passed=passed)
