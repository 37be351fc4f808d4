"""Rank a case's genes: damaging, rare variants that fit an inheritance mode, in genes that fit the phenotype.

Input is the case's calls with one annotation and one population frequency per row, the phenotype
score of every gene, and each gene's known modes of inheritance. Output is a ranked list of
:class:`GeneCandidate`, each with its evidence in sentences a clinician reads: which disease the
phenotype matches and on which features, how the variants segregate, what they do to the protein
and how rare they are.

The steps and their order are Exomiser's, which is what most laboratories validate against:
filter (quality, frequency, consequence, optional gene panel), group by gene, test inheritance,
score variants, combine with the phenotype, rank. Everything is general: no threshold depends on
the case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from genomed.annotate.model import ClinVarAssertion, Variant, VariantAnnotation
from genomed.interpret.case_data import CaseCalls
from genomed.interpret.filters import FilterConfig, consequence_passes, quality_mask
from genomed.interpret.inheritance import InheritanceMatch, Mode, gene_matches, modes_from_labels
from genomed.interpret.scoring import PROTEIN_CHANGING, CombinationModel, pathogenicity, rarity

DOMINANT_MODES = frozenset({Mode.AUTOSOMAL_DOMINANT, Mode.X_LINKED_DOMINANT, Mode.MITOCHONDRIAL})

class PhenotypeMatch(Protocol):
    """What prioritisation needs of a gene's phenotype match."""

    @property
    def score(self) -> float: ...


@dataclass(frozen=True)
class PrioritisationConfig:
    """Filters and the combination model of one analysis."""

    filters: FilterConfig = field(default_factory=FilterConfig)
    combination: CombinationModel = field(default_factory=CombinationModel)
    max_candidates: int = 50
    unexpected_mode: float = 0.5
    """Certainty factor of a mode not (yet) described for the gene, tried only when no known mode fits."""
    hotspot_window: int = 30
    """Bases around another patient's published causal variant within which a missense or in-frame
    change counts as hitting a known site (see ``CaseKnowledge.nearby``)."""
    hotspot_pathogenicity: float = 0.8
    """The pathogenicity such a change is raised to (a plain missense has 0.6)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, for provenance."""
        return {"filters": self.filters.as_dict(), "combination": self.combination.as_dict(),
                "max_candidates": self.max_candidates, "unexpected_mode": self.unexpected_mode,
                "hotspot_window": self.hotspot_window, "hotspot_pathogenicity": self.hotspot_pathogenicity}


@dataclass(frozen=True)
class CandidateVariant:
    """One variant of a candidate gene, with what the report shows about it."""

    variant: Variant
    zygosity: str
    consequence: str
    hgvs_c: str | None
    hgvs_p: str | None
    max_af: float
    pathogenicity: float
    score: float
    clinvar: ClinVarAssertion | None
    annotation: VariantAnnotation
    publications: tuple[str, ...] = ()
    """Publications that report this variant as causal in another patient."""
    nearby_publications: tuple[str, ...] = ()
    """Publications that report another causal variant within the hot-spot window (a protein change only)."""


@dataclass(frozen=True)
class GeneCandidate:
    """A ranked gene: its scores, the inheritance that fits, its variants and the evidence in words."""

    gene: str
    rank: int
    combined_score: float
    phenotype_score: float
    variant_score: float
    inheritance: InheritanceMatch
    variants: tuple[CandidateVariant, ...]
    phenotype: Any
    evidence: tuple[str, ...]


def _effect_on(annotation: VariantAnnotation, gene: str) -> tuple[str | None, str | None]:
    effects = [e for e in annotation.effects if e.gene_symbol == gene]
    if not effects:
        return None, None
    best = max(effects, key=lambda e: (e.mane_select, e.impact))
    return best.hgvs_c, best.hgvs_p


def _frequency_words(max_af: float) -> str:
    if max_af <= 0:
        return "absent from the population references"
    return f"population frequency {max_af:.4%}"


def known_pathogenic(variant: Variant, clinvar: Callable[[Variant], ClinVarAssertion | None] | None = None,
                     published: Callable[[Variant], Sequence[str]] | None = None) -> bool:
    """Whether ClinVar (pathogenic, at least one star) or another published patient's diagnosis names the variant."""
    if published is not None and published(variant):
        return True
    found = clinvar(variant) if clinvar is not None else None
    return found is not None and found.pathogenic and found.stars >= 1


def consequence_or_known(annotation: VariantAnnotation, config: FilterConfig,
                         known: Callable[[Variant], bool] | None = None) -> bool:
    """The consequence filter, which a variant already known to be pathogenic in a gene passes regardless.

    A deep intronic or synonymous variant that ClinVar or a published patient's diagnosis names
    must not be filtered away (Exomiser keeps ClinVar's pathogenic variants the same way).
    """
    return consequence_passes(annotation, config) or (
        known is not None and bool(annotation.effects) and known(annotation.variant))


