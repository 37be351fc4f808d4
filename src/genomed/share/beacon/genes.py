"""Where a gene is, for Beacon ``geneId`` queries: the span of its MANE transcripts on GRCh38.

MANE (one agreed transcript per protein-coding gene, plus the Plus Clinical ones) is the gene
model annotation already uses, read from the node's reference data. A gene query asks for every
variant overlapping the gene, so the span is the union of the gene's MANE transcripts, from the
first exon start to the last exon end (0-based, half-open, as Beacon ranges are). Genes are looked
up by HGNC symbol (any case) or Ensembl gene id (with or without its version).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from genomed.errors import InputError

GENE_BUILD = "GRCh38"  # the build MANE is published on


@dataclass(frozen=True)
class GeneSpan:
    symbol: str
    chrom: str
    start: int  # 0-based
    end: int    # exclusive


@cache
def _spans() -> dict[str, GeneSpan]:
    from genomed.annotate.mane import load_mane

    spans: dict[str, GeneSpan] = {}
    ensembl: dict[str, GeneSpan] = {}
    for t in load_mane(select_only=False):
        key = t.gene_symbol.upper()
        old = spans.get(key)
        span = GeneSpan(t.gene_symbol, t.chrom, t.start, t.end) if old is None or old.chrom != t.chrom else \
            GeneSpan(t.gene_symbol, t.chrom, min(old.start, t.start), max(old.end, t.end))
        if old is None or old.chrom == t.chrom:
            spans[key] = span
        ensembl[t.gene_id.split(".")[0].upper()] = spans[key]
    return {**spans, **ensembl}


def gene_span(gene: str) -> GeneSpan:
    """The GRCh38 span of a gene; :class:`InputError` naming it when MANE has no such gene."""
    found = _spans().get(gene.strip().split(".")[0].upper())
    if found is None:
        raise InputError(f"unknown geneId {gene!r}: no MANE transcript has this HGNC symbol or Ensembl gene id")
    return found
