"""Published patients as gene–phenotype knowledge: what the patients with a gene's variants looked like.

HPO's disease annotations lag the literature: a gene reported last year often has no annotated
disease yet, and an annotated disease lists the features of its first descriptions, not the range
later patients show. Curated case collections such as phenopacket-store fill that gap: every solved,
published patient with the gene, the diagnosis and the HPO features the authors recorded.

We read such a collection (GA4GH Phenopackets, one per line) into *published cohorts*: the patients
of one publication with a causal variant in one gene, with the union of their observed features
(what HPO's own annotations are too: features seen in some patients of the disease), and the
modes of inheritance their genotypes fit (one heterozygous variant: dominant; two alleles:
recessive). Phenotype scoring treats each cohort as one more disease of its gene, and a published diagnosis that HPO
knows (an OMIM or Orphanet id) links the gene to that disease even where HPO's gene annotations do
not.

The causal variants they report are kept too: a variant already published as causal in another
patient is evidence of pathogenicity, as a ClinVar record would be (many such reports never reach
ClinVar); so is a variant a few bases from one (:meth:`CaseKnowledge.nearby`), the published-case
form of ACMG/AMP's PM5 (another change of the same residue) and PM1 (a mutational hot spot).

Every cohort and variant keeps its publication, for two reasons: the report names the publication
a match came from, and a case is never scored with knowledge drawn from its own publication (see
``exclude_publications`` in :mod:`genomed.interpret.phenotype`), which is what lets genomed be
validated on the very collection it learns from.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from genomed.annotate.model import Variant
from genomed.annotate.releases import file_sha256
from genomed.errors import ConfigurationError

PUBLISHED_CASES_FILE = "phenopackets/phenopacket-store-train.jsonl.gz"
COHORT_PREFIX = "CASES/"
"""Disease ids of published cohorts: ``CASES/<publication>/<gene>``."""


@dataclass(frozen=True, slots=True)
class PublishedCohort:
    """The patients of one publication with a causal variant in one gene."""

    gene: str
    publication: str
    disease_ids: frozenset[str]
    disease_label: str
    patients: int
    terms: frozenset[str]
    """HPO terms observed in at least one of the patients."""
    modes: frozenset[str] = frozenset()
    """Modes of inheritance the patients' genotypes fit ("AD", "AR", "XLR", "XLD"); empty: not known."""

    @property
    def id(self) -> str:
        """Its disease id in phenotype scoring."""
        return f"{COHORT_PREFIX}{self.publication}/{self.gene}"

    @property
    def name(self) -> str:
        """How a report names it."""
        people = "patient" if self.patients == 1 else "patients"
        return f"{self.disease_label} ({self.patients} published {people} with {self.gene}, {self.publication})"


