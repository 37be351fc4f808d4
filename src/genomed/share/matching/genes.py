"""One identity per gene, whichever id a matchmaker used: Ensembl, Entrez (NCBI Gene) or HGNC symbol.

The MME API lets a gene be named by ``ENSG00000108883``, ``9343`` or ``EFTUD2``; two patients with
the same gene must match whichever each node chose. MANE (NCBI and EMBL-EBI's agreed transcript
per protein-coding gene) names all three for the ~19,300 protein-coding genes, so the identity
of a gene is its MANE symbol; the resolver maps the other two onto it. Versions (``.13``) and the
``GeneID:`` prefix are stripped, symbols compared without case.

An id MANE does not know (a non-coding gene, an old symbol such as ``KARS`` for ``KARS1``) keeps
its own normalised text as identity, so two patients with the same unknown id still match: what
is lost is only the cross-id mapping, never a match on the very same id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from genomed.annotate.mane import load_mane

_ENSEMBL = re.compile(r"^(ENSG\d{11})(?:\.\d+)?$", re.IGNORECASE)
_ENTREZ = re.compile(r"^(?:(?:GeneID|NCBIGene|Entrez):)?(\d+)$", re.IGNORECASE)
# Column of the NCBI gene id ("GeneID:6155") in the rest of a MANE bigGenePred entry (the file's autoSql).


@dataclass(frozen=True)
class GeneRecord:
    symbol: str
    ensembl: str
    entrez: str


class GeneResolver:
    """Maps any MME gene id onto one identity (the HGNC symbol where known); see the module docstring."""

    def __init__(self, records: Iterable[GeneRecord]) -> None:
        self.by_symbol: dict[str, GeneRecord] = {}
        self.by_ensembl: dict[str, GeneRecord] = {}
        self.by_entrez: dict[str, GeneRecord] = {}
        for record in records:
            self.by_symbol.setdefault(record.symbol.upper(), record)
            if record.ensembl:
                self.by_ensembl.setdefault(record.ensembl.upper(), record)
            if record.entrez:
                self.by_entrez.setdefault(record.entrez, record)

    @classmethod
    def from_mane(cls, path: Path | None = None) -> GeneResolver:
        """The resolver of the MANE release the node annotates with (MANE Select rows: one per gene)."""
        records = []
        for transcript in load_mane(path, select_only=True):
            found = _ENTREZ.match(transcript.ncbi_gene)
            records.append(GeneRecord(transcript.gene_symbol, transcript.gene_id.split(".", 1)[0],
                                      found.group(1) if found else ""))
        return cls(records)

    def record(self, gene_id: str) -> GeneRecord | None:
        """The MANE gene an id names, or None when MANE does not know it."""
        text = gene_id.strip()
        if (found := _ENSEMBL.match(text)) is not None:
            return self.by_ensembl.get(found.group(1).upper())
        if (found := _ENTREZ.match(text)) is not None:
            return self.by_entrez.get(found.group(1))
        return self.by_symbol.get(text.upper())

    def identity(self, gene_id: str) -> str:
        """The identity two patients' genes are compared by: the MANE symbol, else the normalised id.

        >>> resolver = GeneResolver([GeneRecord("EFTUD2", "ENSG00000108883", "9343")])
        >>> {resolver.identity(i) for i in ("EFTUD2", "eftud2", "ENSG00000108883.13", "9343", "GeneID:9343")}
        {'EFTUD2'}
        >>> resolver.identity("kars")
        'KARS'
        """
        found = self.record(gene_id)
        if found is not None:
            return found.symbol
        text = gene_id.strip()
        if (ensembl := _ENSEMBL.match(text)) is not None:
            return ensembl.group(1).upper()
        if (entrez := _ENTREZ.match(text)) is not None:
            return f"GeneID:{entrez.group(1)}"
        return text.upper()


@cache
def default_resolver() -> GeneResolver:
    """The resolver on the shipped MANE release, read once per process (~0.5 s)."""
    return GeneResolver.from_mane()


__all__ = ["GeneRecord", "GeneResolver", "default_resolver"]