def candidate_rows(calls: CaseCalls, annotations: Sequence[VariantAnnotation | None],
                   max_af: npt.NDArray[np.float64], config: FilterConfig,
                   known: Callable[[Variant], bool] | None = None) -> npt.NDArray[np.int64]:
    """Rows that pass quality, recessive-level frequency and consequence filters (see :func:`consequence_or_known`)."""
    keep = quality_mask(calls, config) & (max_af <= config.max_af_recessive)
    rows = np.flatnonzero(keep)
    out = []
    for row in rows.tolist():
        annotation = annotations[row]
        if annotation is not None and consequence_or_known(annotation, config, known):
            out.append(row)
    return np.array(out, dtype=np.int64)


def prioritise(calls: CaseCalls, annotations: Sequence[VariantAnnotation | None], max_af: npt.NDArray[np.float64],
               phenotype: Mapping[str, PhenotypeMatch], gene_modes: Callable[[str], Iterable[str]], *,
               build: str = "GRCh38", config: PrioritisationConfig | None = None,
               clinvar: Callable[[Variant], ClinVarAssertion | None] | None = None,
               panel_genes: Iterable[str] | None = None,
               in_silico: Callable[[Variant], dict[str, float]] | None = None,
               published: Callable[[Variant], Sequence[str]] | None = None,
               published_nearby: Callable[[Variant, int], Sequence[str]] | None = None) -> list[GeneCandidate]:
    """Rank the case's genes (best first); ``annotations`` and ``max_af`` are aligned with ``calls`` rows.

    ``gene_modes`` gives a gene's known inheritance labels (AD, AR, XL, XLR, XLD, MT); a gene with
    none is tested against every mode. ``panel_genes`` restricts the analysis to a gene panel.
    ``published`` gives the publications that report a variant as causal, ``published_nearby``
    those that report another causal variant within a window of bases (see ``case_knowledge``).
    """
    config = config or PrioritisationConfig()
    fc = config.filters
    panel = {g.upper() for g in panel_genes} if panel_genes is not None else None
    kept: dict[int, VariantAnnotation] = {}
    rescued: set[int] = set()
    known = (lambda v: known_pathogenic(v, clinvar, published)) if clinvar or published else None
    for row in candidate_rows(calls, annotations, max_af, fc, known):
        found = annotations[row]
        if found is not None:
            kept[int(row)] = found
            if known is not None and not consequence_passes(found, fc):
                rescued.add(int(row))
    by_gene: dict[str, list[int]] = {}
    for row, annotation in kept.items():
        for gene in annotation.genes:
            if panel is not None and gene.upper() not in panel:
                continue
            # A variant counts for a gene only through its effect on that gene (not a neighbour's).
            effects = tuple(e for e in annotation.effects if e.gene_symbol == gene)
            on_gene = VariantAnnotation(annotation.variant, effects)
            if consequence_passes(on_gene, fc) or row in rescued:
                by_gene.setdefault(gene, []).append(row)
    clinvar_cache: dict[int, ClinVarAssertion | None] = {}
    candidates: list[GeneCandidate] = []
    for gene, gene_rows in by_gene.items():
        modes = modes_from_labels(gene_modes(gene))
        per_row: dict[int, CandidateVariant] = {}
        for row in gene_rows:
            annotation = kept[row]
            if row not in clinvar_cache:
                clinvar_cache[row] = clinvar(annotation.variant) if clinvar else None
            scores = in_silico(annotation.variant) if in_silico else None
            reports = tuple(published(annotation.variant)) if published else ()
            nearby = _nearby_reports(annotation, gene, published_nearby, config) if not reports else ()
            path, term = pathogenicity(annotation, gene, clinvar_cache[row], scores, published=bool(reports),
                                       near_published=config.hotspot_pathogenicity if nearby else 0.0)
            hgvs_c, hgvs_p = _effect_on(annotation, gene)
            af = float(max_af[row])
            per_row[row] = CandidateVariant(annotation.variant, calls.zygosity(row, 0, build), term, hgvs_c, hgvs_p,
                                            af, path, path * rarity(af), clinvar_cache[row], annotation, reports,
                                            nearby)
        pheno = phenotype.get(gene)
        pheno_score = float(pheno.score) if pheno is not None else 0.0
        similarity = None if pheno is None else float(getattr(pheno, "adjusted_similarity", pheno.score))
        best: tuple[float, float, InheritanceMatch] | None = None
        for match in _fitting_modes(calls, gene, gene_rows, modes, build, config):
            if match.mode in DOMINANT_MODES and any(per_row[r].max_af > fc.max_af_dominant for r in match.rows):
                continue
            score = float(np.mean([per_row[r].score for r in match.rows])) * match.certainty
            # The phenotype of the diseases this mode of inheritance can cause (see ``for_mode``).
            for_mode = getattr(pheno, "for_mode", None)
            fitting = similarity if similarity is None or for_mode is None else float(for_mode(match.mode.value)[0])
            combined = config.combination.combine(fitting, score)
            if best is None or combined > best[0]:
                best = (combined, score, match)
        if best is None:
            continue
        combined, variant_score, match = best
        variants = tuple(per_row[r] for r in match.rows)
        in_mode = getattr(pheno, "in_mode", None)
        if in_mode is not None:  # the disease this mode of inheritance can cause, with its evidence
            pheno = in_mode(match.mode.value)
        candidates.append(GeneCandidate(gene, 0, combined, pheno_score, variant_score, match, variants, pheno,
                                        _evidence(gene, match, variants, pheno, pheno_score)))
    candidates.sort(key=lambda c: (-c.combined_score, -c.phenotype_score, c.gene))
    ranked = [GeneCandidate(c.gene, i + 1, c.combined_score, c.phenotype_score, c.variant_score, c.inheritance,
                            c.variants, c.phenotype, c.evidence) for i, c in enumerate(candidates)]
    return ranked