@dataclass(frozen=True)
class CaseKnowledge:
    """A collection of published cohorts, and which file (and content) it came from."""

    source: str
    sha256: str
    cohorts: tuple[PublishedCohort, ...]
    variants: Mapping[Variant, frozenset[str]] = field(default_factory=dict)
    """Causal variants (GRCh38, normalised as the store does) and the publications that report them."""

    def reported(self, variant: Variant, *, exclude_publications: Collection[str] = ()) -> tuple[str, ...]:
        """The publications that report ``variant`` as causal, but those withheld (see the module docstring)."""
        return tuple(sorted(self.variants.get(variant, frozenset()) - set(exclude_publications)))

    @cached_property
    def _positions(self) -> dict[str, tuple[list[int], list[tuple[Variant, frozenset[str]]]]]:
        """Per chromosome: the reported variants' positions, sorted, and the variants themselves."""
        by_chrom: dict[str, list[tuple[int, Variant, frozenset[str]]]] = defaultdict(list)
        for variant, publications in self.variants.items():
            by_chrom[variant.chrom].append((variant.pos, variant, publications))
        index = {}
        for chrom, rows in by_chrom.items():
            rows.sort(key=lambda row: (row[0], row[1].ref, row[1].alt))
            index[chrom] = ([row[0] for row in rows], [(row[1], row[2]) for row in rows])
        return index

    def nearby(self, variant: Variant, window: int, *, exclude_publications: Collection[str] = ()) -> tuple[str, ...]:
        """The publications that report a *different* causal variant within ``window`` bases of ``variant``.

        A missense change next to (or at the same codon as) another patient's causal variant is more
        likely damaging than one anywhere in the gene: residues where changes cause disease cluster
        in functional sites. Publications withheld are left out as in :meth:`reported`.
        """
        positions, rows = self._positions.get(variant.chrom, ((), ()))
        lo = bisect.bisect_left(positions, variant.pos - window)
        hi = bisect.bisect_right(positions, variant.end + window)
        found: set[str] = set()
        for other, publications in rows[lo:hi]:
            if other != variant:
                found |= publications
        return tuple(sorted(found - set(exclude_publications)))

    def provenance(self) -> dict[str, str]:
        """What an analysis records to be reproducible."""
        return {"published_cases": self.source, "published_cases_sha256": self.sha256,
                "published_cohorts": str(len(self.cohorts))}

    def gene_disease_links(self) -> dict[tuple[str, str], frozenset[str]]:
        """(gene, disease id) -> the publications that report that gene causing that disease."""
        links: dict[tuple[str, str], set[str]] = defaultdict(set)
        for cohort in self.cohorts:
            for disease_id in cohort.disease_ids:
                links[(cohort.gene, disease_id)].add(cohort.publication)
        return {k: frozenset(v) for k, v in links.items()}


def publication_of(packet: Mapping[str, Any]) -> str | None:
    """The publication a phenopacket was curated from (its first PMID or DOI reference), if any."""
    for reference in (packet.get("metaData") or {}).get("externalReferences", []) or []:
        ref_id = str(reference.get("id", ""))
        if ref_id.startswith(("PMID:", "DOI:", "doi:")):
            return ref_id
    return None


# GENO allelic states of a patient's variants in one gene -> the modes of inheritance they fit.
_HETEROZYGOUS, _HOMOZYGOUS, _HEMIZYGOUS, _COMPOUND = "GENO:0000135", "GENO:0000136", "GENO:0000134", "GENO:0000402"


def _fitting_modes(states: list[str]) -> frozenset[str]:
    """Modes a patient's variants in one gene fit: one heterozygous variant is dominant, two alleles recessive.

    >>> sorted(_fitting_modes(["GENO:0000135"])), sorted(_fitting_modes(["GENO:0000135", "GENO:0000135"]))
    (['AD', 'XLD'], ['AR', 'XLR'])
    >>> sorted(_fitting_modes(["GENO:0000134"])), _fitting_modes([""])
    (['XLD', 'XLR'], frozenset())
    """
    if len(states) >= 2 or any(s in (_HOMOZYGOUS, _COMPOUND) for s in states):
        return frozenset({"AR", "XLR"})
    if states == [_HEMIZYGOUS]:
        return frozenset({"XLR", "XLD"})
    if states == [_HETEROZYGOUS]:
        return frozenset({"AD", "XLD"})
    return frozenset()  # not stated: any mode


def _genes(interpretation: Mapping[str, Any]) -> dict[str, list[str]]:
    """Causal genes of a diagnosis, each with the allelic states of its variants."""
    genes: dict[str, list[str]] = defaultdict(list)
    for genomic in (interpretation.get("diagnosis") or {}).get("genomicInterpretations", []) or []:
        descriptor = (genomic.get("variantInterpretation") or {}).get("variationDescriptor") or {}
        symbol = (descriptor.get("geneContext") or {}).get("symbol") or (genomic.get("gene") or {}).get("symbol")
        if symbol:
            genes[str(symbol)].append(str((descriptor.get("allelicState") or {}).get("id", "")))
    return genes


