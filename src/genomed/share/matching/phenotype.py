"""How alike two patients' phenotypes are: an HPO similarity in [0, 1] for matchmaking.

Gene scoring (:mod:`genomed.interpret.phenotype`) compares a patient with *diseases*; matchmaking
compares a patient with *another patient*, and both sides are partial (clinicians record what
they noticed). We reuse the same HPO release (:func:`genomed.interpret.hpo.load_release`), the
same term checks (:func:`~genomed.interpret.hpo.validate_terms`: obsolete terms are replaced by
their successors) and the same information content: ``-ln`` of the fraction of the release's OMIM
and Orphanet diseases annotated with the term or a more specific one, so that a shared "Seizure"
says little and a shared "Choanal atresia" a lot.

The similarity is simGIC (Pesquita et al. 2008): the information content of the ancestors the two
phenotypes share, over that of all the ancestors either has (each term counts with all its
ancestors, each ancestor once). It is 1 for the same phenotype, 0 when only uninformative terms
are shared, and symmetric. On the 30 MME benchmark patients that have a same-disorder partner,
ranking the other 49 by phenotype alone, it gave a mean average precision of 0.987 against 0.973
for the normalised best-match average of Resnik similarities (each term's MICA over its own
information content, both directions); both put a same-disorder patient first for all 30.

Only observed features count: an excluded feature (``observed: no``) says what a patient does not
have, which is weak evidence between two patients whose records were never meant to be complete.
Terms outside "Phenotypic abnormality" (onset, inheritance) and terms unknown to our release (a
partner on a newer HPO) are set aside, never an error: a match request must not fail on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from genomed.errors import InputError
from genomed.interpret.hpo import GENE_LEVEL_PREFIX, PHENOTYPIC_ABNORMALITY, HpoRelease, load_release, validate_terms


@dataclass(frozen=True)
class PhenotypeProfile:
    """One patient's observed phenotype, ready to compare: the terms, their ancestors and what was set aside."""

    terms: tuple[str, ...]
    ancestors: frozenset[str]
    information: float
    """Summed information content of the ancestors (simGIC's denominator needs it for every pair)."""
    ignored: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms


class PhenotypeSimilarity:
    """Information content over one HPO release and the patient–patient similarity built on it."""

    def __init__(self, release: HpoRelease | None = None) -> None:
        self.release = release or load_release()
        closure = self.release.closure
        self._phenotypic = frozenset(t for t, anc in closure.items()
                                     if PHENOTYPIC_ABNORMALITY in anc and not self.release.terms[t].obsolete)
        counts: dict[str, int] = dict.fromkeys(self._phenotypic, 0)
        diseases = 0
        for disease in self.release.diseases.values():
            if disease.id.startswith(GENE_LEVEL_PREFIX):
                continue  # stand-ins for a gene's annotations, not diseases: they would count twice
            implied: set[str] = set()
            for term in disease.terms:
                if term in self._phenotypic:
                    implied |= closure[term]
            if not implied:
                continue
            diseases += 1
            for term in implied & self._phenotypic:
                counts[term] += 1
        self.diseases = diseases
        # A term no disease has is as informative as the rarest annotated one (count floored at 1).
        self.ic: dict[str, float] = {t: -math.log(max(c, 1) / diseases) for t, c in counts.items()}
        self._term_ancestors: dict[str, tuple[str, ...]] = {}
        self._checked: dict[str, str | None] = {}

    def provenance(self) -> dict[str, str]:
        return {**self.release.provenance(),
                "match_phenotype_similarity": "simGIC over observed terms, IC from OMIM/Orphanet annotations"}

    def _current(self, term: str) -> str | None:
        if term in self._checked:
            return self._checked[term]
        current = self._check(term)
        self._checked[term] = current  # once per term and process: replacements are logged once, not per query
        return current

    def _check(self, term: str) -> str | None:
        try:
            checked = validate_terms([term])
        except InputError:
            return None
        current = checked.terms[0] if checked.terms else None
        return current if current in self._phenotypic else None

    def profile(self, observed: Iterable[str]) -> PhenotypeProfile:
        """The comparable form of a patient's observed terms (unknown and non-phenotype terms set aside)."""
        kept: list[str] = []
        ignored: list[str] = []
        for term in observed:
            current = self._current(term)
            if current is None:
                ignored.append(term)
            elif current not in kept:
                kept.append(current)
        ancestors: set[str] = set()
        for term in kept:
            ancestors.update(self._ancestors(term))
        return PhenotypeProfile(tuple(sorted(kept)), frozenset(ancestors), sum(self.ic[t] for t in ancestors),
                                tuple(ignored))

    def _ancestors(self, term: str) -> tuple[str, ...]:
        found = self._term_ancestors.get(term)
        if found is None:
            found = tuple(a for a in self.release.closure[term] if a in self._phenotypic)
            self._term_ancestors[term] = found
        return found

    def similarity(self, a: PhenotypeProfile, b: PhenotypeProfile) -> float:
        """simGIC in [0, 1]: 1 for the same phenotype, 0 when nothing informative is shared (or one is empty)."""
        if a.empty or b.empty:
            return 0.0
        shared = sum(self.ic[t] for t in a.ancestors & b.ancestors)
        union = a.information + b.information - shared
        return shared / union if union > 0 else 0.0


@cache
def default_similarity() -> PhenotypeSimilarity:
    """The similarity on the node's HPO release, built once per process (about a second)."""
    return PhenotypeSimilarity()


__all__ = ["PhenotypeProfile", "PhenotypeSimilarity", "default_similarity"]