def _nearby_reports(annotation: VariantAnnotation, gene: str,
                    published_nearby: Callable[[Variant, int], Sequence[str]] | None,
                    config: PrioritisationConfig) -> tuple[str, ...]:
    """Publications of causal variants near a protein change on ``gene`` (empty for any other variant)."""
    if published_nearby is None or config.hotspot_window <= 0:
        return ()
    if not any(e.gene_symbol == gene and PROTEIN_CHANGING.intersection(e.consequences) for e in annotation.effects):
        return ()
    return tuple(published_nearby(annotation.variant, config.hotspot_window))


def _fitting_modes(calls: CaseCalls, gene: str, rows: Sequence[int], modes: frozenset[Mode], build: str,
                   config: PrioritisationConfig) -> list[InheritanceMatch]:
    """How the gene's variants fit its known modes; failing that, any other mode, at a discount.

    A gene's annotated modes are those of the diseases described so far: a dominant form of a
    "recessive" gene (IFT140, for one) is often found years after the recessive one. So variants
    that fit no known mode are not dropped; they fit the other modes at ``unexpected_mode`` times
    the certainty, and the explanation says the mode is not yet known for the gene.
    """
    fitting = gene_matches(calls, rows, modes, build)
    discount = config.unexpected_mode
    if fitting or not modes or discount <= 0:
        return fitting
    known = ", ".join(sorted(m.value for m in modes))
    return [replace(m, certainty=m.certainty * discount,
                    explanation=f"{m.explanation}; {m.mode.words} inheritance is not yet described for {gene} "
                                f"(known: {known})")
            for m in gene_matches(calls, rows, frozenset(Mode) - modes, build)]


def _evidence(gene: str, match: InheritanceMatch, variants: Sequence[CandidateVariant], pheno: Any,
              pheno_score: float) -> tuple[str, ...]:
    lines = []
    if pheno is None or pheno_score <= 0:
        lines.append(f"Phenotype: {gene} has no known disease matching the patient's features.")
    else:
        disease = getattr(pheno, "disease_name", None) or getattr(pheno, "disease_id", None)
        summary = getattr(pheno, "summary", None)
        text = f"Phenotype: {gene} matches {disease} (score {pheno_score:.2f})" if disease else \
            f"Phenotype: {gene} scores {pheno_score:.2f}"
        lines.append(text + (f"; {summary}" if summary else "") + ".")
    lines.append(f"Inheritance: {match.mode.words}; {match.explanation}.")
    for v in variants:
        name = v.hgvs_c or v.variant.name
        protein = f", {v.hgvs_p}" if v.hgvs_p else ""
        text = f"Variant: {v.consequence.replace('_', ' ')} {name}{protein}, {v.zygosity}, {_frequency_words(v.max_af)}"
        if v.clinvar is not None:
            text += f"; ClinVar {v.clinvar.significance} ({v.clinvar.stars} star{'s' if v.clinvar.stars != 1 else ''})"
        if v.publications:
            more = f" and {len(v.publications) - 3} more" if len(v.publications) > 3 else ""
            text += f"; reported as causal in {', '.join(v.publications[:3])}{more}"
        elif v.nearby_publications:
            more = f" and {len(v.nearby_publications) - 3} more" if len(v.nearby_publications) > 3 else ""
            text += (f"; another patient's causal variant lies within a few bases "
                     f"({', '.join(v.nearby_publications[:3])}{more})")
        lines.append(text + ".")
    return tuple(lines)
