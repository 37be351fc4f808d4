"""Sequence Ontology consequence terms, their VEP impact and their severity order.

The order and impacts are Ensembl VEP's (``Bio::EnsEMBL::Variation::Utils::Constants``), so that
our annotations rank variants the way published pipelines and ACMG tooling expect: a report that
calls a variant ``splice_region_variant`` LOW here must not be MODERATE in the lab's VEP output.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from genomed.annotate.model import Impact

# Most severe first, with each term's impact (VEP's consequence table, the terms we emit).
_TERMS: tuple[tuple[str, Impact], ...] = (
    ("transcript_ablation", Impact.HIGH),
    ("splice_acceptor_variant", Impact.HIGH),
    ("splice_donor_variant", Impact.HIGH),
    ("stop_gained", Impact.HIGH),
    ("frameshift_variant", Impact.HIGH),
    ("stop_lost", Impact.HIGH),
    ("start_lost", Impact.HIGH),
    ("inframe_insertion", Impact.MODERATE),
    ("inframe_deletion", Impact.MODERATE),
    ("missense_variant", Impact.MODERATE),
    ("protein_altering_variant", Impact.MODERATE),
    ("splice_region_variant", Impact.LOW),
    ("incomplete_terminal_codon_variant", Impact.LOW),
    ("start_retained_variant", Impact.LOW),
    ("stop_retained_variant", Impact.LOW),
    ("synonymous_variant", Impact.LOW),
    ("coding_sequence_variant", Impact.MODIFIER),
    ("5_prime_UTR_variant", Impact.MODIFIER),
    ("3_prime_UTR_variant", Impact.MODIFIER),
    ("non_coding_transcript_exon_variant", Impact.MODIFIER),
    ("intron_variant", Impact.MODIFIER),
    ("non_coding_transcript_variant", Impact.MODIFIER),
    ("upstream_gene_variant", Impact.MODIFIER),
    ("downstream_gene_variant", Impact.MODIFIER),
    ("intergenic_variant", Impact.MODIFIER),
)
RANK: dict[str, int] = {term: rank for rank, (term, _) in enumerate(_TERMS)}
IMPACT: dict[str, Impact] = dict(_TERMS)
TRUNCATING = frozenset({"stop_gained", "frameshift_variant"})
NMD_WINDOW = 50  # nt before the last exon-exon junction within which a premature stop escapes NMD
# Each term as one bit (its rank), so that vectorised code holds a set of terms in one integer whose
# lowest set bit is the most severe term.
BIT: dict[str, int] = {term: 1 << rank for term, rank in RANK.items()}


def ordered(terms: Iterable[str]) -> tuple[str, ...]:
    """Distinct terms, most severe first.

    >>> ordered(["intron_variant", "splice_region_variant", "intron_variant", "splice_donor_variant"])
    ('splice_donor_variant', 'splice_region_variant', 'intron_variant')
    """
    return tuple(sorted(set(terms), key=RANK.__getitem__))


def impact_of(terms: Iterable[str]) -> Impact:
    """The highest impact among the terms (MODIFIER for none).

    >>> impact_of(["splice_region_variant", "missense_variant"]).name
    'MODERATE'
    """
    return max((IMPACT[term] for term in terms), default=Impact.MODIFIER)


@functools.cache
def from_bits(mask: int) -> tuple[tuple[str, ...], Impact]:
    """The terms a bit mask of :data:`BIT` holds, most severe first, and their impact.

    >>> from_bits(BIT["intron_variant"] | BIT["splice_region_variant"])
    (('splice_region_variant', 'intron_variant'), <Impact.LOW: 1>)
    """
    terms = tuple(term for term, _ in _TERMS if mask & BIT[term])
    return terms, impact_of(terms)
