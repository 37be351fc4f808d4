"""The patient score of a match: shared genes and variants, and phenotype similarity, combined in [0, 1].

* **Genotype** (when the query names genes): for each gene of the query (one identity whichever
  id was used, see :mod:`.genes`), 1 if the case has one of the query's very variants in it
  (same assembly family, chromosome, 0-based start, reference and alternate bases), ``gene_only``
  (0.5) if the case only shares the gene, 0 otherwise; averaged over the query's genes. An exact
  variant weighs twice a shared gene because it is far rarer by chance. Variants on different
  assemblies are never compared: there is no liftover here, so they count as a shared gene only.
* **Phenotype** (when the query has observed HPO terms we know): the simGIC similarity of
  :mod:`.phenotype`, 0 for a case without them.
* **Patient**: ``genotype_weight * genotype + (1 - genotype_weight) * phenotype`` when the query
  has both; the one component it has otherwise. With the default weight (0.5) a case sharing a
  gene outranks one that shares none unless the latter's phenotype is more than 0.5 closer, which
  on HPO profiles (typical similarities 0.05–0.4 between unrelated patients) almost never happens.

Disorders (OMIM/Orphanet diagnoses) are deliberately not scored: a matchmaking query is usually
about an *undiagnosed* patient, and the benchmark that judges this module counts same-disorder
matches, which scoring on the disorder itself would make meaningless.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from genomed.share.matching.documents import MmePatient, VariantLocation
from genomed.share.matching.genes import GeneResolver, default_resolver
from genomed.share.matching.phenotype import PhenotypeProfile, PhenotypeSimilarity, default_similarity

DEFAULT_LIMIT = 5
"""Results per answer: what production matchmakers return (PatientMatcher's MAX_RESULTS is 5)."""


@dataclass(frozen=True)
class VariantKey:
    """What makes two MME variants the same: assembly family, chromosome, 0-based start, alleles."""

    build: str
    chrom: str
    start: int
    ref: str
    alt: str

    @classmethod
    def of(cls, variant: VariantLocation) -> VariantKey | None:
        """The key of a fully described variant; None when its alleles are not given (nothing exact to compare)."""
        if not variant.referenceBases or not variant.alternateBases:
            return None
        return cls(variant.build, variant.referenceName, variant.start, variant.referenceBases, variant.alternateBases)


@dataclass(frozen=True)
class PreparedPatient:
    """A patient in the form scoring compares: gene identities, exact variants, phenotype profile."""

    patient: MmePatient
    genes: frozenset[str]
    variants_by_gene: Mapping[str, frozenset[VariantKey]]
    variants: frozenset[VariantKey]
    phenotype: PhenotypeProfile


@dataclass(frozen=True)
class Weights:
    genotype_weight: float = 0.5
    gene_only: float = 0.5
    """Value of a shared gene without a shared variant (a shared exact variant is worth 1)."""

    def __post_init__(self) -> None:
        if not (0.0 <= self.genotype_weight <= 1.0 and 0.0 <= self.gene_only <= 1.0):
            raise ValueError("weights are fractions in [0, 1]")


@dataclass(frozen=True)
class MatchScore:
    patient: float
    genotype: float
    phenotype: float
    shared_genes: tuple[str, ...] = ()
    shared_variants: int = 0


@dataclass(frozen=True)
class Match:
    """One case that matched a query: its key (our case id), the prepared case and the score."""

    key: str
    case: PreparedPatient
    score: MatchScore = field(compare=False)

    def to_json(self) -> dict[str, Any]:
        """One entry of an MME ``results`` list: the score and the patient (spec fields only)."""
        return {"score": {"patient": round(self.score.patient, 6)}, "patient": self.case.patient.to_json()}


class Matcher:
    """Prepares patients and scores them against each other (see the module docstring)."""

    def __init__(self, similarity: PhenotypeSimilarity | None = None, resolver: GeneResolver | None = None,
                 weights: Weights | None = None) -> None:
        self.similarity = similarity or default_similarity()
        self.resolver = resolver or default_resolver()
        self.weights = weights or Weights()

    def prepare(self, patient: MmePatient) -> PreparedPatient:
        by_gene: dict[str, set[VariantKey]] = {}
        for feature in patient.genomicFeatures:
            gene = self.resolver.identity(feature.gene.id)
            keys = by_gene.setdefault(gene, set())
            if feature.variant is not None and (key := VariantKey.of(feature.variant)) is not None:
                keys.add(key)
        frozen = {g: frozenset(v) for g, v in by_gene.items()}
        return PreparedPatient(patient, frozenset(frozen), frozen,
                               frozenset(v for vs in frozen.values() for v in vs),
                               self.similarity.profile(patient.observed_terms))

    def score(self, query: PreparedPatient, case: PreparedPatient) -> MatchScore:
        shared_genes = tuple(sorted(query.genes & case.genes))
        shared_variants = len(query.variants & case.variants)
        genotype = 0.0
        if query.genes:
            total = 0.0
            for gene, variants in query.variants_by_gene.items():
                if variants & case.variants:
                    total += 1.0
                elif gene in case.genes:
                    total += self.weights.gene_only
            genotype = total / len(query.genes)
        phenotype = self.similarity.similarity(query.phenotype, case.phenotype)
        has_genes, has_phenotype = bool(query.genes), not query.phenotype.empty
        if has_genes and has_phenotype:
            w = self.weights.genotype_weight
            patient = w * genotype + (1.0 - w) * phenotype
        else:
            patient = genotype if has_genes else phenotype
        return MatchScore(min(max(patient, 0.0), 1.0), genotype, phenotype, shared_genes, shared_variants)

    def rank(self, query: PreparedPatient, cases: Iterable[tuple[str, PreparedPatient]], *,
             limit: int = DEFAULT_LIMIT, min_score: float = 0.0) -> list[Match]:
        """The best ``limit`` cases scoring above ``min_score``, best first (ties by key, for stable answers)."""
        scored = [Match(key, case, self.score(query, case)) for key, case in cases]
        kept = [m for m in scored if m.score.patient > min_score]
        kept.sort(key=lambda m: (-m.score.patient, m.key))
        return kept[:limit]


def results_json(matches: Iterable[Match]) -> dict[str, Any]:
    """An MME search response body."""
    return {"results": [m.to_json() for m in matches]}


__all__ = ["DEFAULT_LIMIT", "Match", "MatchScore", "Matcher", "PreparedPatient", "VariantKey", "Weights",
           "results_json"]