def _patient(packet: Mapping[str, Any]) -> tuple[str, dict[str, frozenset[str]], dict[str, str], set[str]] | None:
    """(publication, gene -> fitting modes, disease id -> label, observed terms) of one solved, published patient."""
    publication = publication_of(packet)
    if publication is None:
        return None
    observed = {str(f["type"]["id"]) for f in packet.get("phenotypicFeatures", []) or []
                if not f.get("excluded") and (f.get("type") or {}).get("id")}
    states: dict[str, list[str]] = defaultdict(list)
    diseases: dict[str, str] = {}
    for interpretation in packet.get("interpretations", []) or []:
        for gene, found in _genes(interpretation).items():
            states[gene] += found
        disease = (interpretation.get("diagnosis") or {}).get("disease") or {}
        if disease.get("id"):
            diseases[str(disease["id"])] = str(disease.get("label") or disease["id"])
    if not states or not observed:
        return None
    return publication, {gene: _fitting_modes(found) for gene, found in states.items()}, diseases, observed


def reported_variants(packets: Iterable[Mapping[str, Any]]) -> dict[Variant, frozenset[str]]:
    """Causal variants with a GRCh38 VCF record, and the publications that report them."""
    from genomed.interpret.evaluation.published import causal_variant

    found: dict[Variant, set[str]] = defaultdict(set)
    for packet in packets:
        publication = publication_of(packet)
        if publication is None:
            continue
        for interpretation in packet.get("interpretations", []) or []:
            for genomic in (interpretation.get("diagnosis") or {}).get("genomicInterpretations", []) or []:
                descriptor = (genomic.get("variantInterpretation") or {}).get("variationDescriptor")
                causal = causal_variant(descriptor) if descriptor else None
                if causal is not None:
                    found[causal.variant].add(publication)
    return {v: frozenset(p) for v, p in found.items()}


def build_cohorts(packets: Iterable[Mapping[str, Any]]) -> tuple[PublishedCohort, ...]:
    """Published cohorts from phenopackets: solved patients with a publication, a gene and observed terms.

    A patient with variants in two genes (a dual diagnosis) counts for both.
    """
    grouped: dict[tuple[str, str], list[tuple[dict[str, str], set[str], frozenset[str]]]] = defaultdict(list)
    for packet in packets:
        found = _patient(packet)
        if found is None:
            continue
        publication, genes, diseases, observed = found
        for gene, modes in genes.items():
            grouped[(publication, gene)].append((diseases, observed, modes))
    cohorts = []
    for (publication, gene), patients in sorted(grouped.items()):
        labels: dict[str, str] = {}
        terms: set[str] = set()
        for diseases, observed, _ in patients:
            labels.update(diseases)
            terms |= observed
        # The modes the patients' genotypes fit; one patient of unstated genotype leaves every mode open.
        modes = frozenset() if any(not m for _, _, m in patients) else frozenset().union(*(m for _, _, m in patients))
        label = "; ".join(sorted(set(labels.values()))) or f"{gene}-related disorder"
        cohorts.append(PublishedCohort(gene, publication, frozenset(labels), label, len(patients), frozenset(terms),
                                       modes))
    return tuple(cohorts)


def load_case_knowledge(path: Path) -> CaseKnowledge:
    """Published cohorts from a phenopacket JSON-lines file (gzipped or not)."""
    from genomed.interpret.evaluation.published import read_cases

    digest = file_sha256(Path(path))
    packets = [packet for _, packet in read_cases(path)]
    return CaseKnowledge(Path(path).name, digest, build_cohorts(packets), reported_variants(packets))


PUBLISHED_CASES_ENV = "GENOMED_PUBLISHED_CASES"


@cache
def default_case_knowledge() -> CaseKnowledge | None:
    """The node's published cases, or None where it has none.

    ``GENOMED_PUBLISHED_CASES`` names another phenopacket file (a newer phenopacket-store release)
    or ``none`` to score with HPO alone; by default the reference data's ``phenopackets/`` file.
    """
    import os

    from genomed.data import data_file

    configured = os.environ.get(PUBLISHED_CASES_ENV, "").strip()
    if configured.lower() == "none":
        return None
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"{PUBLISHED_CASES_ENV}={configured} is not a file")
        return load_case_knowledge(path)
    try:
        path = data_file(PUBLISHED_CASES_FILE)
    except ConfigurationError:
        return None
    return load_case_knowledge(path)
